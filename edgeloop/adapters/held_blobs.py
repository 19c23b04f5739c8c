"""HeldMessages on the site's ``quarantine`` container: the records the filter refused.

A quarantine blob (``<message digest>.jsonl``, edgeloop.service_layer.filtering) holds one line
per refused record: the record as received and why. Replay packs those records again and sends
them to the insights queue through the QueueSender port, so the filter decides afresh (after the
policy or the producer was fixed); what it still refuses is quarantined again. The blobs stay
on site, like the queue they are replayed to.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence

import orjson
from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from edgeloop.domain.held_messages import HeldMessage, HeldMessageError
from edgeloop.ports import QueueSender, QueueUnavailable
from edgeloop.wire.packing import pack_items


@contextlib.contextmanager
def _storage_errors(place: str) -> Iterator[None]:
    try:
        yield
    except (AzureError, QueueUnavailable) as exc:
        raise HeldMessageError(f"{place}: {exc}") from exc


def quarantine_lines(body: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in body.splitlines() if line.strip()]


def quarantine_reason(body: bytes) -> str:
    """``policy:consent x3, invalid:torque_nm x1``: why, by field, never the values."""
    counts = Counter(f"{line.get('reason')}:{line.get('field')}" for line in quarantine_lines(body))
    return ", ".join(f"{key} x{count}" for key, count in sorted(counts.items()))


class QuarantineBlobs:
    def __init__(self, container: ContainerClient, sender: QueueSender, source: str) -> None:
        self._container = container
        self._sender = sender
        self.name = str(container.container_name)
        self.source = source

    def _read(self, blob_name: str, handle: bool) -> HeldMessage | None:
        try:
            download = self._container.get_blob_client(blob_name).download_blob()
        except ResourceNotFoundError:
            return None
        body = bytes(download.readall())
        return HeldMessage(
            place=self.name,
            message_id=blob_name,
            body=body,
            held_since=download.properties.creation_time,
            delivery_count=None,
            reason=quarantine_reason(body),
            handle=download.properties.etag if handle else None,
        )

    def _names(self) -> list[str]:
        if not self._container.exists():
            return []
        blobs = sorted(self._container.list_blobs(), key=lambda blob: (blob.creation_time, blob.name))
        return [str(blob.name) for blob in blobs]

    def _read_all(self, names: Sequence[str], handle: bool) -> list[HeldMessage]:
        found = (self._read(name, handle) for name in names)
        return [message for message in found if message is not None]

    def peek(self, limit: int) -> list[HeldMessage]:
        with _storage_errors(self.name):
            return self._read_all(self._names()[:limit], handle=False)

    def take(self, message_ids: Sequence[str] | None, limit: int) -> list[HeldMessage]:
        # Nothing to lock on a blob: the ETag read here makes delete fail if it changed since.
        with _storage_errors(self.name):
            names = self._names()[:limit] if message_ids is None else list(dict.fromkeys(message_ids))
            return self._read_all(names, handle=True)

    def resend(self, message: HeldMessage) -> None:
        items = [orjson.dumps(line["record"]) for line in quarantine_lines(message.body)]
        with _storage_errors(self.source):
            for body, _count in pack_items(items):
                self._sender.send(body)

    def delete(self, message: HeldMessage) -> None:
        with _storage_errors(self.name):
            self._container.delete_blob(
                message.message_id, etag=message.handle, match_condition=MatchConditions.IfNotModified
            )

    def release(self, message: HeldMessage) -> None:
        """Nothing was locked."""
