"""Settings of the lake feed (``feed_lake``): the cloud data account it writes ``lake/insights`` to.

``CloudStorage`` (a connection string) or its identity-based settings (edgeloop.config.connections):
the account holding the ``compliant`` blobs and the ``lake`` container; no default.
"""

from __future__ import annotations

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import CloudStorageConnection
from edgeloop.config.site_signing import SiteTrust


class LakeSettings(CloudStorageConnection, SiteTrust, AzureSdkOptions, EdgeloopSettings):
    pass
