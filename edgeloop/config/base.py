"""Settings plumbing shared by every component.

Precedence, highest first: constructor arguments, environment variables, the
``Values`` of ``local.settings.json`` (the Azure Functions format; path from
``EDGELOOP_LOCAL_SETTINGS``, default ``./local.settings.json``), field defaults.
Settings objects are built by the composition roots, never at import time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

LOCAL_SETTINGS_ENV = "EDGELOOP_LOCAL_SETTINGS"


def local_settings_path() -> Path:
    return Path(os.environ.get(LOCAL_SETTINGS_ENV, "local.settings.json"))


def read_local_settings_values(path: Path | None = None) -> dict[str, str]:
    """The ``Values`` of a local.settings.json file; an absent file gives ``{}``."""
    path = path or local_settings_path()
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    values = document.get("Values", {}) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: 'Values' must be an object")
    return {str(k): str(v) for k, v in values.items()}


class LocalSettingsSource(PydanticBaseSettingsSource):
    """Reads fields from local.settings.json ``Values``, matched like env vars."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        prefix = settings_cls.model_config.get("env_prefix", "")
        values = read_local_settings_values()
        self._values = {k.upper(): v for k, v in values.items()}
        self._prefix = prefix.upper()

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        names = [field.alias] if field.alias else [self._prefix + field_name]
        for name in names:
            if name and name.upper() in self._values:
                return self._values[name.upper()], field_name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


class EdgeloopSettings(BaseSettings):
    """Base class: environment first, then local.settings.json."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, LocalSettingsSource(settings_cls), file_secret_settings)
