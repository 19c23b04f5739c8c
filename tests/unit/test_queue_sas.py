"""The plain-HTTP queue path: who gets it, what its add-only SAS allows, and that it is renewed in time."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from azure.storage.queue import QueueClient

from edgeloop.adapters.queue_http import SAS_LIFETIME, SAS_RENEW_BEFORE, AddOnlySas, QueuePoster, plain_poster

KEY = base64.b64encode(b"a key for tests only").decode()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_the_token_only_adds_messages_and_expires_within_its_lifetime() -> None:
    clock = Clock()
    fields = parse_qs(AddOnlySas("edge", KEY, "insights", clock).token())
    assert fields["sp"] == ["a"]  # add only: a leaked token cannot read or delete
    expiry = datetime.strptime(fields["se"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    start = datetime.strptime(fields["st"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert expiry == clock.now + SAS_LIFETIME
    assert start < clock.now  # a clock behind the service's does not void it


def test_the_token_is_kept_until_close_to_expiry_then_renewed() -> None:
    clock = Clock()
    sas = AddOnlySas("edge", KEY, "insights", clock)
    first = sas.token()
    clock.now += SAS_LIFETIME - SAS_RENEW_BEFORE - timedelta(seconds=1)
    assert sas.token() == first
    clock.now += timedelta(seconds=2)
    renewed = sas.token()
    assert renewed != first
    assert parse_qs(renewed)["se"] != parse_qs(first)["se"]


class UnusedTokenCredential:
    """An identity (token credential) that no test here ever asks for a token."""

    def get_token(self, *scopes: str, **options: Any) -> Any:
        raise AssertionError("no token wanted")


def test_only_a_client_signing_with_an_account_key_gets_the_plain_path() -> None:
    url = "https://edge.queue.core.windows.net"
    keyed = QueueClient(url, "insights", credential={"account_name": "edge", "account_key": KEY})
    identity = QueueClient(url, "insights", credential=UnusedTokenCredential())
    poster = plain_poster(keyed, timeout=1, retries=0)
    assert isinstance(poster, QueuePoster)
    poster.close()
    assert plain_poster(identity, timeout=1, retries=0) is None
    keyed.close()
    identity.close()
