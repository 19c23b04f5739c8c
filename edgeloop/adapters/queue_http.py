"""Put Message on a Storage Queue as one plain HTTP POST (urllib3), signed by a SAS the SDK makes.

Why not the SDK's ``send_message``: its request pipeline (azure-core policies, requests,
the reply's XML model) costs several times this POST's CPU per message, whatever the
message's size, and a site's relay shares its cores with scoring. This is the documented
REST call (``POST {queue}/messages``, body ``<QueueMessage><MessageText>base64</MessageText>
</QueueMessage>``), the format the SDK's ``BinaryBase64EncodePolicy`` writes and the
Functions host reads. Signing stays with the SDK (``generate_queue_sas``, add permission
only), and so does everything else: creating the queue, identity-based connections.

The door: :func:`plain_poster` gives a :class:`QueuePoster` (``post``, ``close``) for a
client that signs with an account key. Its plain reference, the SDK's ``send_message``,
is tests/support/queue_reference.py; tests/integration/test_storage_queue_sender.py
checks that both put the same messages on a real queue.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

import certifi
import urllib3
from azure.core.exceptions import HttpResponseError
from azure.storage.queue import QueueClient, QueueSasPermissions, generate_queue_sas

from edgeloop.ports import QueueUnavailable

# A token lives an hour and is replaced when less than a quarter of it is left; it starts
# a little in the past, so a clock behind the service's by minutes does not void it.
SAS_LIFETIME = timedelta(hours=1)
SAS_RENEW_BEFORE = timedelta(minutes=15)
SAS_CLOCK_SKEW = timedelta(minutes=5)
RETRYABLE_STATUS = frozenset({408, 429})  # besides 5xx: the service asks to come back later
_SIGNATURE = re.compile(r"sig=[^&\s'\")]+")
_ENVELOPE_HEAD = b"<?xml version='1.0' encoding='utf-8'?>\n<QueueMessage><MessageText>"
_ENVELOPE_TAIL = b"</MessageText></QueueMessage>"


def _redacted(text: str) -> str:
    """``text`` with any SAS signature blanked out."""
    return _SIGNATURE.sub("sig=REDACTED", text)


class QueueMissing(Exception):
    """The queue does not exist (404 QueueNotFound)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AddOnlySas:
    """A SAS for adding messages to one queue, signed with the account key, renewed before it expires."""

    def __init__(
        self,
        account_name: str,
        account_key: str,
        queue_name: str,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sign = (account_name, account_key, queue_name)
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires = datetime.min.replace(tzinfo=UTC)

    def token(self) -> str:
        now = self._clock()
        with self._lock:
            if self._expires - now < SAS_RENEW_BEFORE:
                account_name, account_key, queue_name = self._sign
                self._expires = now + SAS_LIFETIME
                self._token = generate_queue_sas(
                    account_name,
                    queue_name,
                    account_key,
                    permission=QueueSasPermissions(add=True),
                    start=now - SAS_CLOCK_SKEW,
                    expiry=self._expires,
                )
            return self._token


class QueuePoster:
    """POSTs messages to one queue over a pool of kept-alive connections (safe across threads)."""

    def __init__(
        self,
        queue_url: str,
        queue_name: str,
        api_version: str,
        sas: AddOnlySas,
        *,
        timeout: float,
        retries: int,
        proxy: str | None = None,
        connections: int = 8,
    ) -> None:
        self._messages_url = queue_url.rstrip("/") + "/messages?messagettl=-1&"
        self._name = queue_name
        self._headers = {"Content-Type": "application/xml", "x-ms-version": api_version}
        self._sas = sas
        http_timeout = urllib3.Timeout(connect=timeout, read=timeout)
        # A connection dropped or refused is tried again; replies are mapped in ``post``.
        http_retries = urllib3.Retry(total=retries, status=0, redirect=0, backoff_factor=0.5)
        manager = partial(urllib3.ProxyManager, proxy) if proxy else urllib3.PoolManager
        self._pool: urllib3.PoolManager = manager(
            maxsize=connections, timeout=http_timeout, retries=http_retries, ca_certs=certifi.where()
        )

    def post(self, body: bytes) -> None:
        """Put ``body`` (base64-encoded) on the queue, never to expire.

        Raises QueueMissing, QueueUnavailable (unreachable, refused credentials, 5xx, 408,
        429) or HttpResponseError for a message the queue will never take (400, 413).
        """
        envelope = _ENVELOPE_HEAD + base64.b64encode(body) + _ENVELOPE_TAIL
        try:
            reply = self._pool.request(
                "POST", self._messages_url + self._sas.token(), body=envelope, headers=self._headers
            )
        except urllib3.exceptions.HTTPError as error:
            # The reason alone, and not chained: urllib3 names the URL, whose SAS must reach
            # neither logs (a traceback shows the chain) nor /readyz.
            reason = error.reason if isinstance(error, urllib3.exceptions.MaxRetryError) else error
            raise QueueUnavailable(f"queue {self._name!r} unreachable: {_redacted(str(reason))}") from None
        if reply.status == 201:
            return
        code = reply.headers.get("x-ms-error-code", "")
        detail = f"{reply.status} {code}".strip()
        if reply.status == 404 and code == "QueueNotFound":
            raise QueueMissing(detail)
        if reply.status == 403:
            # Credentials can be fixed or rotated while the backlog waits on site.
            raise QueueUnavailable(f"queue {self._name!r} refused our credentials: {detail}")
        if reply.status >= 500 or reply.status in RETRYABLE_STATUS:
            raise QueueUnavailable(f"queue {self._name!r} answered {detail}")
        raise HttpResponseError(message=f"queue {self._name!r} refused the message: {detail}")

    def close(self) -> None:
        self._pool.clear()


def plain_poster(
    client: QueueClient, *, timeout: float, retries: int, proxies: dict[str, str] | None = None
) -> QueuePoster | None:
    """A poster to ``client``'s queue when the client signs with an account key, else None.

    ``proxies``: by URL scheme, as the client's calls get them (None: connect directly).
    """
    credential = client.credential
    account_key = getattr(credential, "account_key", None)
    account_name = getattr(credential, "account_name", None)
    if not (isinstance(account_key, str) and isinstance(account_name, str)):
        return None
    proxy = (proxies or {}).get(urlsplit(client.url).scheme)
    sas = AddOnlySas(account_name, account_key, client.queue_name)
    return QueuePoster(
        client.url, client.queue_name, client.api_version, sas, timeout=timeout, retries=retries, proxy=proxy
    )
