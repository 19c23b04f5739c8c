"""StorageQueueSender against real Azurite: wire encoding, queue creation, error mapping."""

from __future__ import annotations

import base64
import random
import time
import uuid
from collections.abc import Iterator

import orjson
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient, QueueMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from support.queue_reference import SdkQueuePoster

from edgeloop.adapters.queue_http import QueuePoster, plain_poster
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.config.development_storage import LOCAL_ACCOUNT_KEYS, connection_string
from edgeloop.ports import QueueUnavailable
from edgeloop.wire.packing import MAX_PACKED_BYTES, pack_items, unpack_message
from localdev.azurite import Azurite, free_port
from localdev.functions_host.converters import QueueTriggerConverter


def queue_name() -> str:
    return f"sender-{uuid.uuid4().hex[:16]}"


def raw_messages(conn: str, name: str) -> list[str]:
    """Message texts exactly as stored (no decode policy)."""
    with QueueClient.from_connection_string(conn, name) as client:
        return [str(message.content) for message in client.peek_messages(max_messages=32)]


def test_bodies_land_base64_encoded_in_a_queue_created_on_first_send(azurite: Azurite) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    records = [orjson.dumps({"insight_id": f"{'a' * 32}-{i:05d}"}) for i in range(3)]
    (body, _count), *_ = pack_items(records)
    sender = StorageQueueSender(conn, name)

    sender.send(body)
    sender.send(b"\x00\xffbinary")

    texts = raw_messages(conn, name)
    assert [base64.b64decode(text, validate=True) for text in texts] == [body, b"\x00\xffbinary"]
    assert unpack_message(base64.b64decode(texts[0])) == [orjson.loads(r) for r in records]
    sender.close()


def test_messages_are_sent_without_expiry(azurite: Azurite) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    with StorageQueueSender(conn, name) as sender:
        sender.send(b"kept until consumed")
    with QueueClient.from_connection_string(conn, name) as client:
        (message,) = client.peek_messages()
    assert message.expires_on is not None
    assert message.expires_on.year >= 9999


def test_a_queue_deleted_behind_its_back_is_created_again(azurite: Azurite) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    with StorageQueueSender(conn, name) as sender:
        sender.send(b"first")
        with QueueClient.from_connection_string(conn, name) as client:
            client.delete_queue()

        sender.send(b"second")

    assert [base64.b64decode(text) for text in raw_messages(conn, name)] == [b"second"]


def test_missing_queue_without_create_is_unavailable(azurite: Azurite) -> None:
    conn = azurite.connection_string("edge")
    with (
        StorageQueueSender(conn, queue_name(), create_queue=False) as sender,
        pytest.raises(QueueUnavailable, match="does not exist"),
    ):
        sender.send(b"x")


def test_nothing_listening_is_unavailable_within_seconds() -> None:
    port = free_port()  # nothing listens there
    conn = connection_string("edge", "127.0.0.1", port, port, port)
    started = time.monotonic()
    with (
        StorageQueueSender(conn, queue_name(), timeout=2) as sender,
        pytest.raises(QueueUnavailable, match="unreachable"),
    ):
        sender.send(b"x")
    assert time.monotonic() - started < 10


def test_an_unreachable_post_does_not_show_its_signature() -> None:
    port = free_port()  # nothing listens there
    conn = connection_string("edge", "127.0.0.1", port, port, port)
    with (
        StorageQueueSender(conn, queue_name(), create_queue=False, timeout=2) as sender,
        pytest.raises(QueueUnavailable, match="unreachable") as raised,
    ):
        sender.send(b"x")
    # The SAS in the URL reaches neither logs (a traceback shows the chain) nor /readyz.
    assert "sig=" not in str(raised.value)
    assert raised.value.__cause__ is None


def test_wrong_credentials_are_unavailable_not_a_crash(azurite: Azurite) -> None:
    good = azurite.connection_string("edge")
    wrong_key = base64.b64encode(b"not the key of this account").decode()
    conn = good.replace(LOCAL_ACCOUNT_KEYS["edge"], wrong_key)
    with (
        StorageQueueSender(conn, queue_name()) as sender,
        pytest.raises(QueueUnavailable, match="credentials"),
    ):
        sender.send(b"x")


def test_an_oversized_message_is_a_bug_and_is_not_disguised_as_an_outage(azurite: Azurite) -> None:
    with (
        StorageQueueSender(azurite.connection_string("edge"), queue_name()) as sender,
        pytest.raises(HttpResponseError) as raised,
    ):
        sender.send(b"x" * 70_000)
    assert not isinstance(raised.value, QueueUnavailable)


def test_an_account_key_sends_plain_posts_that_read_back_like_the_sdks(azurite: Azurite) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    with StorageQueueSender(conn, name) as sender:
        assert sender.plain_http
        sender.send(b"\x00plain\xff")
    with QueueClient.from_connection_string(
        conn, name, message_decode_policy=BinaryBase64DecodePolicy()
    ) as client:
        (message,) = client.receive_messages()
    assert message.content == b"\x00plain\xff"


def test_a_wrong_key_on_an_existing_queue_is_unavailable_not_a_crash(azurite: Azurite) -> None:
    good, name = azurite.connection_string("edge"), queue_name()
    with QueueClient.from_connection_string(good, name) as client:
        client.create_queue()
    wrong_key = base64.b64encode(b"not the key of this account").decode()
    conn = good.replace(LOCAL_ACCOUNT_KEYS["edge"], wrong_key)
    with (
        StorageQueueSender(conn, name, create_queue=False) as sender,
        pytest.raises(QueueUnavailable, match="credentials"),
    ):
        sender.send(b"x")


def test_the_proxy_environment_is_honoured(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("NO_PROXY", "")
    with (
        StorageQueueSender(conn, name, create_queue=False, timeout=2) as sender,
        pytest.raises(QueueUnavailable, match="unreachable") as raised,
    ):
        sender.send(b"through the proxy")
    assert "sig=" not in str(raised.value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with QueueClient.from_connection_string(conn, name) as client:
        client.create_queue()
    with StorageQueueSender(conn, name, create_queue=False, timeout=2) as sender:
        sender.send(b"around the proxy")
    assert [base64.b64decode(text) for text in raw_messages(conn, name)] == [b"around the proxy"]


class PostersSideBySide:
    """The plain-POST poster and its reference (the SDK's send_message), each on a queue of its own."""

    def __init__(self, conn: str) -> None:
        self.names = (queue_name(), queue_name())
        self.readers = [QueueClient.from_connection_string(conn, name) for name in self.names]
        for reader in self.readers:
            reader.create_queue()
        self.signing_client = QueueClient.from_connection_string(conn, self.names[0])
        plain = plain_poster(self.signing_client, timeout=10, retries=1)
        assert isinstance(plain, QueuePoster)  # an account key: the plain path
        self.plain = plain
        self.reference = SdkQueuePoster(conn, self.names[1])

    def post_both(self, body: bytes) -> tuple[QueueMessage, QueueMessage]:
        """``body`` sent both ways; each queue's message as stored (read without any decoding)."""
        self.plain.post(body)
        self.reference.post(body)
        received = []
        for reader in self.readers:
            (message,) = reader.receive_messages(max_messages=32)
            reader.delete_message(message)
            received.append(message)
        return received[0], received[1]

    def close(self) -> None:
        self.plain.close()
        self.signing_client.close()
        self.reference.close()
        for reader in self.readers:
            reader.delete_queue()
            reader.close()


@pytest.fixture(scope="module")
def posters(azurite: Azurite) -> Iterator[PostersSideBySide]:
    side_by_side = PostersSideBySide(azurite.connection_string("edge"))
    yield side_by_side
    side_by_side.close()


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _packed_records(texts: list[str]) -> bytes:
    body, _count = pack_items([orjson.dumps({"n": n, "text": text}) for n, text in enumerate(texts)])[0]
    return body


BODIES = st.one_of(
    st.binary(max_size=256),  # short, and every byte value
    st.builds(_random_bytes, st.integers(0, 2**32 - 1), st.integers(0, MAX_PACKED_BYTES)),  # up to full size
    st.builds(
        _packed_records, st.lists(st.text(max_size=40), min_size=1, max_size=50)
    ),  # what the relay sends
)


@settings(max_examples=30, deadline=None)
@given(body=BODIES)
def test_plain_posts_put_on_the_queue_exactly_what_the_sdk_puts(
    posters: PostersSideBySide, body: bytes
) -> None:
    plain, reference = posters.post_both(body)

    assert plain.content == reference.content  # the same stored text, byte for byte
    assert base64.b64decode(str(plain.content), validate=True) == body
    assert plain.expires_on is not None
    assert reference.expires_on is not None
    assert plain.expires_on.year == reference.expires_on.year >= 9999  # neither ever expires
    host_decoding = QueueTriggerConverter("base64")  # the local Functions host's queue trigger
    assert host_decoding.convert(plain).get_body() == host_decoding.convert(reference).get_body() == body
