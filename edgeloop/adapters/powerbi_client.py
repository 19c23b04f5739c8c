"""The Power BI REST API for push datasets (httpx), and the RowSink port on top of it.

Endpoints (learn.microsoft.com, "Push Datasets"), relative to ``api_base_url``
(``https://api.powerbi.com/v1.0/myorg``):

- POST ``/groups/{group}/datasets?defaultRetentionPolicy=basicFIFO``: create a push dataset
- GET ``/groups/{group}/datasets``: list (to find one by name)
- PUT ``/groups/{group}/datasets/{dataset}/tables/{table}``: replace a table's schema
- POST ``/groups/{group}/datasets/{dataset}/tables/{table}/rows`` ``{"rows": [...]}``: add rows

Limits honoured here: POST-rows calls are paced per dataset by two token buckets
(requests per minute, rows per hour); 429 is retried after ``Retry-After`` (and
drains the request bucket), 5xx and transport errors with exponential back-off
and jitter; any other 4xx is a :class:`PowerBIRequestError` carrying the
service's reason, never retried. A retried POST whose first attempt reached the
service (a timeout after the service took it) can add its rows twice; Power BI
has no idempotency key for rows, which is why every row carries its record id.

Tokens come from a :class:`TokenProvider`: msal client credentials in Azure, a
static token for the local stand-in server.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import msal

from edgeloop.domain.powerbi_schema import MAX_ROWS_PER_POST
from edgeloop.domain.records import utc_now
from edgeloop.domain.token_bucket import TokenBucket

logger = logging.getLogger(__name__)

POWERBI_SCOPE = "https://analysis.windows.net/powerbi/api/.default"


class PowerBIError(RuntimeError):
    """Base of everything this client raises."""


class PowerBIRequestError(PowerBIError):
    """The service refused the request (4xx other than 429); retrying would not help."""

    def __init__(self, method: str, path: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.reason = message


class PowerBIUnavailable(PowerBIError):
    """Throttled or failing longer than the retry budget; deliver again later."""


class PowerBIAuthError(PowerBIError):
    """No access token could be acquired."""


class TokenProvider(Protocol):
    def token(self) -> str:
        """A bearer token for the Power BI API, valid for at least a few minutes."""
        ...


class StaticTokenProvider:
    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("access token: empty")
        self._token = token

    def token(self) -> str:
        return self._token


class MsalTokenProvider:
    """Client credentials (a service principal) through msal; msal caches and renews the token."""

    def __init__(self, app: msal.ConfidentialClientApplication) -> None:
        self._app = app

    @classmethod
    def for_service_principal(
        cls, tenant_id: str, client_id: str, client_secret: str, authority_host: str, **msal_options: Any
    ) -> MsalTokenProvider:
        app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=client_secret,
            authority=f"{authority_host.rstrip('/')}/{tenant_id}",
            **msal_options,
        )
        return cls(app)

    def token(self) -> str:
        result = self._app.acquire_token_for_client(scopes=[POWERBI_SCOPE])
        if not isinstance(result, dict) or "access_token" not in result:
            detail = result or {}
            raise PowerBIAuthError(f"token: {detail.get('error')}: {detail.get('error_description')}")
        return str(result["access_token"])


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 120.0


@dataclass(frozen=True, slots=True)
class RateLimits:
    requests_per_minute: float = 100.0
    request_burst: int = 10
    rows_per_hour: int = 900_000


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utc_now()).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class _RetryableFailure:
    problem: str  # for the log and the final error
    delay: float  # seconds to wait before the next attempt


def _error_reason(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:500]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", "")), str(error.get("message", ""))[:2000]
    return "", response.text[:500]


class PowerBIClient:
    def __init__(
        self,
        base_url: str,
        group_id: str,
        tokens: TokenProvider,
        *,
        retry: RetryPolicy | None = None,
        limits: RateLimits | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._group = quote(group_id, safe="")
        self._tokens = tokens
        self._retry = retry or RetryPolicy()
        self._limits = limits or RateLimits()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        self._buckets_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _dataset_path(self, dataset_id: str) -> str:
        return f"/groups/{self._group}/datasets/{quote(dataset_id, safe='')}"

    def _buckets_for(self, dataset_id: str) -> tuple[TokenBucket, TokenBucket]:
        with self._buckets_lock:
            if dataset_id not in self._buckets:
                limits = self._limits
                requests = TokenBucket(limits.requests_per_minute / 60.0, limits.request_burst, self._clock)
                rows = TokenBucket(limits.rows_per_hour / 3600.0, MAX_ROWS_PER_POST, self._clock)
                self._buckets[dataset_id] = (requests, rows)
            return self._buckets[dataset_id]

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry.max_backoff_seconds, self._retry.backoff_seconds * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self._jitter() / 2)

    def _request(
        self, method: str, path: str, body: Any = None, *, params: Mapping[str, str] | None = None,
        paced: tuple[str, int] | None = None,
    ) -> httpx.Response:  # fmt: skip
        """Send with retries; ``paced`` = (dataset id, row count) for POST-rows pacing."""
        problem = ""
        for attempt in range(1, self._retry.max_attempts + 1):
            if paced is not None:
                self._pace(*paced)
            outcome = self._attempt(method, path, body, params, paced, attempt)
            if isinstance(outcome, httpx.Response):
                return outcome
            problem, delay = outcome.problem, outcome.delay
            if attempt == self._retry.max_attempts:
                break
            logger.warning(
                "%s %s attempt %d failed (%s); retrying in %.2fs", method, path, attempt, problem, delay
            )
            self._sleep(delay)
        raise PowerBIUnavailable(
            f"{method} {path}: gave up after {self._retry.max_attempts} attempts ({problem})"
        )

    def _pace(self, dataset_id: str, row_count: int) -> None:
        requests, rows = self._buckets_for(dataset_id)
        wait = max(requests.reserve(1), rows.reserve(row_count))
        if wait > 0:
            self._sleep(wait)

    def _attempt(
        self, method: str, path: str, body: Any, params: Mapping[str, str] | None,
        paced: tuple[str, int] | None, attempt: int,
    ) -> httpx.Response | _RetryableFailure:  # fmt: skip
        """One try: the response, or what failed and how long to wait; raises what retrying cannot fix."""
        headers = {"Authorization": f"Bearer {self._tokens.token()}"}
        try:
            response = self._http.request(method, path, json=body, params=params, headers=headers)
        except httpx.TransportError as exc:
            return _RetryableFailure(f"{type(exc).__name__}: {exc}", self._backoff(attempt))
        status = response.status_code
        if status < 300:
            return response
        code, message = _error_reason(response)
        if status != 429 and status < 500:
            raise PowerBIRequestError(method, path, status, code, message)
        problem = f"HTTP {status} {code}: {message}"
        if status == 429 and paced is not None:
            self._buckets_for(paced[0])[0].drain()
        hinted = retry_after_seconds(response.headers.get("Retry-After"))
        delay = hinted if hinted is not None else self._backoff(attempt)
        if delay > self._retry.max_retry_after_seconds:
            raise PowerBIUnavailable(f"{method} {path}: asked to wait {delay:.0f}s ({problem})")
        return _RetryableFailure(problem, delay)

    def post_rows(self, dataset_id: str, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if len(rows) > MAX_ROWS_PER_POST:
            raise ValueError(f"rows: {len(rows)} rows in one request, at most {MAX_ROWS_PER_POST}")
        path = f"{self._dataset_path(dataset_id)}/tables/{quote(table, safe='')}/rows"
        self._request("POST", path, {"rows": list(rows)}, paced=(dataset_id, len(rows)))

    def create_dataset(self, definition: Mapping[str, Any], retention: str = "basicFIFO") -> str:
        """Create a push dataset; returns its id."""
        response = self._request(
            "POST",
            f"/groups/{self._group}/datasets",
            definition,
            params={"defaultRetentionPolicy": retention},
        )
        dataset_id = response.json().get("id")
        if not isinstance(dataset_id, str):
            raise PowerBIError(f"create dataset: no id in the answer {response.text[:200]!r}")
        return dataset_id

    def find_dataset(self, name: str) -> str | None:
        """The id of the workspace's dataset called ``name`` (the first, if several), or None."""
        response = self._request("GET", f"/groups/{self._group}/datasets")
        for dataset in response.json().get("value", []):
            if isinstance(dataset, dict) and dataset.get("name") == name:
                return str(dataset["id"])
        return None

    def put_table(self, dataset_id: str, table: Mapping[str, Any]) -> None:
        """Replace a table's schema (its columns) in an existing push dataset."""
        name = str(table["name"])
        self._request("PUT", f"{self._dataset_path(dataset_id)}/tables/{quote(name, safe='')}", table)


class PowerBIPushSink:
    """The RowSink port on one push dataset."""

    def __init__(self, client: PowerBIClient, dataset_id: str) -> None:
        self._client = client
        self._dataset_id = dataset_id

    def push_rows(self, table: str, rows: Sequence[dict[str, object]]) -> None:
        self._client.post_rows(self._dataset_id, table, rows)
