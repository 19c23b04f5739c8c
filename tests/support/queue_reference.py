"""The plain reference of the plain-POST queue sender: the Azure SDK's own ``send_message``.

Same wire encoding (``BinaryBase64EncodePolicy``) and the same time to live (never
expire) as edgeloop.adapters.queue_http.QueuePoster, through the SDK's whole request
pipeline. tests/integration/test_storage_queue_sender.py sends the same bodies both ways
and compares what lands on the queue.
"""

from __future__ import annotations

from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient

NO_EXPIRY = -1


class SdkQueuePoster:
    """``post(body)`` and ``close()``, as ``QueuePoster``, by ``QueueClient.send_message``."""

    def __init__(self, connection_string: str, queue_name: str) -> None:
        self._client = QueueClient.from_connection_string(
            connection_string, queue_name, message_encode_policy=BinaryBase64EncodePolicy()
        )

    def post(self, body: bytes) -> None:
        self._client.send_message(body, time_to_live=NO_EXPIRY)

    def close(self) -> None:
        self._client.close()
