"""The Azure side (infra/bicep): no Bicep compiler can be installed here (it is a .NET binary
downloaded from GitHub, not a registry package), so the templates are checked offline with
pycep, checkov's Bicep parser: every file parses, modules are wired to parameters and outputs
that exist, and the resources carry the properties the design depends on.
(checkov's Bicep checks run in test_linters.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from infra_helpers import BICEP, Parsed

# Built-in Azure role definition ids the Function App's identity needs.
ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Azure Service Bus Data Receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "Azure Service Bus Data Sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"


def resource(parsed: Parsed, name: str) -> dict[str, Any]:
    """A resource's body (its `config`; for a loop, the body inside the loop)."""
    config = parsed["resources"][name]["config"]
    return config["config"] if "loop_type" in config else config


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def output_references(node: Any) -> set[tuple[str, str]]:
    """(module, output) pairs that `module.outputs.name` expressions use, interpolations too."""
    found = set()
    for item in walk(node):
        if isinstance(item, dict) and item.get("operator", {}).get("type") == "property_accessor":
            operands = item["operator"]["operands"]
            inner = operands["operand_2"]
            inner_operator = inner.get("operator", {}) if isinstance(inner, dict) else {}
            if inner_operator.get("type") == "property_accessor" and (
                inner_operator["operands"]["operand_1"] == "outputs"
            ):
                found.add((operands["operand_1"], inner_operator["operands"]["operand_2"]))
        elif isinstance(item, str):
            found.update(re.findall(r"\$\{(\w+)\.outputs\.(\w+)\}", item))
    return found


def test_every_bicep_file_parses(bicep: dict[str, Parsed]) -> None:
    assert set(bicep) == {
        "main.bicep",
        *(f"modules/{name}.bicep" for name in ("cosmos", "functionapp", "keyvault", "monitoring", "roles")),
        "modules/servicebus.bicep",
        "modules/storage.bicep",
    }


def test_modules_get_every_required_parameter_and_only_known_ones(bicep: dict[str, Parsed]) -> None:
    main = bicep["main.bicep"]
    assert main["modules"], "main.bicep deploys its modules"
    for name, module in main["modules"].items():
        target = bicep[module["detail"]["path"]]
        declared = target["parameters"]
        given = set(module["config"]["params"])
        assert given <= set(declared), f"module {name}: unknown parameters {given - set(declared)}"
        required = {p for p, spec in declared.items() if spec.get("default") is None}
        assert required <= given, f"module {name}: missing parameters {required - given}"


def test_every_module_output_used_exists(bicep: dict[str, Parsed]) -> None:
    main = bicep["main.bicep"]
    outputs = {
        name: set(bicep[module["detail"]["path"]].get("outputs", {}))
        for name, module in main["modules"].items()
    }
    used = output_references(main)
    assert used, "the walk found no output references: the parser's format changed"
    for module, output in used:
        assert output in outputs[module], f"{module}.outputs.{output} does not exist"


def test_storage_holds_the_contract_containers_privately(bicep: dict[str, Parsed]) -> None:
    storage = bicep["modules/storage.bicep"]
    params = bicep["main.bicep"]["modules"]["storage"]["config"]["params"]
    assert params["dataContainers"] == ["compliant", "anomalies", "models", "frames"]
    containers = storage["resources"]["containers"]["config"]
    assert containers["loop_type"]["detail"]["array_name"] == "dataContainers"
    assert containers["config"]["properties"]["publicAccess"] == "None"
    for account in ("hostAccount", "dataAccount"):
        properties = resource(storage, account)["properties"]
        assert properties["allowBlobPublicAccess"] is False
        assert properties["minimumTlsVersion"] == "TLS1_2"
    assert resource(storage, "hostAccount")["properties"]["allowSharedKeyAccess"] is False


def test_cosmos_container_is_partitioned_by_site_with_ttl_and_no_keys(bicep: dict[str, Parsed]) -> None:
    cosmos = bicep["modules/cosmos.bicep"]
    assert resource(cosmos, "account")["properties"]["disableLocalAuth"] is True
    container = resource(cosmos, "container")["properties"]["resource"]
    assert container["partitionKey"]["paths"] == ["/site_id"]
    assert container["defaultTtl"] == "defaultTtlSeconds"
    main = bicep["main.bicep"]
    assert main["modules"]["cosmos"]["config"]["params"]["defaultTtlSeconds"] == "cosmosDefaultTtlSeconds"
    assert "cosmosDefaultTtlSeconds" in main["parameters"]


def test_service_bus_topic_deduplicates_and_has_the_contract_subscriptions(bicep: dict[str, Parsed]) -> None:
    bus = bicep["modules/servicebus.bicep"]
    assert resource(bus, "namespace")["sku"] == {"name": "Standard", "tier": "Standard"}
    assert resource(bus, "topic")["properties"]["requiresDuplicateDetection"] is True
    params = bicep["main.bicep"]["modules"]["serviceBus"]["config"]["params"]
    assert params["topicName"] == "insights"
    assert params["subscriptionNames"] == ["global", "powerbi", "lake"]
    assert resource(bus, "siteSendRule")["properties"]["rights"] == ["Send"]


def test_function_app_runs_python_311_with_a_managed_identity(bicep: dict[str, Parsed]) -> None:
    app_module = bicep["modules/functionapp.bicep"]
    plan = resource(app_module, "plan")
    assert plan["sku"]["tier"] in {"FlexConsumption", "ElasticPremium"}
    app = resource(app_module, "app")
    assert app["identity"] == {"type": "SystemAssigned"}
    assert app["properties"]["httpsOnly"] is True
    assert app["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    assert app["properties"]["functionAppConfig"]["deployment"]["storage"]["authentication"] == {
        "type": "SystemAssignedIdentity"
    }
    host_settings = app_module["variables"]["hostSettings"]["value"]
    assert "AzureWebJobsStorage__accountName" in host_settings
    assert "AzureWebJobsStorage" not in host_settings, "identity-based host storage, no connection string"


def test_identity_gets_each_role_on_its_resource(bicep: dict[str, Parsed]) -> None:
    roles = bicep["modules/roles.bicep"]
    role_var = roles["variables"]["roles"]["value"]
    assert set(role_var.values()) == set(ROLE_IDS.values())
    granted: dict[str, str] = {}
    for name, spec in roles["resources"].items():
        if spec["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        body = spec["config"]
        definition = json.dumps(body["properties"]["roleDefinitionId"])
        (role_key,) = [key for key in role_var if key in definition]
        granted[name] = role_key
        assert body["properties"]["principalId"] == "principalId"
        assert body["properties"]["principalType"] == "ServicePrincipal"
        assert body["scope"] in {r for r, s in roles["resources"].items() if s["existing"]}
    assert set(granted.values()) == set(role_var), "every role is granted"
    # Cosmos DB data plane: a sqlRoleAssignment of the built-in Data Contributor on the account.
    assert roles["resources"]["cosmosDataContributor"]["type"].endswith("/sqlRoleAssignments")
    assert roles["variables"]["cosmosDataContributorRoleId"]["value"] == COSMOS_DATA_CONTRIBUTOR
    cosmos = resource(roles, "cosmosDataContributor")["properties"]
    assert cosmos["roleDefinitionId"].endswith("/sqlRoleDefinitions/${cosmosDataContributorRoleId}")
    assert cosmos["principalId"] == "principalId"
    assert bicep["main.bicep"]["modules"]["roles"]["config"]["params"]["principalId"]


def test_key_vault_uses_rbac_and_app_settings_reference_it(bicep: dict[str, Parsed]) -> None:
    vault = resource(bicep["modules/keyvault.bicep"], "vault")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    settings = bicep["main.bicep"]["variables"]["appSettings"]["value"]
    references = {name for name, value in settings.items() if str(value).startswith("@Microsoft.KeyVault(")}
    assert "POWERBI_CLIENT_SECRET" in references
    # The Power BI secret, the model-signing key, the dashboard's sign-in secret and session key.
    assert references == {
        "POWERBI_CLIENT_SECRET",
        "MODEL_SIGNING_PRIVATE_KEY",
        "ENTRA_CLIENT_SECRET",
        "GLOBAL_APP_SESSION_KEY",
    }


def test_no_keys_or_connection_strings_in_the_templates() -> None:
    for path in BICEP.rglob("*.bicep*"):
        text = path.read_text(encoding="utf-8")
        markers = ("listKeys(", "listConnectionStrings(", "AccountKey=", "SharedAccessKey=", "primaryKey")
        for marker in markers:
            assert marker not in text, f"{path.name}: {marker}"


def test_identity_based_connections_in_app_settings(bicep: dict[str, Parsed]) -> None:
    settings = bicep["main.bicep"]["variables"]["appSettings"]["value"]
    assert settings["EDGELOOP_ROLE"] == "cloud"
    assert "CloudStorage__blobServiceUri" in settings
    assert "ServiceBusConnection__fullyQualifiedNamespace" in settings
    assert "CloudStorage" not in settings
    assert "ServiceBusConnection" not in settings
    assert "COSMOS_KEY" not in settings


PARAM_LINE = re.compile(r"^param\s+(\w+)\s*=")


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_environment_parameter_files_give_every_required_parameter(
    bicep: dict[str, Parsed], environment: str
) -> None:
    text = (BICEP / "env" / f"{environment}.bicepparam").read_text(encoding="utf-8")
    assert re.search(r"^using '\.\./main\.bicep'$", text, re.M)
    given = [m.group(1) for line in text.splitlines() if (m := PARAM_LINE.match(line))]
    assert len(given) == len(set(given)), "a parameter is set twice"
    declared = bicep["main.bicep"]["parameters"]
    assert set(given) <= set(declared), set(given) - set(declared)
    required = {name for name, spec in declared.items() if spec.get("default") is None}
    assert required <= set(given), required - set(given)
    assert re.search(rf"^param environmentName = '{environment}'$", text, re.M)
