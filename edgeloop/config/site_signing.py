"""Settings of the per-site signatures on what sites write to the cloud (docs/deployment.md).

* ``EDGELOOP_SITE_SIGNING_KEY`` (a site: the edge Functions and, for frames, the scoring app):
  the site's Ed25519 private key, base64 of the raw 32 bytes, a secret like the site's HMAC key
  (``edgeloop models site-keygen`` prints a pair). Unset: the site's blobs go unsigned, which a
  cloud that checks signatures refuses.
* ``EDGELOOP_SITE_PUBLIC_KEYS`` (the cloud: ingest, the Power BI and lake feeds, retraining):
  a JSON object of site id to a list of base64 public keys, ``{"plant-a": ["<key>"], ...}``;
  two keys for a site while its key is rotated. Set: every site-written blob must be signed by
  a key of the site it is filed under (a site not listed is refused). Unset: not checked.

Checked when the composition roots build the keys (edgeloop.bootstrap.site_trust), with errors
naming the setting.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class SiteSigningKey(BaseModel):
    """A site's private key: mixed into the edge Functions' and the frame upload's settings."""

    site_signing_key: SecretStr | None = Field(default=None, alias="EDGELOOP_SITE_SIGNING_KEY")

    def signing_key_text(self) -> str | None:
        text = "" if self.site_signing_key is None else self.site_signing_key.get_secret_value().strip()
        return text or None


class SiteTrust(BaseModel):
    """The sites' public keys: mixed into the settings of every cloud reader of site blobs."""

    site_public_keys: str | None = Field(default=None, alias="EDGELOOP_SITE_PUBLIC_KEYS")

    def site_keys_text(self) -> str | None:
        text = (self.site_public_keys or "").strip()
        return text or None
