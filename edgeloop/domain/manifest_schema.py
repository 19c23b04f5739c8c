"""The manifest's JSON Schema (draft 2020-12), generated from its document model.

``manifest_json_schema()`` is what docs/manifest.schema.json holds (written by
``python -m tools.manifest_schema``; a test checks the file is up to date). The
schema says what the document model checks; its description lists the rules only
the parser checks (:data:`~edgeloop.domain.manifest_document.PARSER_RULES`), so a
document the schema accepts may still be refused, with the field named.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from edgeloop.domain.manifest_document import MANIFEST_DOCUMENT, PARSER_RULES
from edgeloop.domain.manifest_specs import READABLE_FORMAT_VERSIONS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TITLE = "Edgeloop model bundle manifest (manifest.json)"


class _ManifestSchemaGenerator(GenerateJsonSchema):
    """pydantic's generator, but a dict's key pattern constrains every key (``propertyNames``):
    pydantic writes ``patternProperties``, which lets a key that does not match through."""

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        generated = super().dict_schema(schema)
        patterns = generated.pop("patternProperties", None)
        if patterns:
            ((pattern, values),) = patterns.items()
            generated["propertyNames"] = {"pattern": pattern}
            generated["additionalProperties"] = values
        return generated


def manifest_json_schema() -> dict[str, Any]:
    """The schema of ``manifest.json``, formats 1 and 2, as a JSON-ready dict."""
    generated = MANIFEST_DOCUMENT.json_schema(schema_generator=_ManifestSchemaGenerator)
    readable = " and ".join(str(version) for version in READABLE_FORMAT_VERSIONS)
    rules = "\n".join(f"- {rule}" for rule in PARSER_RULES)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": SCHEMA_TITLE,
        "description": (
            "The manifest of an Edgeloop model bundle (formats "
            f"{readable}; format_version absent means 1). Generated from the parser's document "
            "model (edgeloop/domain/manifest_document.py) by `python -m tools.manifest_schema`; "
            "do not edit. Unknown keys are ignored. Besides this schema, the parser checks:\n"
            f"{rules}"
        ),
        **generated,
    }
