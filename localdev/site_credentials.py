"""What the local cloud hands a fleet's site: the least it needs, never the cloud account's key.

As docs/deployment.md ("What a site may do in the cloud") prescribes for a real site: a
create-only SAS on each cloud container the site's edge Functions write (``compliant``,
``anomalies``), an add-only SAS per queue of the emulated topic (Service Bus's send-only
``site-send`` rule in Azure), and the read/list SAS on the registry (localdev/cloud.py). Each
site gets its own signing key (what it writes to the cloud is signed), the cloud their public keys.
Azurite speaks plain HTTP, so HTTP is allowed here; a real SAS is HTTPS only.

A container or queue SAS cannot create what it names, so the cloud's containers and the
topic's queues are created first, with the key, as Bicep declares them in Azure.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from localdev.azurite import Azurite
from localdev.cloud import CLOUD_ACCOUNT, REGISTRY_SAS_LIFETIME

# Shared settings a site must not get: the cloud account's key (``CloudStorage``; ``ServiceBusConnection``
# is replaced) and where the cloud's model-signing private key lies.
WITHHELD_FROM_SITES = ("CloudStorage", "MODEL_SIGNING_KEY_DIR")
SITE_SIGNING_KEY = "EDGELOOP_SITE_SIGNING_KEY"
SITE_SAS_LIFETIME = REGISTRY_SAS_LIFETIME
_HTTP = "https,http"  # Azurite speaks HTTP


def topic_queues(env: Mapping[str, str]) -> list[str]:
    """The emulated topic's queues, one per subscription (``EDGELOOP_TOPIC_SUBSCRIPTIONS``)."""
    from edgeloop.wire.messaging import INSIGHTS_TOPIC, TOPIC_SUBSCRIPTIONS, subscription_queue

    topic = env.get("EDGELOOP_INSIGHTS_TOPIC") or INSIGHTS_TOPIC
    names = env.get("EDGELOOP_TOPIC_SUBSCRIPTIONS") or ",".join(TOPIC_SUBSCRIPTIONS)
    return [subscription_queue(topic, name.strip()) for name in names.split(",") if name.strip()]


def site_written_containers() -> tuple[str, ...]:
    from edgeloop.wire.storage_layout import ANOMALIES_CONTAINER, COMPLIANT_CONTAINER

    return (COMPLIANT_CONTAINER, ANOMALIES_CONTAINER)


def prepare_cloud_for_sites(azurite: Azurite, env: Mapping[str, str]) -> None:
    """Create the cloud containers and topic queues a site's SAS names (Bicep's part in Azure)."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    from edgeloop.wire.storage_layout import FRAMES_CONTAINER, MODELS_CONTAINER

    connection = azurite.connection_string(CLOUD_ACCOUNT)
    blobs = BlobServiceClient.from_connection_string(connection)
    for container in (*site_written_containers(), MODELS_CONTAINER, FRAMES_CONTAINER):
        with contextlib.suppress(ResourceExistsError):  # an earlier run's: what we want
            blobs.create_container(container)
    queues = QueueServiceClient.from_connection_string(connection)
    for queue in topic_queues(env):
        with contextlib.suppress(ResourceExistsError):
            queues.create_queue(queue)


def site_cloud_access(azurite: Azurite, env: Mapping[str, str]) -> dict[str, str]:
    """A site's cloud settings: create-only SAS per written container, add-only SAS per topic queue."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas
    from azure.storage.queue import QueueSasPermissions, generate_queue_sas

    from edgeloop.config.site_access import ANOMALIES_STORAGE_SETTING, COMPLIANT_STORAGE_SETTING

    key = azurite.accounts[CLOUD_ACCOUNT]
    expiry = datetime.now(UTC) + SITE_SAS_LIFETIME
    blob_endpoint = f"http://{azurite.host}:{azurite.blob_port}/{CLOUD_ACCOUNT}"
    queue_endpoint = f"http://{azurite.host}:{azurite.queue_port}/{CLOUD_ACCOUNT}"
    compliant, anomalies = site_written_containers()
    settings: dict[str, str] = {}
    for setting, container in (
        (COMPLIANT_STORAGE_SETTING, compliant),
        (ANOMALIES_STORAGE_SETTING, anomalies),
    ):
        sas = generate_container_sas(
            CLOUD_ACCOUNT,
            container,
            account_key=key,
            permission=ContainerSasPermissions(create=True),
            expiry=expiry,
            protocol=_HTTP,
        )
        settings[setting] = f"{blob_endpoint}/{container}?{sas}"
    add_only = QueueSasPermissions(add=True)
    queue_urls = [
        f"{queue_endpoint}/{queue}?"
        + generate_queue_sas(CLOUD_ACCOUNT, queue, key, permission=add_only, expiry=expiry, protocol=_HTTP)
        for queue in topic_queues(env)
    ]
    settings["ServiceBusConnection"] = " ".join(queue_urls)
    return settings


def site_signing_keys(var: Path, site_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Each site's Ed25519 pair ``(private, public)``, generated once and kept (mode 600) in
    var/local/site-signing/: the private key goes to that site only, the public keys to the cloud."""
    from edgeloop.adapters.ed25519_signing import generate_key_pair
    from edgeloop.adapters.site_signing import SiteBlobSigner

    folder = var / "local" / "site-signing"
    folder.mkdir(parents=True, exist_ok=True)
    keys: dict[str, tuple[str, str]] = {}
    for site_id in site_ids:
        path = folder / f"{quote(site_id, safe='-_.')}.key"
        if not path.exists():
            path.write_text(generate_key_pair()[0] + "\n")
            path.chmod(0o600)
        private = path.read_text().strip()
        keys[site_id] = (private, SiteBlobSigner(private, site_id).public_key_b64)
    return keys


def trusted_site_keys(keys: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """The cloud's setting: every site's public key (site signatures checked, docs/deployment.md)."""
    document = {site_id: [public] for site_id, (_, public) in sorted(keys.items())}
    return {"EDGELOOP_SITE_PUBLIC_KEYS": json.dumps(document)}
