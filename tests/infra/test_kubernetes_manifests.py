"""The site's Kubernetes manifests: they build, validate against the Kubernetes and KEDA
schemas, and carry the properties the design depends on (probes, security, volumes, scaling,
network isolation, secrets by reference only)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from infra_helpers import K8S, REPO_ROOT, Manifest, container_env, find

# The oldest Kubernetes minor the manifests must be valid for (AKS on Azure Stack Hub lags
# upstream); kubernetes-validate pins its schemas per version.
KUBERNETES_VERSION = "1.31.0"
KEDA_CRDS = REPO_ROOT / "tests" / "schemas" / "keda"
EXAMPLE_SECRETS = K8S / "examples" / "secrets.example.yaml"


def strict(schema: Any) -> Any:
    """A copy of a CRD schema that rejects unknown fields, as the API server's strict field
    validation (kubectl's default) does; open maps and preserve-unknown-fields stay open."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def keda_validator(kind: str) -> jsonschema.Draft7Validator:
    plural = {"ScaledObject": "scaledobjects", "TriggerAuthentication": "triggerauthentications"}[kind]
    crd = yaml.safe_load((KEDA_CRDS / f"keda.sh_{plural}.yaml").read_text(encoding="utf-8"))
    assert crd["spec"]["names"]["kind"] == kind
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return jsonschema.Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))


def validate_object(manifest: Manifest) -> None:
    if manifest["apiVersion"].startswith("keda.sh/"):
        assert manifest["apiVersion"] == "keda.sh/v1alpha1"
        keda_validator(manifest["kind"]).validate(manifest)
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("build", ["base", "example-site"])
def test_every_object_validates_against_its_schema(rendered: dict[str, list[Manifest]], build: str) -> None:
    manifests = rendered[build]
    kinds = sorted(m["kind"] for m in manifests)
    assert {"Deployment", "ScaledObject", "TriggerAuthentication", "NetworkPolicy"} <= set(kinds)
    for manifest in manifests:
        validate_object(manifest)


def test_the_validators_reject_a_misspelled_field(site: list[Manifest]) -> None:
    """Guard against a vacuous validation: a typo in either kind of object must fail."""
    deployment = copy.deepcopy(find(site, "Deployment", "edgeloop-scoring"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(jsonschema.ValidationError):
        validate_object(deployment)
    scaled = copy.deepcopy(find(site, "ScaledObject", "edgeloop-functions"))
    scaled["spec"]["minReplicas"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validate_object(scaled)
    auth = copy.deepcopy(find(site, "TriggerAuthentication", "edgeloop-edge-storage"))
    auth["spec"]["secretTargetRef"][0].pop("key")
    with pytest.raises(jsonschema.ValidationError):
        validate_object(auth)


def test_overlay_places_everything_in_the_site_namespace(site: list[Manifest]) -> None:
    namespace = find(site, "Namespace", "edgeloop-example-site")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for manifest in site:
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"]["namespace"] == "edgeloop-example-site", manifest["kind"]
    settings = find(site, "ConfigMap", "edgeloop-settings")
    assert settings["data"]["EDGELOOP_SITE_ID"] == "example-site"


def test_no_secret_is_rendered_and_example_secrets_hold_placeholders_only(
    rendered: dict[str, list[Manifest]],
) -> None:
    for manifests in rendered.values():
        assert not [m for m in manifests if m["kind"] == "Secret"]
    # The example is not reachable from any kustomization.
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
        for entry in spec.get("resources", []) + spec.get("components", []):
            target = (kustomization.parent / entry).resolve()
            assert EXAMPLE_SECRETS.parent not in (target, *target.parents), (kustomization, entry)
    examples = [d for d in yaml.safe_load_all(EXAMPLE_SECRETS.read_text(encoding="utf-8")) if d]
    assert examples
    for secret in examples:
        assert secret["kind"] == "Secret"
        assert "data" not in secret, "base64 data could hide a real value"
        for key, value in secret["stringData"].items():
            where = f"{secret['metadata']['name']}.{key}"
            assert value.startswith("<"), where
            assert value.endswith(">"), where


def referenced_secrets(manifests: list[Manifest]) -> set[str]:
    names = set()
    for deployment in (m for m in manifests if m["kind"] == "Deployment"):
        for entry in container_env(deployment).values():
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
    for auth in (m for m in manifests if m["kind"] == "TriggerAuthentication"):
        names.update(ref["name"] for ref in auth["spec"]["secretTargetRef"])
    return names


def test_every_referenced_secret_has_an_example(site: list[Manifest]) -> None:
    examples = {d["metadata"]["name"]: d for d in yaml.safe_load_all(EXAMPLE_SECRETS.read_text()) if d}
    for deployment in (m for m in site if m["kind"] == "Deployment"):
        for name, entry in container_env(deployment).items():
            assert "value" in entry or "valueFrom" in entry, name
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in examples[ref["name"]]["stringData"], (name, ref)
    assert referenced_secrets(site) == set(examples)


def hardened(pod_spec: dict[str, Any]) -> None:
    assert pod_spec["automountServiceAccountToken"] is False
    pod_security = pod_spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] >= 10000
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod_spec["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "add" not in security["capabilities"]
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(limits)
        assert {"cpu", "memory"} <= set(requests)
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod_spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], "a writable /tmp on a read-only root"


def test_scoring_app_deployment(site: list[Manifest]) -> None:
    deployment = find(site, "Deployment", "edgeloop-scoring")
    spec = deployment["spec"]
    # One writer for the SQLite outbox: one replica, never two pods at once.
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    hardened(pod)
    (container,) = pod["containers"]
    assert container["args"] == ["python", "-m", "scoring_app"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # The outbox lives on the PVC, the model on its own read-only volume.
    env = container_env(deployment)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    outbox_dir = str(Path(env["SCORING_OUTBOX_PATH"]["value"]).parent)
    (outbox_mount,) = [m for m in mounts.values() if m["mountPath"] == outbox_dir]
    claim = volumes[outbox_mount["name"]]["persistentVolumeClaim"]["claimName"]
    pvc = find(site, "PersistentVolumeClaim", claim)
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert not outbox_mount.get("readOnly", False)
    model_dir = Path(env["SCORING_MODEL_DIR"]["value"])
    (model_mount,) = [m for m in mounts.values() if Path(m["mountPath"]) in model_dir.parents]
    assert model_mount["readOnly"] is True
    assert "persistentVolumeClaim" in volumes[model_mount["name"]]


def test_scoring_service_and_disruption_budget_select_the_scoring_pod(site: list[Manifest]) -> None:
    labels = find(site, "Deployment", "edgeloop-scoring")["spec"]["template"]["metadata"]["labels"]
    service = find(site, "Service", "edgeloop-scoring")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    pdb = find(site, "PodDisruptionBudget", "edgeloop-scoring")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] == 1


def test_edge_functions_deployment(site: list[Manifest]) -> None:
    deployment = find(site, "Deployment", "edgeloop-functions")
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    pod = deployment["spec"]["template"]["spec"]
    hardened(pod)
    (container,) = pod["containers"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert probe not in container, "a queue worker has no HTTP route to probe"
    assert "ports" not in container
    env = container_env(deployment)
    assert env["EDGELOOP_ROLE"]["value"] == "edge"
    # Only the queue function runs here: the first entry of the host's function allow-list,
    # and no second one.
    assert env["AzureFunctionsJobHost__functions__0"]["value"] == "filter_insights"
    assert not [name for name in env if name.startswith("AzureFunctionsJobHost__functions__1")]
    connections = ("AzureWebJobsStorage", "EdgeStorage", "ServiceBusConnection")
    site_sas = ("EDGELOOP_COMPLIANT_STORAGE", "EDGELOOP_ANOMALIES_STORAGE")
    assert "CloudStorage" not in env, "a site writes the cloud with its create-only SAS, never the key"
    for connection in (*connections, *site_sas):
        assert "secretKeyRef" in env[connection]["valueFrom"], connection
    assert "secretKeyRef" in env["EDGELOOP_SITE_HMAC_KEY"]["valueFrom"]


def test_keda_scales_the_functions_from_zero_on_the_insights_queue(
    rendered: dict[str, list[Manifest]],
) -> None:
    site = rendered["example-site"]
    scaled = find(site, "ScaledObject", "edgeloop-functions")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "edgeloop-functions"
    find(site, "Deployment", scaled["scaleTargetRef"]["name"])
    assert scaled["minReplicaCount"] == 0
    assert 1 < scaled["maxReplicaCount"] <= 20
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "azure-queue"
    metadata = trigger["metadata"]
    assert int(metadata["queueLength"]) > 0
    assert int(metadata["activationQueueLength"]) >= 0
    assert metadata["cloud"] == "Private"
    # The overlay replaced the base's development-kit suffix with the site's.
    assert metadata["endpointSuffix"].startswith("queue.")
    base_scaled = find(rendered["base"], "ScaledObject", "edgeloop-functions")
    base_metadata = base_scaled["spec"]["triggers"][0]["metadata"]
    assert metadata["endpointSuffix"] != base_metadata["endpointSuffix"]
    # Authentication through a TriggerAuthentication backed by a Secret, never a pod env var.
    assert not [key for key in metadata if key.startswith("connection")]
    auth = find(site, "TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
    (ref,) = auth["secretTargetRef"]
    assert ref["parameter"] == "connection"
    edge_storage = container_env(find(site, "Deployment", "edgeloop-functions"))["EdgeStorage"]
    assert edge_storage["valueFrom"]["secretKeyRef"] == {"name": ref["name"], "key": ref["key"]}


def policies_by_name(site: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m["spec"] for m in site if m["kind"] == "NetworkPolicy"}


def test_namespace_denies_all_traffic_by_default(site: list[Manifest]) -> None:
    deny = policies_by_name(site)["default-deny-all"]
    assert deny["podSelector"] == {}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny
    assert "egress" not in deny


def is_dns_rule(rule: dict[str, Any]) -> bool:
    return {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}


def test_scoring_app_is_reachable_from_the_plant_network_only(site: list[Manifest]) -> None:
    policy = policies_by_name(site)["edgeloop-scoring"]
    (ingress,) = policy["ingress"]
    (source,) = ingress["from"]
    assert set(source) == {"ipBlock"}, "no pod or namespace selectors: plant clients only"
    assert source["ipBlock"]["cidr"] != "0.0.0.0/0"
    assert ingress["ports"] == [{"protocol": "TCP", "port": 8000}]
    egress = [rule for rule in policy["egress"] if not is_dns_rule(rule)]
    egress_ports = {(p["protocol"], p["port"]) for rule in egress for p in rule["ports"]}
    assert egress_ports == {("TCP", 443)}


def test_functions_pods_accept_no_traffic_and_reach_only_dns_and_storage(site: list[Manifest]) -> None:
    policy = policies_by_name(site)["edgeloop-functions"]
    assert "Ingress" in policy["policyTypes"]
    assert "ingress" not in policy
    rules = policy["egress"]
    assert sum(is_dns_rule(r) for r in rules) == 1
    for rule in rules:
        if not is_dns_rule(rule):
            assert all("ipBlock" in peer for peer in rule["to"])
            assert {p["port"] for p in rule["ports"]} <= {443, 5671}
