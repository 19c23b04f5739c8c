"""HeldMessages on a Storage queue: ``<queue>-poison`` and the local ``<topic>-<subscription>-deadletter``.

Messages are read and written as the text they are held in (no encode policy): the Functions
host copies a poisoned message's text unchanged, so replaying the same text to the source
queue is exactly the original message. The emulated dead-letter queues hold the Service Bus
envelope with ``dead_letter_reason`` added (localdev.functions_host); replay drops those keys.

A Storage queue can only peek 32 messages and only change a message it has received, so
``take`` receives (the messages turn invisible for ``lease_seconds``), keeps those asked for and
makes the others visible again at once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Iterator, Sequence

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage

from edgeloop.domain.held_messages import HeldMessage, HeldMessageError, wants_more
from edgeloop.wire.servicebus_envelope import MessageDecodeError, encode_envelope, parse_envelope

PEEK_LIMIT = 32  # the service's bound for one peek or receive
DEFAULT_LEASE_SECONDS = 60


@contextlib.contextmanager
def _storage_errors(place: str) -> Iterator[None]:
    try:
        yield
    except AzureError as exc:
        raise HeldMessageError(f"{place}: {exc}") from exc


def dead_letter_reason(text: str) -> str | None:
    """The reason an emulated dead-letter envelope carries (None: not an envelope)."""
    try:
        document = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return None
    reason = document.get("dead_letter_reason") if isinstance(document, dict) else None
    return str(reason) if reason else None


class StorageHeldQueue:
    """``held``: the holding queue's client; ``source``: the queue replays go to."""

    def __init__(
        self,
        held: QueueClient,
        source: QueueClient,
        *,
        dead_letters: bool = False,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._held, self._source = held, source
        self.name = str(held.queue_name)
        self.source = str(source.queue_name)
        self._dead_letters = dead_letters
        self._lease = lease_seconds

    def _message(self, message: QueueMessage, handle: bool) -> HeldMessage:
        text = str(message.content or "")
        return HeldMessage(
            place=self.name,
            message_id=str(message.id),
            body=text.encode("utf-8"),
            held_since=message.inserted_on,
            delivery_count=None,  # the held copy's own count says nothing about the original
            reason=dead_letter_reason(text) if self._dead_letters else "MaxDequeueCountExceeded",
            handle=message if handle else None,
        )

    def peek(self, limit: int) -> list[HeldMessage]:
        with _storage_errors(self.name):
            try:
                found = self._held.peek_messages(max_messages=max(1, min(limit, PEEK_LIMIT)))
            except ResourceNotFoundError:
                return []  # no queue: nothing was ever held
        return [self._message(message, handle=False) for message in found]

    def take(self, message_ids: Sequence[str] | None, limit: int) -> list[HeldMessage]:
        wanted = None if message_ids is None else set(message_ids)
        taken: list[QueueMessage] = []
        others: list[QueueMessage] = []
        with _storage_errors(self.name):
            try:
                while wants_more({message.id for message in taken}, wanted, limit):
                    batch = list(
                        self._held.receive_messages(max_messages=PEEK_LIMIT, visibility_timeout=self._lease)
                    )
                    if not batch:
                        break
                    for message in batch:
                        keep = len(taken) < limit if wanted is None else message.id in wanted
                        (taken if keep else others).append(message)
            except ResourceNotFoundError:
                return []
            finally:
                for message in others:  # the ones not asked for: visible again now, not in a minute
                    self._held.update_message(message, visibility_timeout=0)
        return [self._message(message, handle=True) for message in taken]

    def _original_text(self, message: HeldMessage) -> str:
        text = message.body.decode("utf-8")
        if not self._dead_letters:
            return text
        try:
            envelope = parse_envelope(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError, MessageDecodeError):
            return text  # dead-lettered because unreadable: replayed as it was
        return encode_envelope(envelope)  # without the dead_letter_* keys

    def resend(self, message: HeldMessage) -> None:
        text = self._original_text(message)
        with _storage_errors(self.source):
            try:
                self._source.send_message(text, time_to_live=-1)
            except ResourceNotFoundError:
                with contextlib.suppress(ResourceExistsError):
                    self._source.create_queue()
                self._source.send_message(text, time_to_live=-1)

    def delete(self, message: HeldMessage) -> None:
        with _storage_errors(self.name):
            self._held.delete_message(message.handle)

    def release(self, message: HeldMessage) -> None:
        with _storage_errors(self.name):
            self._held.update_message(message.handle, visibility_timeout=0)
