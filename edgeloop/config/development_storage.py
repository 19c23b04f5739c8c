"""Local development storage: the Azurite accounts ``edge`` (the site) and ``cloud`` (Azure).

``UseDevelopmentStorage=true`` in a connection setting means these accounts on Azurite's
standard ports (``edgeloop.config.connections``); ``localdev.azurite`` starts Azurite with
them. The keys are local development keys, public on purpose like Azurite's own well-known
key: never use them outside Azurite.
"""

from __future__ import annotations

import base64

# Local development keys (public, Azurite only). Azurite requires base64 keys.
LOCAL_ACCOUNT_KEYS: dict[str, str] = {
    "edge": base64.b64encode(b"edgeloop-local-development-key-for-edge-account").decode(),
    "cloud": base64.b64encode(b"edgeloop-local-development-key-for-cloud-account").decode(),
}


def connection_string(
    account: str, host: str, blob_port: int, queue_port: int, table_port: int, key: str | None = None
) -> str:
    """An Azurite account's connection string; ``key``: one generated at run time (else the local key)."""
    key = key or LOCAL_ACCOUNT_KEYS[account]
    return (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint=http://{host}:{blob_port}/{account};"
        f"QueueEndpoint=http://{host}:{queue_port}/{account};"
        f"TableEndpoint=http://{host}:{table_port}/{account};"
    )
