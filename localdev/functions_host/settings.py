"""App settings as the Functions host sees them, and binding-expression resolution.

Precedence, like the host running locally: process environment first, then the
``Values`` of local.settings.json. ``%NAME%`` in a binding property is replaced by
the setting ``NAME``; a missing one is an error that names it and where it is used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edgeloop.config.base import read_local_settings_values

HOST_STORAGE = "AzureWebJobsStorage"
# The host's fallback: connection "X" may also be given as setting "AzureWebJobsX".
CONNECTION_PREFIX = "AzureWebJobs"
# What UseDevelopmentStorage=true means: the emulator's well-known public account and key.
DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
_EXPRESSION = re.compile(r"%([^%]+)%")


class MissingSettingError(LookupError):
    """A setting the app needs is neither in the environment nor in local.settings.json."""

    def __init__(self, name: str, where: str) -> None:
        super().__init__(
            f"app setting '{name}' (used by {where}) is not set: "
            "set it in the environment or in local.settings.json 'Values'"
        )
        self.name = name
        self.where = where


@dataclass(frozen=True)
class AppSettings:
    environ: Mapping[str, str]
    local_values: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, local_settings: Path | None, environ: Mapping[str, str] | None = None) -> AppSettings:
        return cls(
            environ=dict(os.environ if environ is None else environ),
            local_values=read_local_settings_values(local_settings),
        )

    def get(self, name: str) -> str | None:
        if name in self.environ:
            return self.environ[name]
        return self.local_values.get(name)

    def require(self, name: str, where: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise MissingSettingError(name, where)
        return value

    def resolve(self, value: str, where: str) -> str:
        """Replace every ``%NAME%`` in ``value`` by its setting."""
        return _EXPRESSION.sub(lambda match: self.require(match.group(1), where), value)

    def connection_string(self, connection: str | None, where: str) -> str:
        """The storage connection string a binding's ``connection`` names."""
        name = connection or HOST_STORAGE
        value = self.get(name) or self.get(CONNECTION_PREFIX + name)
        if not value:
            raise MissingSettingError(name, where)
        if value.replace(" ", "").lower() == "usedevelopmentstorage=true":
            return DEVELOPMENT_STORAGE
        return value

    def missing_from_environ(self) -> dict[str, str]:
        """local.settings.json values the environment lacks (the host exports them to the worker)."""
        return {k: v for k, v in self.local_values.items() if k not in self.environ}
