"""The code's side of the infra checks: which settings each workload's code reads and needs.

Sources of truth: the pydantic-settings classes in edgeloop/config/ (every environment name the
code reads, which ones have no default, the conditional requirements of their validators), the
connection mixins of edgeloop.config.connections, and function_app.py loaded per role as the
Functions host loads it (triggers, connections, ``%NAME%`` binding expressions).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra_helpers import INFRA, REPO_ROOT, Manifest, container_env, find

from edgeloop.config.base import LOCAL_SETTINGS_ENV, EdgeloopSettings
from edgeloop.config.connections import Service

# Settings classes per workload of a site; every other class belongs to the cloud role.
SCORING_SETTINGS_CLASSES = {"ScoringSettings", "ModelDeliverySettings", "FrameSettings", "CameraSettings"}
EDGE_FUNCTION_SETTINGS_CLASSES = {"EdgeFunctionSettings"}
EDGE_SETTINGS_CLASSES = SCORING_SETTINGS_CLASSES | EDGE_FUNCTION_SETTINGS_CLASSES
# The service each trigger type reads its connection for (edgeloop.config.connections.Service).
TRIGGER_SERVICES: dict[str, Service] = {
    "queueTrigger": "queue",
    "blobTrigger": "blob",
    "serviceBusTrigger": "servicebus",
}


def settings_classes() -> list[type[EdgeloopSettings]]:
    classes = []
    for path in sorted((REPO_ROOT / "edgeloop" / "config").glob("*.py")):
        if path.stem in {"__init__", "base"}:
            continue
        module = importlib.import_module(f"edgeloop.config.{path.stem}")
        classes += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, EdgeloopSettings) and cls.__module__ == module.__name__
        ]
    assert classes, "no settings classes found in edgeloop/config"
    return classes


def settings_class(name: str) -> type[EdgeloopSettings]:
    (found,) = [cls for cls in settings_classes() if cls.__name__ == name]
    return found


def cloud_settings_classes() -> list[type[EdgeloopSettings]]:
    return [cls for cls in settings_classes() if cls.__name__ not in EDGE_SETTINGS_CLASSES]


def env_name(cls: type[EdgeloopSettings], field_name: str) -> str:
    """The environment name of a field, upper-cased (pydantic-settings matches case-insensitively)."""
    field = cls.model_fields[field_name]
    return (field.alias or str(cls.model_config.get("env_prefix", "")) + field_name).upper()


def env_names(cls: type[EdgeloopSettings]) -> set[str]:
    return {env_name(cls, name) for name in cls.model_fields}


def required_names(cls: type[EdgeloopSettings]) -> set[str]:
    """Settings without a default: the class cannot be built without them."""
    return {env_name(cls, name) for name, field in cls.model_fields.items() if field.is_required()}


def settings_by_class() -> dict[str, set[str]]:
    return {cls.__name__: env_names(cls) for cls in settings_classes()}


def read_by_code(name: str, classes: dict[str, set[str]], *only: str) -> bool:
    return any(name.upper() in names for cls, names in classes.items() if not only or cls in only)


def connections_of(cls: type[EdgeloopSettings]) -> dict[str, str]:
    """Connection name -> the resolve method its mixin gives the class (edgeloop.config.connections)."""
    methods = {
        "EdgeStorage": "resolve_edge_storage",
        "CloudStorage": "resolve_cloud_storage",
        "ServiceBusConnection": "resolve_service_bus",
    }
    return {name: method for name, method in methods.items() if hasattr(cls, method)}


# --- function_app.py, per role ------------------------------------------------------------------


def function_app(role: str) -> dict[str, list[dict[str, Any]]]:
    env = {**os.environ, "EDGELOOP_ROLE": role}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("functions_dump.py")), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, f"function_app.py does not load for role {role}:\n{result.stderr[-3000:]}"
    functions: dict[str, list[dict[str, Any]]] = json.loads(result.stdout)
    return functions


def trigger(bindings: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [b for b in bindings if str(b["type"]).endswith("Trigger")]
    return found


def binding_expressions(bindings: list[dict[str, Any]]) -> set[str]:
    """The app settings a function's bindings name as ``%NAME%`` (the host resolves them at start)."""
    names: set[str] = set()
    for binding in bindings:
        for value in binding.values():
            if isinstance(value, str):
                names.update(re.findall(r"%(\w+)%", value))
    return names


# --- what a container gets: the image's ENV, then the pod's env ----------------------------------


def image_env(image: str) -> dict[str, str]:
    """ENV of infra/docker/<image>.Dockerfile (values with build arguments left out)."""
    text = (INFRA / "docker" / f"{image}.Dockerfile").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", text, re.M):
        found.update(re.findall(r"(\w+)=(\S+)", block))
    assert found, f"{image}.Dockerfile sets no ENV"
    return {name: value for name, value in found.items() if "$" not in value}


def pod_env(site: list[Manifest], deployment: str, image: str) -> dict[str, str]:
    """The container's environment as it starts: literal values and ConfigMap values as written,
    a placeholder for each Secret reference (its value is created out of band)."""
    config = find(site, "ConfigMap", "edgeloop-settings")["data"]
    env = image_env(image)
    for name, entry in container_env(find(site, "Deployment", deployment)).items():
        if "value" in entry:
            env[name] = str(entry["value"])
            continue
        source = entry["valueFrom"]
        if "configMapKeyRef" in source:
            env[name] = config[source["configMapKeyRef"]["key"]]
        else:
            ref = source["secretKeyRef"]
            env[name] = f"<secret {ref['name']}/{ref['key']}>"
    return env


def only_environment(values: Mapping[str, str], monkeypatch: Any, tmp: Path) -> None:
    """Make ``values`` the whole environment the settings classes see (no local.settings.json,
    nothing of the test's own shell that any class reads)."""
    read = {name for cls in settings_classes() for name in env_names(cls)}
    for name in list(os.environ):
        if name.upper() in read:
            monkeypatch.delenv(name)
    monkeypatch.setenv(LOCAL_SETTINGS_ENV, str(tmp / "absent-local.settings.json"))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
