"""Composition of the per-site signatures: a site's signing writer, the cloud's verifying reader.

Every composition root that writes to the cloud from a site (edge Functions: records; the scoring
app: frames) wraps its cloud blob store with :func:`signing_blobs`; every one that reads what sites
wrote (ingest, the Power BI and lake feeds, retraining) wraps its store with :func:`verified_blobs`.
Keys are read and checked here, at start-up; a bad key stops the start naming its setting.
"""

from __future__ import annotations

import logging

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import SigningKeyError
from edgeloop.adapters.site_signed_blobs import MetadataWriter, SiteSignedBlobs, SiteVerifiedBlobs
from edgeloop.adapters.site_signing import (
    SITE_PUBLIC_KEYS_SETTING,
    SITE_SIGNING_KEY_SETTING,
    SiteBlobSigner,
    SiteKeyring,
)
from edgeloop.config.site_signing import SiteSigningKey, SiteTrust
from edgeloop.wire.storage_layout import ANOMALIES_CONTAINER, COMPLIANT_CONTAINER

logger = logging.getLogger(__name__)
_said: set[str] = set()  # what was logged once per process


def _once(key: str, message: str, *args: object) -> None:
    if key not in _said:
        _said.add(key)
        logger.warning(message, *args)


def signing_blobs(
    inner: MetadataWriter, settings: SiteSigningKey, site_id: str
) -> SiteSignedBlobs | MetadataWriter:
    """``inner`` signing every blob with the site's key; ``inner`` as it is without a key (logged)."""
    text = settings.signing_key_text()
    if text is None:
        _once(
            "unsigned",
            "%s unset: this site's cloud blobs are not signed; a cloud that checks site signatures "
            "refuses them",
            SITE_SIGNING_KEY_SETTING,
        )
        return inner
    try:
        return SiteSignedBlobs(inner, SiteBlobSigner(text, site_id))
    except ValueError as exc:  # SigningKeyError, or a raw key cryptography refuses
        hint = "a pair: `edgeloop models site-keygen --site <id>`"
        raise SigningKeyError(f"{SITE_SIGNING_KEY_SETTING}: {exc} ({hint})") from None


def verified_blobs(
    inner: AzureBlobStore, settings: SiteTrust, records_container: str = COMPLIANT_CONTAINER
) -> SiteVerifiedBlobs | AzureBlobStore:
    """``inner`` refusing every site blob its site did not sign; as it is when no site keys are given.
    ``records_container``: the compliant records' (``RETRAIN_COMPLIANT_CONTAINER`` may rename it)."""
    text = settings.site_keys_text()
    if text is None:
        _once(
            "unchecked",
            "%s unset: site signatures are not checked (any site may file blobs under another's name)",
            SITE_PUBLIC_KEYS_SETTING,
        )
        return inner
    keyring = SiteKeyring.from_setting(text)
    logger.info("site signatures checked: %d site(s) have trusted keys", len(keyring.sites))
    return SiteVerifiedBlobs(inner, keyring, {records_container, COMPLIANT_CONTAINER, ANOMALIES_CONTAINER})
