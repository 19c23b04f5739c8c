"""QueueSender on an Azure Storage Queue (Azurite locally).

Bodies are sent base64-encoded (``BinaryBase64EncodePolicy``), the format the
Functions host's queue trigger decodes into bytes. With an account key (a connection
string) messages go as one plain POST each, signed by an add-only SAS
(edgeloop.adapters.queue_http: less CPU per message than the SDK); identity-based
connections send through the SDK. Retries are kept short: the relay backs off by
itself, and an outage must not hold a thread for minutes. Outages surface as
:class:`edgeloop.ports.QueueUnavailable`.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from urllib.parse import urlsplit

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, LinearRetry
from pydantic import SecretStr

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.queue_http import RETRYABLE_STATUS, QueueMissing, plain_poster
from edgeloop.config.connections import Connection, ConnectionString
from edgeloop.ports import QueueUnavailable

DEFAULT_TIMEOUT = 10.0
# Never expire: a message must wait out a cloud outage of any length, not vanish after
# the service's default time-to-live of 7 days.
NO_EXPIRY = -1


def environment_proxies(url: str) -> dict[str, str] | None:
    """The proxies HTTP(S)_PROXY / NO_PROXY give for ``url`` (None: connect directly)."""
    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    proxies = {
        scheme: address
        for scheme, address in urllib.request.getproxies().items()
        if scheme in ("http", "https")
    }
    return proxies or None


class StorageQueueSender:
    """``connection``: a connection string, or a resolved connection of either form
    (edgeloop.config.connections); ``clients`` shares the root's credentials."""

    def __init__(
        self,
        connection: str | Connection,
        queue_name: str,
        *,
        create_queue: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 1,
        clients: AzureClients | None = None,
    ) -> None:
        self.queue_name = queue_name
        if isinstance(connection, str):
            connection = ConnectionString("queue", SecretStr(connection))
        self._client = (clients or AzureClients()).queue(
            connection,
            queue_name,
            message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy(),
            retry_policy=LinearRetry(backoff=1, retry_total=retries, random_jitter_range=0),
            # requests would read the proxy settings from the environment on every call (a
            # noticeable share of a send's CPU); they are read once here (environment_proxies).
            transport=RequestsTransport(
                use_env_settings=False, connection_timeout=timeout, read_timeout=timeout
            ),
        )
        self._proxies = environment_proxies(self._client.url)
        self._poster = plain_poster(self._client, timeout=timeout, retries=retries, proxies=self._proxies)
        self._create_queue = create_queue
        self._queue_ready = not create_queue
        self._lock = threading.Lock()

    @property
    def plain_http(self) -> bool:
        """Whether messages go as plain POSTs signed by a SAS (account key), not through the SDK."""
        return self._poster is not None

    def send(self, body: bytes) -> None:
        """Put one message on the queue; raises QueueUnavailable if it cannot be taken now."""
        with self._as_outages():
            self._ensure_queue()
            if self._poster is not None:
                self._send_or_recreate(partial(self._poster.post, body), QueueMissing)
            else:
                send = partial(self._client.send_message, body, time_to_live=NO_EXPIRY, proxies=self._proxies)
                self._send_or_recreate(send, ResourceNotFoundError)

    def _send_or_recreate(self, send: Callable[[], object], missing: type[Exception]) -> None:
        """``send``; if the queue is ``missing`` (deleted behind our back), create it again, once."""
        try:
            send()
        except missing:
            if not self._create_queue:
                raise
            self._queue_ready = False
            self._ensure_queue()
            send()

    @contextlib.contextmanager
    def _as_outages(self) -> Iterator[None]:
        """Errors of either path as outages (QueueUnavailable), or as they are for a bug."""
        try:
            yield
        except (ServiceRequestError, ServiceResponseError) as error:
            raise QueueUnavailable(f"queue {self.queue_name!r} unreachable: {error}") from error
        except ClientAuthenticationError as error:
            # Credentials can be fixed or rotated while the backlog waits on site.
            raise QueueUnavailable(f"queue {self.queue_name!r} refused our credentials: {error}") from error
        except (ResourceNotFoundError, QueueMissing) as error:
            raise QueueUnavailable(f"queue {self.queue_name!r} does not exist") from error
        except HttpResponseError as error:
            status = error.status_code or 0
            if status >= 500 or status in RETRYABLE_STATUS:
                raise QueueUnavailable(
                    f"queue {self.queue_name!r} answered {status}: {error.message}"
                ) from error
            raise  # a message the queue will never take (400, 413): a bug, not an outage

    def _ensure_queue(self) -> None:
        if self._queue_ready:
            return
        with self._lock:
            if self._queue_ready:
                return
            # Already there: created by another worker or by the infrastructure.
            with contextlib.suppress(ResourceExistsError):
                self._client.create_queue(proxies=self._proxies)
            self._queue_ready = True

    def close(self) -> None:
        if self._poster is not None:
            self._poster.close()
        self._client.close()

    def __enter__(self) -> StorageQueueSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
