"""A site's cloud credentials are checked at start-up: a SAS, never the key, and no more than it needs.

The SAS here are generated with the SDK from a made-up key (nothing is sent); the fleet's
environment is the runner's own (localdev.run.LocalSystem), built without starting anything.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from azure.storage.queue import QueueSasPermissions, generate_queue_sas

from edgeloop.adapters.site_signing import SiteBlobSigner
from edgeloop.config.connections import ConnectionSettingError
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.config.site_access import topic_queue_urls
from localdev.run import LocalSystem, Ports
from localdev.site_credentials import WITHHELD_FROM_SITES

KEY = base64.b64encode(b"k" * 32).decode()
ENDPOINT = "https://data.blob.core.windows.net"
EXPIRY = datetime.now(UTC) + timedelta(days=1)


def container_sas_url(container: str, **permissions: bool) -> str:
    sas = generate_container_sas(
        "data", container, account_key=KEY, permission=ContainerSasPermissions(**permissions), expiry=EXPIRY
    )
    return f"{ENDPOINT}/{container}?{sas}"


def queue_sas_url(queue: str, **permissions: bool) -> str:
    sas = generate_queue_sas("data", queue, KEY, permission=QueueSasPermissions(**permissions), expiry=EXPIRY)
    return f"https://data.queue.core.windows.net/{queue}?{sas}"


def site_settings(compliant: str | None, anomalies: str | None) -> EdgeFunctionSettings:
    values = {"EDGELOOP_COMPLIANT_STORAGE": compliant, "EDGELOOP_ANOMALIES_STORAGE": anomalies}
    return EdgeFunctionSettings.model_validate({k: v for k, v in values.items() if v is not None})


def test_create_only_sas_urls_become_connection_strings_per_container() -> None:
    settings = site_settings(
        container_sas_url("compliant", create=True), container_sas_url("anomalies", create=True)
    )
    connections = settings.cloud_write_connections()
    assert connections is not None
    assert sorted(connections) == ["anomalies", "compliant"]
    assert connections["compliant"].secret().startswith(f"BlobEndpoint={ENDPOINT};SharedAccessSignature=")


def test_no_site_sas_means_cloud_storage_as_before() -> None:
    assert site_settings(None, None).cloud_write_connections() is None


def test_one_sas_without_the_other_names_the_missing_setting() -> None:
    settings = site_settings(container_sas_url("compliant", create=True), None)
    with pytest.raises(ConnectionSettingError, match=r"^EDGELOOP_ANOMALIES_STORAGE: not set"):
        settings.cloud_write_connections()


@pytest.mark.parametrize(
    ("permissions", "named"),
    [
        ({"create": True, "read": True}, "r (read)"),
        ({"create": True, "list": True}, "l (list)"),
        ({"create": True, "delete": True}, "d (delete)"),
        ({"create": True, "write": True}, "w (overwrite)"),
    ],
)
def test_a_sas_that_grants_more_than_create_is_refused(permissions: dict[str, bool], named: str) -> None:
    settings = site_settings(
        container_sas_url("compliant", **permissions), container_sas_url("anomalies", create=True)
    )
    with pytest.raises(
        ConnectionSettingError, match=r"^EDGELOOP_COMPLIANT_STORAGE: the SAS grants more"
    ) as error:
        settings.cloud_write_connections()
    assert named in str(error.value)
    assert "sig=" not in str(error.value)  # the token is never in a message


def test_a_sas_without_create_is_refused() -> None:
    settings = site_settings(
        container_sas_url("compliant", create=True), container_sas_url("anomalies", add=True)
    )
    with pytest.raises(ConnectionSettingError, match="EDGELOOP_ANOMALIES_STORAGE: the SAS must grant 'c'"):
        settings.cloud_write_connections()


def test_topic_queue_urls_are_add_only() -> None:
    urls = [queue_sas_url("insights-global", add=True), queue_sas_url("insights-powerbi", add=True)]
    assert topic_queue_urls(" ".join(urls)) == urls
    assert topic_queue_urls("AccountName=cloud;AccountKey=x") is None  # a connection string, as before
    with pytest.raises(ConnectionSettingError, match=r"insights-lake\): the SAS grants more .*p \(process"):
        topic_queue_urls(queue_sas_url("insights-lake", add=True, process=True))


def test_every_fleet_site_gets_sas_and_never_the_cloud_key(tmp_path: Path) -> None:
    system = LocalSystem(tmp_path / "var", Ports.free(), sites=3)
    system.api_key = "fleet-env-test-api-key"
    shared = system.trust_sites(system.environment())
    cloud_key = system.azurite.accounts["cloud"]
    assert cloud_key in shared["CloudStorage"]  # the cloud's processes have it
    for component in system.components:
        env = system.environment_of(component, shared)
        if component.site is None:
            continue
        own = next(site.account for site in system.sites if site.site_id == component.site)
        assert not [name for name, value in env.items() if cloud_key in value], component.name
        assert not set(WITHHELD_FROM_SITES) & set(env), component.name
        # The only account keys a site process holds are its own account's (its Stack Hub storage).
        keyed = {name for name, value in env.items() if "AccountKey=" in value}
        assert keyed == {"EdgeStorage", "AzureWebJobsStorage"}, component.name
        assert all(f"AccountName={own};" in env[name] for name in keyed)
        assert parse_qs(urlsplit(env["EDGELOOP_COMPLIANT_STORAGE"]).query)["sp"] == ["c"]
        assert topic_queue_urls(env["ServiceBusConnection"]) is not None
        assert "sig=" in env["SCORING_MODEL_REGISTRY_STORAGE"]
        # Its own signing key, whose public half the cloud trusts for this site and no other.
        signer = SiteBlobSigner(env["EDGELOOP_SITE_SIGNING_KEY"], component.site)
        trusted = json.loads(shared["EDGELOOP_SITE_PUBLIC_KEYS"])
        assert [site for site, keys in trusted.items() if signer.public_key_b64 in keys] == [component.site]
    assert sorted(trusted) == ["site-1", "site-2", "site-3"]
