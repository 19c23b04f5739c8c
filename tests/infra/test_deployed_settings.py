"""Infra provides everything the code needs (test_consistency.py checks the other direction).

For each deployed workload (the cloud Function App per environment, the site's scoring and edge
functions pods), from what infra gives it alone:
- every ``%NAME%`` binding expression of its functions is an app setting (the host refuses to
  start a function whose expression does not resolve);
- every settings class its code builds validates: settings without a default are given, and
  the classes' own conditional rules hold (COSMOS_ENDPOINT with CLOUD_STORE=cosmos, the registry
  connection when delivery is on, ...);
- every connection resolves, with edgeloop.config.connections (which resolves like the host),
  for the service it is used with: each trigger's service, blob for each storage connection a
  class declares, and the trainer's queue (``retrain-requests`` is also run_retraining's trigger).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bicep_settings import BicepSettings
from code_settings import (
    EDGE_FUNCTION_SETTINGS_CLASSES,
    SCORING_SETTINGS_CLASSES,
    TRIGGER_SERVICES,
    binding_expressions,
    cloud_settings_classes,
    connections_of,
    only_environment,
    pod_env,
    required_names,
    settings_class,
    trigger,
)
from infra_helpers import Manifest, Parsed, container_env, find
from pydantic import ValidationError

from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import ConnectionSettingError, resolve_connection
from edgeloop.config.model_delivery import ModelDeliverySettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.config.scoring import ScoringSettings
from edgeloop.config.site_access import SiteCloudWrites

Functions = dict[str, list[dict[str, Any]]]


def missing_required(classes: list[type[EdgeloopSettings]], given: dict[str, str]) -> list[str]:
    provided = {name.upper() for name in given}
    return sorted(f"{cls.__name__}.{name}" for cls in classes for name in required_names(cls) - provided)


def build_each(classes: list[type[EdgeloopSettings]], where: str) -> list[EdgeloopSettings]:
    """Every class built from the environment only_environment() set up."""
    built = []
    for cls in classes:
        try:
            built.append(cls())
        except ValidationError as exc:
            pytest.fail(f"{where}: {cls.__name__} does not validate from what is deployed:\n{exc}")
    return built


def check_connections(
    settings: list[EdgeloopSettings], functions: Functions, given: dict[str, str], where: str
) -> int:
    """Resolve every connection as the code and the host would; returns how many were checked."""
    checked = 0
    for instance in settings:
        for name, method in connections_of(type(instance)).items():
            if name == "CloudStorage" and site_sas_given(instance):
                checked += (
                    1  # a site writes with its SAS instead (Secrets: their form is checked at start-up)
                )
                continue
            args: tuple[str, ...] = () if name == "ServiceBusConnection" else ("blob",)
            try:
                getattr(instance, method)(*args)
            except ConnectionSettingError as exc:
                pytest.fail(f"{where}: {type(instance).__name__} cannot resolve {name}: {exc}")
            checked += 1
    for function, bindings in functions.items():
        binding = trigger(bindings)
        if "connection" not in binding:
            continue
        service = TRIGGER_SERVICES[binding["type"]]
        try:
            resolve_connection(binding["connection"], given, service)
        except ConnectionSettingError as exc:
            pytest.fail(f"{where}: the host cannot start {function} ({binding['type']}): {exc}")
        checked += 1
    return checked


def site_sas_given(settings: EdgeloopSettings) -> bool:
    """Both of a site's create-only SAS settings (edgeloop.config.site_access) are given."""
    return isinstance(settings, SiteCloudWrites) and None not in (
        settings.compliant_storage,
        settings.anomalies_storage,
    )


def check_binding_expressions(functions: Functions, given: dict[str, str], where: str) -> None:
    for function, bindings in functions.items():
        missing = binding_expressions(bindings) - set(given)
        assert not missing, f"{where}: {function} names %{sorted(missing)}% and no app setting has it"


# --- the cloud --------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_cloud_app_gets_every_setting_the_cloud_role_needs(
    bicep: dict[str, Parsed],
    cloud_functions: Functions,
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    where = f"main.bicep ({environment})"
    raw = bicep["main.bicep"]["variables"]["appSettings"]["value"]
    given = BicepSettings(bicep, environment).app_settings(raw)
    check_binding_expressions(cloud_functions, given, where)
    classes = cloud_settings_classes()
    assert {cls.__name__ for cls in classes} >= {"CloudSettings", "PowerBISettings", "RetrainingSettings"}
    assert not missing_required(classes, given), f"{where}: {missing_required(classes, given)}"
    only_environment(given, monkeypatch, tmp_path)
    settings = build_each(classes, where)
    assert check_connections(settings, cloud_functions, given, where) >= len(classes)
    # The retraining timer hands runs to the worker through the queue retrain-requests.
    (retraining,) = [s for s in settings if isinstance(s, RetrainingSettings)]
    if retraining.trainer == "local":
        retraining.resolve_cloud_storage("queue")


def test_retrain_schedule_is_a_six_field_ncrontab(bicep: dict[str, Parsed]) -> None:
    raw = bicep["main.bicep"]["variables"]["appSettings"]["value"]
    for environment in ("dev", "prod"):
        schedule = BicepSettings(bicep, environment).app_settings(raw)["RETRAIN_SCHEDULE"]
        assert len(schedule.split()) == 6, (
            f"{environment}: {schedule!r} (seconds first, as the host reads it)"
        )


def test_the_evaluator_fails_on_what_it_does_not_know(bicep: dict[str, Parsed]) -> None:
    """Guard against a vacuous check: an unknown expression is an error, not a guess."""
    settings = BicepSettings(bicep, "dev")
    with pytest.raises(AssertionError, match="cannot evaluate"):
        settings.value("X", {"function": {"type": "uniqueString", "parameters": {}}})
    assert settings.value("X", "retrainSchedule") == "0 0 2 * * *"  # a parameter's default
    assert settings.value("X", "environmentName") == "dev"  # from dev.bicepparam


# --- a site -----------------------------------------------------------------------------------


def test_edge_functions_pod_gets_every_setting_the_edge_role_needs(
    site: list[Manifest], edge_functions: Functions, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    where = "edgeloop-functions Deployment"
    given = pod_env(site, "edgeloop-functions", "functions")
    allowed = [
        v["value"]
        for k, v in container_env(find(site, "Deployment", "edgeloop-functions")).items()
        if k.startswith("AzureFunctionsJobHost__functions__")
    ]
    running = {name: b for name, b in edge_functions.items() if not allowed or name in allowed}
    assert running, "the Deployment runs no edge function"
    check_binding_expressions(running, given, where)
    classes = [settings_class(name) for name in sorted(EDGE_FUNCTION_SETTINGS_CLASSES)]
    assert not missing_required(classes, given), f"{where}: {missing_required(classes, given)}"
    only_environment(given, monkeypatch, tmp_path)
    settings = build_each(classes, where)
    assert check_connections(settings, running, given, where) == 4  # 3 connections + the trigger


def test_scoring_pod_gets_every_setting_the_scoring_app_needs_and_delivery_is_on(
    site: list[Manifest], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    where = "edgeloop-scoring Deployment"
    given = pod_env(site, "edgeloop-scoring", "scoring")
    classes = [settings_class(name) for name in sorted(SCORING_SETTINGS_CLASSES)]
    assert not missing_required(classes, given), f"{where}: {missing_required(classes, given)}"
    only_environment(given, monkeypatch, tmp_path)
    settings = build_each(classes, where)
    check_connections(settings, {}, given, where)
    (scoring,) = [s for s in settings if isinstance(s, ScoringSettings)]
    scoring.resolve_edge_storage("queue")  # the outbox relay
    (delivery,) = [s for s in settings if isinstance(s, ModelDeliverySettings)]
    assert delivery.enabled, "model delivery is off: SCORING_MODEL_SIGNING_PUBLIC_KEY is not given"
    delivery.registry_connection()


def test_scoring_pod_writes_its_model_cache_to_a_persistent_volume(site: list[Manifest]) -> None:
    deployment = find(site, "Deployment", "edgeloop-scoring")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    cache = Path(container_env(deployment)["SCORING_MODEL_CACHE_DIR"]["value"])
    (mount,) = [m for m in container["volumeMounts"] if Path(m["mountPath"]) in (cache, *cache.parents)]
    assert not mount.get("readOnly", False), (
        "the root filesystem is read-only: the cache needs a writable volume"
    )
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    # Persistent, so a restart while the cloud is unreachable serves the last verified champion.
    claim = find(site, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_scoring_pod_may_reach_the_cloud_registry(site: list[Manifest]) -> None:
    """Delivery polls the cloud storage account over HTTPS: the NetworkPolicy must let it out."""
    policy = find(site, "NetworkPolicy", "edgeloop-scoring")["spec"]
    public = [
        rule
        for rule in policy["egress"]
        if {"protocol": "TCP", "port": 443} in rule["ports"]
        and any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in rule["to"])
    ]
    assert public, "no egress to public addresses on 443 for the scoring pod"
