"""Load a Python v2-model function app and read its functions' bindings.

The app module is imported like the Python worker does: its directory first on
``sys.path``, imported as ``function_app``. Bindings come from the app itself
(``get_functions()`` / ``get_bindings_dict()``), with ``%NAME%`` expressions
resolved from the app settings.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from localdev.functions_host.settings import AppSettings

log = logging.getLogger(__name__)

QUEUE_TRIGGER = "queueTrigger"
TIMER_TRIGGER = "timerTrigger"
SERVICE_BUS_TRIGGER = "serviceBusTrigger"
HTTP_TRIGGER = "httpTrigger"
SUPPORTED_TRIGGERS = (QUEUE_TRIGGER, TIMER_TRIGGER, SERVICE_BUS_TRIGGER)
# Properties that are names, not values: never binding expressions.
_NOT_EXPRESSIONS = frozenset({"name", "type", "direction", "connection"})


class FunctionAppError(ValueError):
    """The app cannot be hosted locally; the message names the function and binding."""


@dataclass(frozen=True)
class FunctionSpec:
    """One function, its trigger binding (expressions resolved) and its Python callable."""

    name: str
    trigger: dict[str, Any]
    callable: Callable[..., Any]
    is_async: bool
    wants_context: bool

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])

    @property
    def arg_name(self) -> str:
        return str(self.trigger["name"])


def import_app_module(app_path: Path) -> ModuleType:
    """Import ``app_path`` as the module ``function_app`` (its directory importable)."""
    app_path = app_path.resolve()
    if not app_path.is_file():
        raise FunctionAppError(f"function app file not found: {app_path}")
    app_dir = str(app_path.parent)
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    spec = importlib.util.spec_from_file_location("function_app", app_path)
    if spec is None or spec.loader is None:
        raise FunctionAppError(f"cannot import {app_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module


def find_function_app(module: ModuleType) -> func.FunctionApp:
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionApp)]
    if len(apps) != 1:
        raise FunctionAppError(
            f"{module.__file__}: expected exactly one azure.functions.FunctionApp instance, found {len(apps)}"
        )
    return apps[0]


def resolve_binding(binding: dict[str, Any], settings: AppSettings, where: str) -> dict[str, Any]:
    return {
        key: settings.resolve(value, f"{where} '{key}'")
        if isinstance(value, str) and key not in _NOT_EXPRESSIONS
        else value
        for key, value in binding.items()
    }


def read_functions(app: func.FunctionApp, settings: AppSettings) -> list[FunctionSpec]:
    """Every function the local host runs; HTTP functions are left to uvicorn (logged)."""
    specs = []
    for function in app.get_functions():
        name = function.get_function_name() or function.get_user_function().__name__
        bindings: list[dict[str, Any]] = function.get_bindings_dict()["bindings"]
        trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), None)
        if trigger is None:
            raise FunctionAppError(f"function '{name}': no trigger binding")
        if trigger["type"] == HTTP_TRIGGER:
            log.info("function '%s': HTTP trigger, not served by the local host (uvicorn serves HTTP)", name)
            continue
        if trigger["type"] not in SUPPORTED_TRIGGERS:
            raise FunctionAppError(
                f"function '{name}': trigger type '{trigger['type']}' is not supported locally"
            )
        for other in bindings:
            if other is not trigger:
                raise FunctionAppError(
                    f"function '{name}': binding '{other.get('name')}' of type '{other.get('type')}' "
                    "is not supported locally (use adapters from the composition root instead)"
                )
        many = str(trigger.get("cardinality", "one")).lower() == "many"
        if trigger["type"] == SERVICE_BUS_TRIGGER and many:
            raise FunctionAppError(
                f"function '{name}': Service Bus cardinality 'many' is not supported locally"
            )
        where = f"function '{name}', binding property"
        specs.append(_spec(name, function.get_user_function(), resolve_binding(trigger, settings, where)))
    return specs


def _spec(name: str, user_function: Callable[..., Any], trigger: dict[str, Any]) -> FunctionSpec:
    parameters = inspect.signature(user_function).parameters
    trigger_arg = str(trigger["name"])
    if trigger_arg not in parameters:
        raise FunctionAppError(f"function '{name}': no parameter named '{trigger_arg}' for its trigger")
    extra = [p for p in parameters if p not in (trigger_arg, "context")]
    if extra:
        raise FunctionAppError(
            f"function '{name}': parameters {extra} have no binding the local host supports"
        )
    return FunctionSpec(
        name=name,
        trigger=trigger,
        callable=user_function,
        is_async=inspect.iscoroutinefunction(user_function),
        wants_context="context" in parameters,
    )
