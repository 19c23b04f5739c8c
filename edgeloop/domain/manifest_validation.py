"""The parser's first pass: the manifest document against its model, faults named by field.

pydantic reports where a fault is as a path of keys, indices and union tags
(``("1", "inputs", 2, "number", "min")``); :func:`structural_problems` turns each
into a :class:`ManifestError` naming the field as the parser always has
(``inputs[2].min``, ``files.model.onnx``, ``task.kind``), in document order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from edgeloop.domain.document_types import PATTERN_MESSAGES
from edgeloop.domain.manifest_document import MANIFEST_DOCUMENT, ManifestDocument
from edgeloop.domain.manifest_specs import READABLE_FORMAT_VERSIONS, ManifestError
from edgeloop.domain.task_documents import RecipeDocument, TaskDocument

_JSON_TYPES = {
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}
_EXPECTED = {
    "string_type": "a string",
    "float_type": "a number",
    "int_type": "an integer",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}
# Where a union's tag sits in pydantic's path: after these keys, the next item is the tag.
_TAGGED_UNDER: set[tuple[object, ...]] = {("task",), ("inputs", int), ("drift", "features", int)}


def validate_document(data: Any) -> ManifestDocument:
    """The document, checked against its model; raises the first fault as a :class:`ManifestError`."""
    try:
        return MANIFEST_DOCUMENT.validate_python(data)
    except ValidationError as exc:
        raise _problem(exc.errors()[0]) from None


_TASK_DOCUMENT: TypeAdapter[TaskDocument] = TypeAdapter(TaskDocument)
_RECIPE_DOCUMENT: TypeAdapter[RecipeDocument] = TypeAdapter(RecipeDocument)


def validate_task_document(data: Any) -> TaskDocument:
    """A ``task`` object on its own (a template's, a setting's), faults named ``task.*``."""
    try:
        return _TASK_DOCUMENT.validate_python(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise _problem({**error, "loc": ("part", "task", *error["loc"])}) from None


def validate_recipe_document(data: Any) -> RecipeDocument:
    """A ``recipe`` object on its own, faults named ``recipe.*``."""
    try:
        return _RECIPE_DOCUMENT.validate_python(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise _problem({**error, "loc": ("part", "recipe", *error["loc"])}) from None


def structural_problems(data: Any) -> list[ManifestError]:
    """Every fault the document model finds (none: the rules across fields come next)."""
    try:
        MANIFEST_DOCUMENT.validate_python(data)
    except ValidationError as exc:
        return [_problem(error) for error in exc.errors()]
    return []


def _problem(error: ErrorDetails) -> ManifestError:
    kind, location, ctx = error["type"], tuple(error["loc"]), error.get("ctx", {})
    if not location:  # the format's own discriminator found no readable format
        readable = " or ".join(str(v) for v in READABLE_FORMAT_VERSIONS)
        return ManifestError("format_version", f"unsupported, expected {readable}")
    path = _field_path(location[1:])  # the first item is the format's tag
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = str(ctx.get("discriminator", "")).strip("'")
        path = f"{path}.{key}" if path else key
        if kind == "union_tag_not_found":
            return ManifestError(path, "missing")
        return ManifestError(path, f"must be one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}")
    return ManifestError(path or "manifest", _message(error))


def _field_path(location: Sequence[int | str]) -> str:
    """``("inputs", 2, "number", "min")`` -> ``inputs[2].min``; dict keys join with dots."""
    kept: list[int | str] = []
    tags_dropped: set[int] = set()
    for item in location:
        shape = tuple(int if isinstance(part, int) else part for part in kept)
        if item == "[key]":  # the marker of a faulty dict key: the key itself names the field
            continue
        if shape in _TAGGED_UNDER and len(kept) not in tags_dropped:
            tags_dropped.add(len(kept))  # a union's tag ("number", "binary"): not part of the field
            continue
        kept.append(item)
    text = ""
    for item in kept:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else item)
    return text


def _message(error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    got = _JSON_TYPES.get(type(value), type(value).__name__)
    if kind == "missing":
        return "missing"
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}, got {got}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, got {value!r}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return f"{PATTERN_MESSAGES.get(pattern, 'must match ' + pattern)}, got {value!r}"
    if kind == "too_short":
        minimum = ctx.get("min_length")
        return "must not be empty" if minimum == 1 else f"must have at least {minimum} items"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()), "")
        return f"must be {bounds[kind]} {limit}"
    if kind == "finite_number":
        return "must be a finite number"
    return error["msg"]
