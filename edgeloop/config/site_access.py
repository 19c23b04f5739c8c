"""What a site's edge Functions may do in the cloud: container- and queue-scoped SAS, checked at start-up.

A site is outside Azure (no Entra identity) and may be compromised, so it never holds the
cloud account's key (docs/deployment.md, "What a site may do in the cloud"):

* ``EDGELOOP_COMPLIANT_STORAGE`` / ``EDGELOOP_ANOMALIES_STORAGE``: a SAS on the cloud account's
  ``compliant`` / ``anomalies`` container, as a connection string
  (``BlobEndpoint=https://...;SharedAccessSignature=...``) or the container's SAS URL
  (``https://<account>.blob.core.windows.net/compliant?sv=...&sig=...``). Create only (``sp=c``):
  no read, list, delete, nor write, which would let a site overwrite a blob whose name it
  knows, another site's included. Both or neither; neither: ``CloudStorage`` as before (a
  key or an identity, for a deployment that trusts the site with more).
* ``ServiceBusConnection``, the local stand-in for the topic: instead of a storage connection
  string, one queue SAS URL per subscription queue (``http://.../cloud/insights-global?...``),
  separated by spaces, add only (``sp=a``: no read, peek, update, process). In Azure it is the
  topic's send-only ``site-send`` rule, already the least a site needs.

Pure parsing; the clients are built by edgeloop.bootstrap.edge.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field, SecretStr

from edgeloop.config.connections import ConnectionSettingError, ConnectionString, sas_url_connection_string
from edgeloop.wire.storage_layout import ANOMALIES_CONTAINER, COMPLIANT_CONTAINER

COMPLIANT_STORAGE_SETTING = "EDGELOOP_COMPLIANT_STORAGE"
ANOMALIES_STORAGE_SETTING = "EDGELOOP_ANOMALIES_STORAGE"
TOPIC_SETTING = "ServiceBusConnection"
# Blob SAS letters a site's write credential must not carry, and what each would let it do.
_BLOB_REFUSED = {
    "r": "read",
    "l": "list",
    "d": "delete",
    "x": "delete versions",
    "y": "delete permanently",
    "w": "overwrite",
    "t": "tag",
    "m": "move",
    "e": "execute",
    "o": "own",
    "p": "set permissions",
    "i": "set immutability",
}
# Queue SAS letters: only ``a`` (add) is needed to publish.
_QUEUE_REFUSED = {"r": "read (peek)", "u": "update", "p": "process (receive and delete)"}


class SiteCloudWrites(BaseModel):
    """The settings fields: mixed into the edge Functions' settings."""

    compliant_storage: SecretStr | None = Field(default=None, alias="EDGELOOP_COMPLIANT_STORAGE")
    anomalies_storage: SecretStr | None = Field(default=None, alias="EDGELOOP_ANOMALIES_STORAGE")

    def cloud_write_connections(self) -> dict[str, ConnectionString] | None:
        """The SAS per cloud container the filter writes to; None: none given (``CloudStorage``)."""
        given = {
            COMPLIANT_CONTAINER: (COMPLIANT_STORAGE_SETTING, _text(self.compliant_storage)),
            ANOMALIES_CONTAINER: (ANOMALIES_STORAGE_SETTING, _text(self.anomalies_storage)),
        }
        missing = [setting for setting, text in given.values() if not text]
        if len(missing) == len(given):
            return None
        if missing:
            raise ConnectionSettingError(
                missing[0], "not set while the other site SAS is: give both (each a create-only SAS)"
            )
        return {c: create_only_sas(name, c, text) for c, (name, text) in given.items()}


def create_only_sas(setting: str, container: str, value: str) -> ConnectionString:
    """``value`` (a SAS URL or SAS connection string) checked: a SAS, never a key, create only."""
    if value.lower().startswith(("https://", "http://")):
        value = sas_url_connection_string(value, container, setting)
    fields = _connection_fields(value)
    if "accountkey" in fields or "sharedaccesssignature" not in fields:
        raise ConnectionSettingError(setting, "must be a SAS on the container, never the account key")
    permissions = _sas_permissions(fields["sharedaccesssignature"])
    _refuse_extra(setting, permissions, required="c", refused=_BLOB_REFUSED)
    return ConnectionString(setting, SecretStr(value))


def topic_queue_urls(value: str) -> list[str] | None:
    """The stand-in topic's queue SAS URLs (each add only), or None: ``value`` is not that form."""
    urls = value.split()
    if not urls or not all(url.lower().startswith(("https://", "http://")) for url in urls):
        return None
    for url in urls:
        query, where = urlsplit(url).query, f"{TOPIC_SETTING} ({_without_query(url)})"
        if "sig=" not in query:
            raise ConnectionSettingError(where, "a URL must carry a SAS token")
        _refuse_extra(where, _sas_permissions(query), "a", _QUEUE_REFUSED)
    return urls


def queue_name_of(url: str) -> str:
    """The queue a queue URL names (its last path segment)."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def _text(secret: SecretStr | None) -> str:
    return "" if secret is None else secret.get_secret_value().strip()


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]  # never the token in a message


def _connection_fields(value: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in value.split(";") if "=" in part)
    return {key.strip().lower(): item.strip() for key, item in pairs}


def _sas_permissions(token: str) -> str:
    values = parse_qs(token.lstrip("?")).get("sp", [""])
    return values[0]


def _refuse_extra(setting: str, permissions: str, required: str, refused: dict[str, str]) -> None:
    if required not in permissions:
        raise ConnectionSettingError(setting, f"the SAS must grant {required!r} (sp={permissions or 'none'})")
    extra = [f"{letter} ({refused[letter]})" for letter in permissions if letter in refused]
    if extra:
        raise ConnectionSettingError(
            setting, f"the SAS grants more than a site needs: {', '.join(extra)}; issue it with sp={required}"
        )
