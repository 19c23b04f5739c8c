"""The feedback loop's settings as deployed: retraining on the app's identity, the signing key's
one format, and a site's delivery settings (no silent local default anywhere).

Client construction only, no request is sent (Azurite cannot issue Entra ID tokens); the
connection-string path runs against real Azurite in tests/integration/test_model_registry.py
and test_model_delivery.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential
from pydantic import SecretStr, ValidationError
from support.bundles import build_defect_bundle
from typer.testing import CliRunner

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.ed25519_signing import (
    PRIVATE_KEY_FILE,
    SigningKeyError,
    ensure_key_pair,
    generate_key_pair,
)
from edgeloop.adapters.local_trainer import QueueTrainer
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.bootstrap.model_delivery import start_delivery
from edgeloop.bootstrap.retraining import build_registry, build_retraining, build_signer, build_trainer
from edgeloop.cli import app
from edgeloop.config.connections import ConnectionSettingError, ConnectionString
from edgeloop.config.model_delivery import ModelDeliverySettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.service_layer.scoring import ModelHolder
from edgeloop.wire.messaging import RETRAIN_QUEUE

BLOB = "https://acct.blob.core.windows.net"
QUEUE = "https://acct.queue.core.windows.net"
# A read/list SAS connection string to the registry container, as a site gets it (fake signature).
SITE_SAS = (
    "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sr=c&sp=rl&sig=x"
)


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither a developer's local.settings.json nor the shell's connections may leak in."""
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in ("CloudStorage", "MODEL_SIGNING_PRIVATE_KEY", "SCORING_MODEL_SIGNING_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)
    for suffix in ("blobServiceUri", "queueServiceUri", "serviceUri", "credential", "clientId"):
        monkeypatch.delenv(f"CloudStorage__{suffix}", raising=False)
    monkeypatch.delenv("SCORING_MODEL_REGISTRY_STORAGE", raising=False)


def retraining_settings(**values: Any) -> RetrainingSettings:
    return RetrainingSettings(MODEL_SIGNING_PRIVATE_KEY=SecretStr(generate_key_pair()[0]), **values)


IDENTITY = {
    "CloudStorage__blobServiceUri": BLOB,
    "CloudStorage__queueServiceUri": QUEUE,
    "CloudStorage__credential": "managedidentity",
}


def test_retraining_runs_on_the_apps_identity_as_main_bicep_configures_it() -> None:
    settings = retraining_settings(**IDENTITY)
    clients = AzureClients()
    registry = build_registry(settings, clients)
    assert registry._container.url == BLOB + "/models"
    trainer = build_trainer(settings, clients)
    assert isinstance(trainer, QueueTrainer)
    sender = trainer._sender
    assert isinstance(sender, StorageQueueSender)
    assert sender._client.url == f"{QUEUE}/{RETRAIN_QUEUE}"
    # One credential (the app's managed identity) for the blobs and the queue.
    assert isinstance(sender._client.credential, ManagedIdentityCredential)
    assert sender._client.credential is registry._container.credential
    service = build_retraining(settings, clients)
    assert service is not None


def test_retraining_without_cloud_storage_fails_naming_the_settings() -> None:
    settings = retraining_settings()
    with pytest.raises(ConnectionSettingError, match="CloudStorage or CloudStorage__blobServiceUri"):
        build_registry(settings)
    with pytest.raises(ConnectionSettingError, match="CloudStorage or CloudStorage__queueServiceUri"):
        build_trainer(settings)


def test_the_trainer_needs_the_queue_endpoint_not_only_the_blob_one() -> None:
    """What the cloud app would hit if main.bicep gave CloudStorage__blobServiceUri alone."""
    settings = retraining_settings(**{"CloudStorage__blobServiceUri": BLOB})
    build_registry(settings)
    with pytest.raises(ConnectionSettingError, match="CloudStorage__queueServiceUri"):
        build_trainer(settings)


def test_the_signing_key_is_what_keygen_writes(tmp_path: Path) -> None:
    _, public = ensure_key_pair(tmp_path)
    # `az keyvault secret set --file model-signing.key` stores the file as is (trailing newline).
    stored = (tmp_path / PRIVATE_KEY_FILE).read_text(encoding="utf-8")
    assert stored.endswith("\n")
    signer = build_signer(RetrainingSettings(MODEL_SIGNING_PRIVATE_KEY=SecretStr(stored)))
    assert signer.public_key_b64 == public


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "@Microsoft.KeyVault(VaultName=kv;SecretName=model-signing-private-key)",
            "MODEL_SIGNING_PRIVATE_KEY: the Key Vault reference was not resolved",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
            "MODEL_SIGNING_PRIVATE_KEY: .*PEM document; expected base64 of the raw 32-byte key",
        ),
        ("not a key", "MODEL_SIGNING_PRIVATE_KEY: .*not base64"),
        ("AAAA", "MODEL_SIGNING_PRIVATE_KEY: .*raw 32-byte Ed25519 key, got 3 bytes"),
    ],
)
def test_a_wrong_signing_key_fails_naming_the_setting(value: str, message: str) -> None:
    with pytest.raises(SigningKeyError, match=message):
        build_signer(RetrainingSettings(MODEL_SIGNING_PRIVATE_KEY=SecretStr(value)))


def test_models_cli_without_cloud_storage_exits_2_naming_the_setting() -> None:
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 2
    assert "CloudStorage or CloudStorage__blobServiceUri" in result.output


def test_delivery_on_needs_the_registry_connection() -> None:
    public = generate_key_pair()[1]
    with pytest.raises(ValidationError, match="SCORING_MODEL_REGISTRY_STORAGE: required when"):
        ModelDeliverySettings(model_signing_public_key=public)
    assert not ModelDeliverySettings().enabled  # off: nothing else is needed


def test_the_registry_connection_of_a_site() -> None:
    public = generate_key_pair()[1]
    settings = ModelDeliverySettings(
        model_signing_public_key=public, model_registry_storage=SecretStr(SITE_SAS)
    )
    connection = settings.registry_connection()
    assert isinstance(connection, ConnectionString)
    registry = BlobModelRegistry.from_connection(connection, "models", site_side=True)
    assert registry._container.url.startswith(BLOB + "/models?")  # the SAS goes with every request
    local = ModelDeliverySettings(
        model_signing_public_key=public, model_registry_storage=SecretStr("UseDevelopmentStorage=true")
    ).registry_connection()
    assert isinstance(local, ConnectionString)
    assert "AccountName=cloud;" in local.secret()


def test_a_wrong_public_key_stops_the_site_naming_the_setting(tmp_path: Path) -> None:
    holder = ModelHolder(OnnxModel.load(build_defect_bundle(tmp_path / "bundle")))
    settings = ModelDeliverySettings(
        model_signing_public_key="<model-signing-public-key>",
        model_registry_storage=SecretStr(SITE_SAS),
        model_cache_dir=tmp_path / "cache",
    )
    with pytest.raises(SigningKeyError, match="SCORING_MODEL_SIGNING_PUBLIC_KEY: signing public key is not"):
        start_delivery(holder, settings, OnnxModel.load)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://acct.blob.core.windows.net/models?sv=2022-11-02&sr=c&sp=rl&sig=x", BLOB),
        (
            "http://127.0.0.1:10000/cloud/models?sv=2022-11-02&sr=c&sp=rl&sig=x",
            "http://127.0.0.1:10000/cloud",
        ),
    ],
)
def test_the_registry_may_be_given_as_a_sas_url(url: str, endpoint: str) -> None:
    settings = ModelDeliverySettings(
        model_signing_public_key=generate_key_pair()[1], model_registry_storage=SecretStr(url)
    )
    connection = settings.registry_connection()
    assert isinstance(connection, ConnectionString)
    assert (
        connection.secret() == f"BlobEndpoint={endpoint};SharedAccessSignature=sv=2022-11-02&sr=c&sp=rl&sig=x"
    )
    registry = BlobModelRegistry.from_connection(connection, "models", site_side=True)
    assert registry._container.url == f"{endpoint}/models?sv=2022-11-02&sr=c&sp=rl&sig=x"


def test_a_registry_url_without_a_sas_is_refused_naming_the_setting() -> None:
    settings = ModelDeliverySettings(
        model_signing_public_key=generate_key_pair()[1],
        model_registry_storage=SecretStr("https://acct.blob.core.windows.net/models"),
    )
    with pytest.raises(ValueError, match="SCORING_MODEL_REGISTRY_STORAGE: a URL must carry a SAS token"):
        settings.registry_connection()
