"""The monitoring component (infra/k8s/components/monitoring) and the Grafana dashboard.

The ServiceMonitor and PrometheusRule validate against strict schemas of their CRDs
(tests/schemas/prometheus-operator), the rules pass ``promtool check rules`` and the unit tests
in alerts.test.yaml (``promtool test rules``), and every metric an alert or a panel queries is
one the scoring app's ``/metrics`` really exposes (a real app on the demo model; the model
delivery figures from the real collector over a stand-in delivery, since a real one needs a
registry).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient
from infra_helpers import INFRA, K8S, REPO_ROOT, Manifest, find, kustomize_build
from prometheus_client.parser import text_string_to_metric_families
from support.bundles import demo_bundle
from test_kubernetes_manifests import KUBERNETES_VERSION

from edgeloop.config.scoring import ScoringSettings
from scoring_app import create_app
from scoring_app.delivery_metrics import DeliveryCollector

COMPONENT = K8S / "components" / "monitoring"
SCHEMAS = REPO_ROOT / "tests" / "schemas" / "prometheus-operator"
DASHBOARD = INFRA / "grafana" / "edgeloop-site.json"
ALERT_TESTS = Path(__file__).with_name("alerts.test.yaml")
METRIC = re.compile(r"\bedgeloop_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def monitored_site(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """The example site with the component added, as an operator's overlay would."""
    overlay = tmp_path_factory.mktemp("monitored-site")
    example = K8S / "sites" / "example-site"
    shutil.copy(example / "namespace.yaml", overlay)
    spec = yaml.safe_load((example / "kustomization.yaml").read_text(encoding="utf-8"))
    # kustomize takes relative paths only.
    spec["resources"] = [
        os.path.relpath(K8S / "base", overlay) if r == "../../base" else r for r in spec["resources"]
    ]
    spec["components"] = [os.path.relpath(COMPONENT, overlay)]
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return kustomize_build(overlay)


def validator(kind: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / f"{kind.lower()}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def validate(manifest: Manifest) -> None:
    if manifest["apiVersion"].startswith("monitoring.coreos.com/"):
        validator(manifest["kind"]).validate(manifest)
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_component_validates_and_lands_in_the_site_namespace(monitored_site: list[Manifest]) -> None:
    added = [m for m in monitored_site if m["apiVersion"].startswith("monitoring.coreos.com/")]
    assert sorted(m["kind"] for m in added) == ["PrometheusRule", "ServiceMonitor"]
    for manifest in [*added, find(monitored_site, "NetworkPolicy", "edgeloop-scoring-prometheus")]:
        validate(manifest)
        assert manifest["metadata"]["namespace"] == "edgeloop-example-site"


def test_the_schemas_reject_a_misspelled_field_and_a_bad_duration(monitored_site: list[Manifest]) -> None:
    monitor = copy.deepcopy(find(monitored_site, "ServiceMonitor", "edgeloop-scoring"))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor)
    rule = copy.deepcopy(find(monitored_site, "PrometheusRule", "edgeloop-site"))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    with pytest.raises(jsonschema.ValidationError):
        validate(rule)


def test_the_service_monitor_scrapes_the_scoring_service_port(monitored_site: list[Manifest]) -> None:
    monitor = find(monitored_site, "ServiceMonitor", "edgeloop-scoring")
    service = find(monitored_site, "Service", "edgeloop-scoring")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}
    # The site label the overlay stamps becomes a target label.
    assert "edgeloop.io/site" in service["metadata"]["labels"]
    assert monitor["spec"]["targetLabels"] == ["edgeloop.io/site"]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run `make system-tools` (Debian package prometheus)")
    return path


def run_promtool(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=directory, capture_output=True, text=True, timeout=120, check=False
    )


def write_rules(directory: Path, groups: list[dict[str, Any]]) -> None:
    (directory / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    shutil.copy(ALERT_TESTS, directory / ALERT_TESTS.name)


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load((COMPONENT / "prometheusrule.yaml").read_text())["spec"][
        "groups"
    ]
    return groups


def test_promtool_checks_the_rules_and_their_unit_tests_pass(tmp_path: Path) -> None:
    write_rules(tmp_path, rule_groups())
    checked = run_promtool(tmp_path, "check", "rules", "rules.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run_promtool(tmp_path, "test", "rules", ALERT_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_alert_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    groups = rule_groups()
    (age,) = [r for r in groups[0]["rules"] if r["alert"] == "EdgeloopOutboxOldestPending"]
    age["expr"] = age["expr"].replace("> 900", "> 1800")
    write_rules(tmp_path, groups)
    assert run_promtool(tmp_path, "test", "rules", ALERT_TESTS.name).returncode != 0


@pytest.fixture(scope="module")
def exposed_metrics(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Sample names a real scoring app's /metrics exposes, and the model delivery collector's."""
    work = tmp_path_factory.mktemp("scoring")
    settings = ScoringSettings(
        model_dir=demo_bundle(work / "bundle"),
        outbox_path=work / "outbox.sqlite3",
        api_key="k" * 32,
        api_key_file=work / "api-key",
        relay_enabled=False,
        site_id="site-test",
    )
    with TestClient(create_app(settings)) as client:
        # An anomalous row, so the labelled anomaly counter has a sample.
        row = {"type": "L", "air_temperature_k": 298.1, "process_temperature_k": 308.6}
        row |= {"rotational_speed_rpm": 1300, "torque_nm": 72.8, "tool_wear_min": 240, "product_id": "L1"}
        scored = client.post("/api/v1/score", json={"rows": [row]}, headers={"X-API-Key": "k" * 32})
        assert scored.json()["results"][0]["anomaly"] is True, scored.text
        text = client.get("/metrics").text
    names = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    stats = SimpleNamespace(
        polls=0,
        poll_errors=0,
        swaps=0,
        rejections=0,
        rollbacks_auto=0,
        rollbacks_admin=0,
        registry_reachable=True,
    )
    # A stand-in for ModelDelivery's read side (a real one needs a registry to poll): the collector
    # only reads these.
    delivery_view = SimpleNamespace(
        stats=stats,
        serving_version="1.0.0",
        pointer_refusals=lambda: {"stale": 0},
        rollout_refusals=lambda: {"stale": 0},
    )
    delivery = DeliveryCollector(delivery_view)  # type: ignore[arg-type]
    names |= {s.name for family in delivery.collect() for s in family.samples}
    return names


def test_every_metric_an_alert_queries_is_exposed(exposed_metrics: set[str]) -> None:
    queried = {name for rule in rule_groups()[0]["rules"] for name in METRIC.findall(rule["expr"])}
    assert "edgeloop_outbox_oldest_pending_age_seconds" in queried
    assert queried <= exposed_metrics, sorted(queried - exposed_metrics)


def test_every_metric_a_dashboard_panel_queries_is_exposed(exposed_metrics: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 6
    for panel in dashboard["panels"]:
        queried = {name for target in panel["targets"] for name in METRIC.findall(target["expr"])}
        assert queried, panel["title"]
        assert queried <= exposed_metrics, (panel["title"], sorted(queried - exposed_metrics))
