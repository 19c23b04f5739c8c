"""One set of names across the parts: what infra/ configures must be what the code reads.

Sources of truth: host.json (queue batching, function timeout), function_app.py (loaded per
role, as the Functions host loads it: function names, triggers, connections), and the
pydantic-settings classes in edgeloop/config/ (every environment name the code reads)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from infra_helpers import INFRA, REPO_ROOT, Manifest, Parsed, container_env, find

from edgeloop.config.base import EdgeloopSettings

# Read by the Functions host or the platform, not by the application's settings classes.
HOST_SETTINGS = {
    "AzureWebJobsStorage",
    "AzureWebJobsScriptRoot",
    "FUNCTIONS_WORKER_RUNTIME",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
HOST_PREFIXES = ("AzureFunctionsJobHost__", "AzureWebJobsStorage__")
# Settings classes of the site's workloads; every other class belongs to the cloud role.
EDGE_SETTINGS_CLASSES = {"ScoringSettings", "EdgeFunctionSettings"}
# Build-time and runtime variables of Python, pip and ASP.NET in the images.
TOOL_PREFIXES = ("PIP_", "PYTHON", "ASPNETCORE_")
# Suffixes of identity-based connections (the host reads `<connection>__<suffix>`).
IDENTITY_SUFFIXES = (
    "fullyQualifiedNamespace",
    "blobServiceUri",
    "queueServiceUri",
    "accountName",
    "credential",
)


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


def env_names(cls: type[EdgeloopSettings]) -> set[str]:
    """Upper-cased environment names a settings class reads (pydantic-settings is case-insensitive)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {(field.alias or prefix + name).upper() for name, field in cls.model_fields.items()}


def settings_by_class() -> dict[str, set[str]]:
    return {cls.__name__: env_names(cls) for cls in settings_classes()}


def read_by_code(name: str, classes: dict[str, set[str]], *only: str) -> bool:
    return any(name.upper() in names for cls, names in classes.items() if not only or cls in only)


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


def host_json() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REPO_ROOT / "host.json").read_text(encoding="utf-8"))
    return document


def timespan_seconds(value: str) -> int:
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})", value)
    assert match, f"not a hh:mm:ss timespan: {value}"
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def resolve(value: str, env: dict[str, dict[str, Any]], config: dict[str, str]) -> str:
    """A binding expression like %INSIGHTS_QUEUE% resolved through the pod's env, as the host does."""
    match = re.fullmatch(r"%(\w+)%", value)
    if not match:
        return value
    assert match.group(1) in env, f"{value}: the host resolves it from an app setting the pod does not set"
    entry = env[match.group(1)]
    if "value" in entry:
        return str(entry["value"])
    return config[entry["valueFrom"]["configMapKeyRef"]["key"]]


@pytest.fixture(scope="module")
def edge_functions() -> dict[str, list[dict[str, Any]]]:
    return function_app("edge")


@pytest.fixture(scope="module")
def cloud_functions() -> dict[str, list[dict[str, Any]]]:
    return function_app("cloud")


def test_keda_target_is_what_one_functions_host_works_on(site: list[Manifest]) -> None:
    queues = host_json()["extensions"]["queues"]
    # Explicit in host.json: the KEDA target below is derived from them.
    batch, threshold = queues["batchSize"], queues["newBatchThreshold"]
    (trigger_spec,) = find(site, "ScaledObject", "edgeloop-functions")["spec"]["triggers"]
    assert int(trigger_spec["metadata"]["queueLength"]) == batch + threshold


def test_grace_period_covers_the_function_timeout(site: list[Manifest]) -> None:
    timeout = timespan_seconds(host_json()["functionTimeout"])
    pod = find(site, "Deployment", "edgeloop-functions")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= timeout + 15


def test_edge_deployment_runs_exactly_the_edge_queue_function(
    site: list[Manifest], edge_functions: dict[str, list[dict[str, Any]]]
) -> None:
    deployment = find(site, "Deployment", "edgeloop-functions")
    env = container_env(deployment)
    config = find(site, "ConfigMap", "edgeloop-settings")["data"]
    assert env["EDGELOOP_ROLE"]["value"] == "edge"
    allowed = env["AzureFunctionsJobHost__functions__0"]["value"]
    assert allowed in edge_functions, f"{allowed} is not an edge function: {sorted(edge_functions)}"
    binding = trigger(edge_functions[allowed])
    assert binding["type"] == "queueTrigger"
    # KEDA watches the queue the function reads, through the same storage connection.
    scaled = find(site, "ScaledObject", "edgeloop-functions")["spec"]["triggers"][0]["metadata"]
    assert resolve(binding["queueName"], env, config) == scaled["queueName"]
    assert binding["connection"] in env
    # No timer on the edge: KEDA cannot scale on a schedule.
    for name, bindings in edge_functions.items():
        assert trigger(bindings)["type"] != "timerTrigger", name


def test_insights_queue_name_agrees_everywhere(site: list[Manifest]) -> None:
    from edgeloop.config.edge_functions import EdgeFunctionSettings
    from edgeloop.config.scoring import ScoringSettings

    config = find(site, "ConfigMap", "edgeloop-settings")["data"]
    scaled = find(site, "ScaledObject", "edgeloop-functions")["spec"]["triggers"][0]["metadata"]
    readers = (ScoringSettings, EdgeFunctionSettings)
    defaults = {cls.__name__: cls.model_fields["insights_queue"].default for cls in readers}
    assert {config["INSIGHTS_QUEUE"], scaled["queueName"], *defaults.values()} == {"insights"}, defaults


def check_names_are_read(env: set[str], readers: set[str], classes: dict[str, set[str]], where: str) -> None:
    for name in env:
        if name in HOST_SETTINGS or name.startswith(HOST_PREFIXES):
            continue
        assert read_by_code(name, classes, *readers), f"{where}: {name} is read by none of {sorted(readers)}"


def test_every_pod_setting_is_read_by_the_code(site: list[Manifest]) -> None:
    classes = settings_by_class()
    scoring = set(container_env(find(site, "Deployment", "edgeloop-scoring")))
    check_names_are_read(scoring, {"ScoringSettings"}, classes, "scoring Deployment")
    functions = set(container_env(find(site, "Deployment", "edgeloop-functions")))
    function_app_text = (REPO_ROOT / "function_app.py").read_text(encoding="utf-8")
    assert '"EDGELOOP_ROLE"' in function_app_text, "function_app.py reads the role"
    functions.discard("EDGELOOP_ROLE")
    check_names_are_read(functions, {"EdgeFunctionSettings"}, classes, "functions Deployment")
    config = find(site, "ConfigMap", "edgeloop-settings")["data"]
    used = {
        entry["valueFrom"]["configMapKeyRef"]["key"]
        for deployment in (m for m in site if m["kind"] == "Deployment")
        for entry in container_env(deployment).values()
        if "configMapKeyRef" in entry.get("valueFrom", {})
    }
    assert set(config) == used, "every ConfigMap key is used, every used key exists"


@pytest.mark.parametrize(
    ("image", "reader"), [("scoring", "ScoringSettings"), ("functions", "EdgeFunctionSettings")]
)
def test_every_image_setting_is_read_by_the_code(image: str, reader: str) -> None:
    text = (INFRA / "docker" / f"{image}.Dockerfile").read_text(encoding="utf-8")
    names = set()
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", text, re.M):
        names.update(re.findall(r"(\w+)=", block))
    assert names
    app_names = {n for n in names if not n.startswith(TOOL_PREFIXES) and n not in {"PATH", "EDGELOOP_ROLE"}}
    check_names_are_read(app_names, {reader}, settings_by_class(), f"{image}.Dockerfile")


def test_cloud_app_settings_are_read_and_connections_provided(
    bicep: dict[str, Parsed], cloud_functions: dict[str, list[dict[str, Any]]]
) -> None:
    settings = bicep["main.bicep"]["variables"]["appSettings"]["value"]
    host_settings = bicep["modules/functionapp.bicep"]["variables"]["hostSettings"]["value"]
    assert settings["EDGELOOP_ROLE"] == "cloud"
    connections = {trigger(b).get("connection") for b in cloud_functions.values()} - {None}
    # The cloud role's code: every settings class but the edge ones (scoring app, edge functions).
    classes = {cls: names for cls, names in settings_by_class().items() if cls not in EDGE_SETTINGS_CLASSES}
    missing = []
    for name in {*settings, *host_settings}:
        if name in HOST_SETTINGS or name.startswith(HOST_PREFIXES) or name == "EDGELOOP_ROLE":
            continue
        connection, _, suffix = name.partition("__")
        host_only = connection in connections and not read_by_code(connection, classes)
        if suffix in IDENTITY_SUFFIXES and host_only:
            continue  # only the host reads this connection (a trigger), and it reads the identity form
        if not read_by_code(name, classes):
            missing.append(name)
    assert not missing, f"app settings in main.bicep that no settings class reads: {sorted(missing)}"
    for connection in connections:
        given = [n for n in settings if n == connection or n.startswith(connection + "__")]
        assert given, f"trigger connection {connection} has no app setting"


def test_topic_and_subscriptions_agree(
    bicep: dict[str, Parsed], cloud_functions: dict[str, list[dict[str, Any]]]
) -> None:
    from edgeloop.config.edge_functions import EdgeFunctionSettings

    params = bicep["main.bicep"]["modules"]["serviceBus"]["config"]["params"]
    triggers = [trigger(b) for b in cloud_functions.values() if trigger(b)["type"] == "serviceBusTrigger"]
    assert {t["topicName"] for t in triggers} == {params["topicName"]}
    assert sorted(t["subscriptionName"] for t in triggers) == sorted(params["subscriptionNames"])
    edge = EdgeFunctionSettings.model_fields
    assert edge["topic"].default == params["topicName"]
    assert sorted(edge["subscriptions"].default.split(",")) == sorted(params["subscriptionNames"])
