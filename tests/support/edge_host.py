"""The root function app under the local Functions host in the ``edge`` role, against Azurite.

``python -m localdev.functions_host --role edge`` runs function_app.py as a child
process with the project's host.json (polling and retry delay shortened so tests
take seconds, maxDequeueCount kept). Shared by the filter_insights integration tests.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient
from support.function_apps.host_harness import HostProcess

from edgeloop.adapters.blob_storage import AzureBlobStore
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST_JSON = json.loads((REPO_ROOT / "host.json").read_text(encoding="utf-8"))


def queue_texts(connection: str, name: str) -> list[str]:
    try:
        return [m.content for m in QueueClient.from_connection_string(connection, name).peek_messages(32)]
    except ResourceNotFoundError:
        return []


class EdgeHost:
    def __init__(self, azurite: Azurite, tmp: Path) -> None:
        self.edge = azurite.connection_string("edge")
        self.cloud = azurite.connection_string("cloud")
        self.queue = f"ins-{uuid.uuid4().hex[:12]}"
        self.topic = f"t{uuid.uuid4().hex[:12]}"
        self.tmp = tmp
        self.cloud_blobs = AzureBlobStore.from_connection_string(self.cloud)
        self.edge_blobs = AzureBlobStore.from_connection_string(self.edge)
        self.sender = QueueClient.from_connection_string(
            self.edge, self.queue, message_encode_policy=BinaryBase64EncodePolicy()
        )
        self.sender.create_queue()

    def start(self, *, new_session: bool = False, **extra_env: str) -> HostProcess:
        """Start the host; ``new_session`` gives it its own process group (to kill it whole)."""
        host_json = json.loads(json.dumps(HOST_JSON))
        host_json["extensions"]["queues"].update(
            maxPollingInterval="00:00:00.300", visibilityTimeout="00:00:00.100"
        )
        host_path = self.tmp / "host.json"
        host_path.write_text(json.dumps(host_json), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "EDGELOOP_LOCAL_SETTINGS"}
        env |= {
            "PYTHONUNBUFFERED": "1",
            "AzureWebJobsStorage": self.edge,
            "EdgeStorage": self.edge,
            "CloudStorage": self.cloud,
            "ServiceBusConnection": self.cloud,
            "INSIGHTS_QUEUE": self.queue,
            "EDGELOOP_INSIGHTS_TOPIC": self.topic,
            "EDGELOOP_SITE_HMAC_KEY": "integration-test-site-key-0123",
            "EDGELOOP_COMPLIANCE_POLICY": str(REPO_ROOT / "policies" / "compliance.yaml"),
        }
        env |= extra_env
        log_path = self.tmp / f"host-{time.monotonic_ns()}.log"
        command = [
            sys.executable,
            "-m",
            "localdev.functions_host",
            "--role",
            "edge",
            "--app",
            "function_app.py",
        ]
        command += ["--host-json", str(host_path), "--local-settings", str(self.tmp / "absent.settings.json")]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
            )
        return HostProcess(process, log_path)

    def names(self, container: str, site: str) -> list[str]:
        return self.cloud_blobs.list_names(container, prefix=f"site={site}/")

    def lines(self, container: str, name: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in gzip.decompress(self.cloud_blobs.get(container, name)).splitlines()]

    def events(self, subscription: str) -> list[dict[str, Any]]:
        texts = queue_texts(self.cloud, f"{self.topic}-{subscription}")
        return [json.loads(base64.b64decode(text)) for text in texts]
