"""main.bicep's app settings as the Function App would get them in one environment.

pycep gives each value as a literal, a parameter name, or an expression tree. Parameters are
taken from env/<environment>.bicepparam (else their default); module outputs known only after
a deployment get a realistic stand-in (the endpoint's form, which the code parses); Key Vault
references stay as written (the platform swaps in the secret). An expression this evaluator
does not know fails the test instead of being guessed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from infra_helpers import BICEP, Parsed

# Stand-ins for outputs that exist only after a deployment, in the form Azure returns them.
OUTPUT_EXAMPLES = {
    "dataBlobEndpoint": "https://stedgeloopdata.blob.core.windows.net/",
    "dataQueueEndpoint": "https://stedgeloopdata.queue.core.windows.net/",
    "fullyQualifiedNamespace": "sb-edgeloop-dev.servicebus.windows.net",
    "endpoint": "https://cosmos-edgeloop-dev.documents.azure.com:443/",
    "databaseName": "edgeloop",
    "containerName": "insights",
}
TENANT_ID = "72f988bf-0000-4000-8000-000000000000"
# `param name = 'text'` (a string may hold `//`, as URLs do) or a bare scalar; then a comment.
PARAM_LINE = re.compile(r"^param\s+(\w+)\s*=\s*('[^']*'|[^\s/]+)\s*(?://.*)?$")


def parameter_file(environment: str) -> dict[str, Any]:
    """Scalar parameters of env/<environment>.bicepparam (strings, numbers, booleans; ``{}``)."""
    values: dict[str, Any] = {}
    for line in (BICEP / "env" / f"{environment}.bicepparam").read_text(encoding="utf-8").splitlines():
        match = PARAM_LINE.match(line)
        if not match:
            continue
        name, text = match.groups()
        if text.startswith("'") and text.endswith("'"):
            values[name] = text[1:-1]
        elif re.fullmatch(r"-?\d+", text):
            values[name] = int(text)
        elif text in ("true", "false"):
            values[name] = text == "true"
        elif text == "{}":  # an object with nothing in it yet (sitePublicKeys before onboarding)
            values[name] = {}
    return values


class BicepSettings:
    def __init__(self, bicep: dict[str, Parsed], environment: str) -> None:
        self._parameters = bicep["main.bicep"]["parameters"]
        self._given = parameter_file(environment)

    def parameter(self, name: str) -> Any:
        if name in self._given:
            return self._given[name]
        default = self._parameters[name].get("default")
        assert default is not None, f"parameter {name} has no value in this environment"
        assert not isinstance(default, dict), f"parameter {name}: default is an expression"
        return default

    def value(self, setting: str, node: Any) -> str:
        if isinstance(node, str):
            if node not in self._parameters:
                return node
            value = self.parameter(node)
            return json.dumps(value) if isinstance(value, dict) else str(value)  # string(object): JSON
        if isinstance(node, bool | int):
            return str(node).lower() if isinstance(node, bool) else str(node)
        function = node.get("function", {}) if isinstance(node, dict) else {}
        if function.get("type") == "string":
            return self.value(setting, function["parameters"]["value_to_convert"])
        if function.get("type") == "tenant" and "tenantId" in function.get("property_name", ""):
            return TENANT_ID
        operands = node.get("operator", {}).get("operands", {}) if isinstance(node, dict) else {}
        inner = operands.get("operand_2")
        if isinstance(inner, dict):
            accessed = inner.get("operator", {}).get("operands", {})
            if accessed.get("operand_1") == "outputs" and accessed.get("operand_2") in OUTPUT_EXAMPLES:
                return OUTPUT_EXAMPLES[accessed["operand_2"]]
        raise AssertionError(f"{setting}: an expression the test cannot evaluate, extend it: {node}")

    def app_settings(self, settings: dict[str, Any]) -> dict[str, str]:
        return {name: self.value(name, node) for name, node in settings.items()}
