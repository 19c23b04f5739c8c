"""How the Azure SDK clients talk to the services: settings shared by every component.

* ``STORAGE_API_VERSION``: the Storage REST version (``x-ms-version``) every blob and queue
  client sends, the SDK clients and the plain-POST sender alike. Unset: the SDK's default.
  Azure Stack Hub accepts only older versions than the SDK defaults to (its docs list them
  per update), so a site there sets the newest one its stamp supports, e.g. ``2019-07-07``.
* ``SERVICEBUS_TRANSPORT``: ``amqp`` (port 5671, the default) or ``websockets`` (AMQP over
  WebSockets, port 443), for plants whose firewall or proxy lets only HTTPS out.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from edgeloop.config.base import EdgeloopSettings

ServiceBusTransport = Literal["amqp", "websockets"]
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


class AzureSdkOptions(BaseModel):
    """Mixed into the settings classes whose roots build Storage or Service Bus clients."""

    storage_api_version: str | None = Field(default=None, alias="STORAGE_API_VERSION")
    servicebus_transport: ServiceBusTransport = Field(default="amqp", alias="SERVICEBUS_TRANSPORT")

    @field_validator("storage_api_version")
    @classmethod
    def _looks_like_a_version(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None  # an empty app setting means "not set", as the host treats it
        if value is not None and not _API_VERSION.fullmatch(value.strip()):
            raise ValueError(f"STORAGE_API_VERSION must be a date like 2019-07-07, got {value!r}")
        return None if value is None else value.strip()


class AzureSdkSettings(AzureSdkOptions, EdgeloopSettings):
    """The options alone, for a root that builds clients for several settings classes."""
