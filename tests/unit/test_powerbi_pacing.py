"""Pacing and token plumbing of the Power BI client: token bucket, Retry-After, msal client credentials."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import msal
import pytest

from edgeloop.adapters.powerbi_client import (
    POWERBI_SCOPE,
    MsalTokenProvider,
    PowerBIAuthError,
    StaticTokenProvider,
    retry_after_seconds,
)
from edgeloop.domain.records import utc_now
from edgeloop.domain.token_bucket import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_admits_the_burst_then_paces_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)  # queued behind the previous reservation
    clock.now = 10.0
    assert bucket.reserve() == 0.0  # refilled, capped at capacity


def test_bucket_never_admits_more_than_burst_plus_rate_times_window() -> None:
    # Simulate callers that sleep as told: count admissions in every 60 s window.
    clock = Clock()
    bucket = TokenBucket(rate=100 / 60, capacity=10, clock=clock)
    admitted: list[float] = []
    for _ in range(400):
        clock.now += bucket.reserve()
        admitted.append(clock.now)
    busiest = max(sum(1 for t in admitted if start <= t < start + 60) for start in admitted)
    assert busiest <= 10 + 100  # the service allows 120
    assert busiest >= 100


def test_bucket_reserves_many_tokens_at_once_and_refuses_more_than_capacity() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1000.0, capacity=10_000, clock=clock)
    assert bucket.reserve(10_000) == 0.0
    assert bucket.reserve(5_000) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="cannot reserve"):
        bucket.reserve(10_001)


def test_drain_empties_the_bucket() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1.0, capacity=5, clock=clock)
    bucket.drain()
    assert bucket.reserve() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("12", 12.0), ("0.5", 0.5), ("-3", 0.0), (None, None), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    header = format_datetime(utc_now() + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds(header)
    assert seconds is not None
    assert 25 <= seconds <= 30


class IdentityPlatform:
    """Stands in for Microsoft Entra ID (none here): msal's injectable ``http_client``.

    Answers the OpenID discovery document and the client-credentials token request,
    recording what msal sent.
    """

    def __init__(self, token_answer: dict[str, Any]) -> None:
        self.token_answer = token_answer
        self.token_requests: list[dict[str, Any]] = []

    class Response:
        def __init__(self, status: int, body: dict[str, Any]) -> None:
            import json

            self.status_code = status
            self.text = json.dumps(body)
            self.headers: dict[str, str] = {}

        def raise_for_status(self) -> None:
            if self.status_code >= 400:
                raise RuntimeError(self.status_code)

    def get(self, url: str, **kwargs: Any) -> Response:
        tenant = url.split("/")[3]
        base = f"https://login.example.test/{tenant}"
        return self.Response(200, {
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "issuer": f"{base}/v2.0",
        })  # fmt: skip

    def post(self, url: str, data: Any = None, **kwargs: Any) -> Response:
        self.token_requests.append({"url": url, **dict(data or {})})
        return self.Response(200 if "access_token" in self.token_answer else 401, self.token_answer)

    def close(self) -> None:
        pass


def msal_provider(platform: IdentityPlatform) -> MsalTokenProvider:
    return MsalTokenProvider.for_service_principal(
        "tenant-1", "client-1", "not-a-real-secret", "https://login.example.test",
        http_client=platform, instance_discovery=False, validate_authority=False,
    )  # fmt: skip


def test_msal_provider_asks_for_the_power_bi_scope_and_caches_the_token() -> None:
    platform = IdentityPlatform({"access_token": "t-1", "token_type": "Bearer", "expires_in": 3600})
    provider = msal_provider(platform)
    assert provider.token() == "t-1"
    assert provider.token() == "t-1"
    assert len(platform.token_requests) == 1  # the second came from msal's cache
    request = platform.token_requests[0]
    assert request["url"] == "https://login.example.test/tenant-1/oauth2/v2.0/token"
    assert request["grant_type"] == "client_credentials"
    assert request["scope"].split() == [POWERBI_SCOPE]
    assert request["client_id"] == "client-1"


def test_msal_failure_is_an_auth_error_with_the_reason() -> None:
    platform = IdentityPlatform({"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"})
    with pytest.raises(PowerBIAuthError, match="invalid_client: AADSTS7000215"):
        msal_provider(platform).token()


def test_static_token_refuses_an_empty_token() -> None:
    assert StaticTokenProvider("abc").token() == "abc"
    with pytest.raises(ValueError, match="empty"):
        StaticTokenProvider("")


def test_msal_is_the_real_library() -> None:
    assert isinstance(msal_provider(IdentityPlatform({}))._app, msal.ConfidentialClientApplication)
