"""Building blocks of the manifest's document model (edgeloop.domain.manifest_document).

The manifest document is described once, as pydantic models: they are the parser's
first pass (types, required fields, enums, patterns, bounds) and the source of the
published JSON Schema. Every pattern here must mean the same to Python's ``re``
(``search``, as pydantic's ``python-re`` engine and the ``jsonschema`` package use
it) and to ECMA 262 (what the JSON Schema standard names): hence ``(?!\\n)$`` for
the end of the text, because Python's ``$`` also matches before a final newline.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from edgeloop.domain.manifest_specs import RESERVED_FIELD_NAMES


def whole(body: str) -> str:
    """A pattern that ``body`` must match entirely, in Python and in ECMA 262 alike."""
    return f"^(?:{body})(?!\\n)$"


IDENTIFIER_PATTERN = whole("[A-Za-z_][A-Za-z0-9_]{0,63}")
SHA256_PATTERN = whole("[0-9a-f]{64}")
FILE_NAME_PATTERN = whole("(?!(?:\\.|\\.\\.|manifest\\.json)(?!\\n)$)[^/\\\\]+")
NON_BLANK_PATTERN = "\\S"
_WORD = "[A-Za-z_][A-Za-z0-9_]*"
ENTRY_POINT_PATTERN = whole(f"{_WORD}(?:\\.{_WORD})*:{_WORD}")

# What each pattern asks for, in the words of the parser's messages.
PATTERN_MESSAGES = {
    IDENTIFIER_PATTERN: "must be an identifier (letters, digits, _; max 64)",
    SHA256_PATTERN: "must be a lowercase hex sha256",
    FILE_NAME_PATTERN: "must be a plain file name in the bundle",
    NON_BLANK_PATTERN: "must not be empty",
    ENTRY_POINT_PATTERN: "must look like package.module:function",
}


class DocumentModel(BaseModel):
    """A part of the manifest document: strict JSON types (no "1" for 1, no true for 1), finite
    numbers; unknown keys are ignored (newer writers may add some)."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False, regex_engine="python-re", frozen=True)


def _not_reserved(name: str) -> str:
    if name in RESERVED_FIELD_NAMES:
        raise PydanticCustomError("reserved_name", "'{name}' is reserved for on-site context", {"name": name})
    return name


Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
FeatureName = Annotated[
    str,
    Field(pattern=IDENTIFIER_PATTERN, json_schema_extra={"not": {"enum": sorted(RESERVED_FIELD_NAMES)}}),
    AfterValidator(_not_reserved),
]
NonBlank = Annotated[str, Field(pattern=NON_BLANK_PATTERN)]
Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN)]
FileName = Annotated[str, Field(pattern=FILE_NAME_PATTERN)]
EntryPoint = Annotated[str, Field(pattern=ENTRY_POINT_PATTERN)]
