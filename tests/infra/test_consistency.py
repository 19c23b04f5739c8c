"""One set of names across the parts: what infra/ configures must be what the code reads.

Sources of truth: host.json (queue batching, function timeout), function_app.py (loaded per
role, as the Functions host loads it: function names, triggers, connections), and the
pydantic-settings classes in edgeloop/config/ (every environment name the code reads).
The other direction, that infra provides everything the code needs, is
test_deployed_settings.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from code_settings import (
    EDGE_SETTINGS_CLASSES,
    SCORING_SETTINGS_CLASSES,
    read_by_code,
    settings_by_class,
    trigger,
)
from infra_helpers import INFRA, REPO_ROOT, Manifest, Parsed, container_env, find

# Read by the Functions host or the platform, not by the application's settings classes.
HOST_SETTINGS = {
    "AzureWebJobsStorage",
    "AzureWebJobsScriptRoot",
    "FUNCTIONS_WORKER_RUNTIME",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
HOST_PREFIXES = ("AzureFunctionsJobHost__", "AzureWebJobsStorage__")
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
    check_names_are_read(scoring, SCORING_SETTINGS_CLASSES, classes, "scoring Deployment")
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
    ("image", "readers"), [("scoring", SCORING_SETTINGS_CLASSES), ("functions", {"EdgeFunctionSettings"})]
)
def test_every_image_setting_is_read_by_the_code(image: str, readers: set[str]) -> None:
    text = (INFRA / "docker" / f"{image}.Dockerfile").read_text(encoding="utf-8")
    names = set()
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", text, re.M):
        names.update(re.findall(r"(\w+)=", block))
    assert names
    app_names = {n for n in names if not n.startswith(TOOL_PREFIXES) and n not in {"PATH", "EDGELOOP_ROLE"}}
    check_names_are_read(app_names, readers, settings_by_class(), f"{image}.Dockerfile")


def test_cloud_app_settings_are_read_and_connections_provided(
    bicep: dict[str, Parsed], cloud_functions: dict[str, list[dict[str, Any]]]
) -> None:
    settings = bicep["main.bicep"]["variables"]["appSettings"]["value"]
    host_settings = bicep["modules/functionapp.bicep"]["variables"]["hostSettings"]["value"]
    assert settings["EDGELOOP_ROLE"] == "cloud"
    connections: set[str] = {
        str(t["connection"]) for t in map(trigger, cloud_functions.values()) if "connection" in t
    }
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


def test_feedback_loop_names_agree(bicep: dict[str, Parsed]) -> None:
    """Registry container, compliant data and the retrain queue: what Bicep creates is what the
    cloud's retraining and the sites' delivery use by default."""
    from edgeloop.config.model_delivery import ModelDeliverySettings
    from edgeloop.config.retraining import RetrainingSettings
    from edgeloop.wire.messaging import RETRAIN_QUEUE

    params = bicep["main.bicep"]["modules"]["storage"]["config"]["params"]
    retraining = RetrainingSettings.model_fields
    assert retraining["models_container"].default == "models"
    assert ModelDeliverySettings.model_fields["model_registry_container"].default == "models"
    assert retraining["model_name"].default == ModelDeliverySettings.model_fields["model_name"].default
    assert {"models", retraining["compliant_container"].default} <= set(params["dataContainers"])
    assert params["dataQueues"] == [RETRAIN_QUEUE]
