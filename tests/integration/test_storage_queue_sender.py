"""StorageQueueSender against real Azurite: wire encoding, queue creation, error mapping."""

from __future__ import annotations

import base64
import time
import uuid

import orjson
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient

from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.config.development_storage import LOCAL_ACCOUNT_KEYS, connection_string
from edgeloop.ports import QueueUnavailable
from edgeloop.wire.packing import pack_items, unpack_message
from localdev.azurite import Azurite, free_port


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
