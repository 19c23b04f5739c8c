"""Hypothesis strategies: valid manifest documents of every task kind (formats 1 and 2), and
single-field faults of them (a value replaced, a key or item dropped, a key renamed)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from edgeloop.domain.manifest_specs import RESERVED_FIELD_NAMES
from edgeloop.domain.metrics import TASK_METRICS

SHA256 = st.text("0123456789abcdef", min_size=64, max_size=64)
IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda name: name not in RESERVED_FIELD_NAMES
)
FINITE = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
NON_BLANK = st.text(min_size=1, max_size=8).filter(lambda text: bool(text.strip()))
JSON_LEAVES = st.none() | st.booleans() | st.integers(-5, 5) | FINITE | st.text(max_size=5)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=4,
)


@st.composite
def _number_input(draw: st.DrawFn, name: str) -> dict[str, Any]:
    low, high = sorted(draw(st.lists(FINITE, min_size=2, max_size=2, unique=True)))
    spec = {"name": name, "type": "number", "min": low, "max": high}
    if draw(st.booleans()):
        spec |= {"unit": draw(st.text(max_size=4)), "description": draw(st.text(max_size=8))}
    return spec


@st.composite
def _category_input(draw: st.DrawFn, name: str) -> dict[str, Any]:
    categories = draw(st.lists(st.text(max_size=4), min_size=1, max_size=4, unique=True))
    return {"name": name, "type": "category", "categories": categories}


@st.composite
def _image_input(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An image model's only input and its ONNX input (edgeloop.domain.manifest_images)."""
    channels = draw(st.sampled_from([1, 3]))
    dtype = draw(st.sampled_from(["float32", "uint8"]))
    spec: dict[str, Any] = {"name": "image", "type": "image", "width": draw(st.integers(1, 4096))}
    spec |= {"height": draw(st.integers(1, 4096)), "channels": channels, "dtype": dtype}
    if draw(st.booleans()):
        spec |= {"layout": draw(st.sampled_from(["NCHW", "NHWC"]))}
        spec |= {"resize": draw(st.sampled_from(["stretch", "center_crop"]))}
    if dtype == "float32" and draw(st.booleans()):
        per_channel = st.sampled_from(sorted({1, channels}))
        means, stds = draw(per_channel), draw(per_channel)
        spec["normalisation"] = {
            "scale": draw(st.floats(1e-4, 10.0)),
            "mean": draw(st.lists(FINITE, min_size=means, max_size=means)),
            "std": draw(st.lists(st.floats(1e-3, 10.0), min_size=stds, max_size=stds)),
        }
    return [spec], [{"name": "pixels", "features": ["image"], "dtype": dtype}]


@st.composite
def _inputs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(inputs, onnx_inputs)``: each category its own string input, the numbers in one or two;
    or an image, alone."""
    if draw(st.integers(0, 5)) == 0:
        return draw(_image_input())
    names = draw(st.lists(IDENTIFIERS, min_size=1, max_size=5, unique=True))
    inputs = [draw(_number_input(f"f_{n}") | _category_input(f"f_{n}")) for n in names]
    numbers = [spec["name"] for spec in inputs if spec["type"] == "number"]
    onnx = [{"name": spec["name"], "features": [spec["name"]], "dtype": "string"} for spec in inputs]
    onnx = [item for item in onnx if item["name"] not in numbers]
    split = draw(st.integers(1, max(1, len(numbers))))
    for index, group in enumerate((numbers[:split], numbers[split:])):
        if group:
            dtype = draw(st.sampled_from(["float32", "float64"]))
            onnx.append({"name": f"numeric_{index}", "features": group, "dtype": dtype})
    return inputs, onnx


@st.composite
def _task(draw: st.DrawFn, kind: str) -> tuple[dict[str, Any], list[str]]:
    """``(task, the outputs it names)``."""
    if kind == "binary":
        task: dict[str, Any] = {"kind": kind, "risk_output": "o_risk", "threshold": draw(FINITE)}
        if draw(st.booleans()):
            task["label_names"] = draw(st.lists(NON_BLANK, min_size=2, max_size=2, unique=True))
        return task, ["o_risk"]
    if kind == "multiclass":
        classes = draw(st.lists(NON_BLANK, min_size=2, max_size=4, unique=True))
        outputs = [f"o_p{index}" for index in range(len(classes))]
        task = {"kind": kind, "classes": classes, "probability_outputs": outputs}
        task["alert_classes"] = draw(st.lists(st.sampled_from(classes), max_size=2, unique=True))
        task["min_confidence"] = draw(st.none() | st.floats(0.0, 1.0))
        return task, outputs
    task = {"kind": kind, "value_output": "o_value", "unit": draw(st.text(max_size=3))}
    outputs = ["o_value"]
    if draw(st.booleans()):
        task |= {"lower_output": "o_low", "upper_output": "o_high"}
        outputs += ["o_low", "o_high"]
    low, high = sorted(draw(st.lists(FINITE, min_size=2, max_size=2, unique=True)))
    task["band"] = draw(st.sampled_from([{}, {"low": low}, {"high": high}, {"low": low, "high": high}]))
    return task, outputs


def _evaluation(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "primary_metric": st.sampled_from(list(TASK_METRICS[kind])),  # type: ignore[index]
            "margin": st.floats(0.0, 1.0),
            "margin_kind": st.sampled_from(["absolute", "relative"]),
            "max_label_shift": st.floats(0.1, 10.0),
        },
    )


RECIPES = st.none() | st.fixed_dictionaries(
    {"entry_point": st.sampled_from(["recipes.mine:train", "a:b", "pkg.sub.mod:fit_2"])},
    optional={
        "parameters": st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=2),
        "requirements": st.lists(st.text(max_size=6), max_size=2),
        "time_limit_seconds": st.floats(1.0, 1e5),
        "base_data": st.fixed_dictionaries(
            {
                "uri": st.sampled_from(["data/x.csv", "blob://base/rows"]),
                "format": st.sampled_from(["csv", "parquet"]),
                "columns": st.dictionaries(st.text(max_size=4), st.text(max_size=4), min_size=1, max_size=2),
                "label": st.text(max_size=4),
            },
            optional={"time": st.none() | st.text(max_size=4)},
        ),
    },
)


@st.composite
def manifest_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid manifest document: binary (format 1 or 2), multiclass or regression."""
    kind = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    inputs, onnx_inputs = draw(_inputs())
    task, task_outputs = draw(_task(kind))
    with_ood = draw(st.booleans())
    outputs = [*task_outputs, "o_ood"] if with_ood else task_outputs
    document: dict[str, Any] = {
        "format": "edgeloop.model-bundle",
        "format_version": 2,
        "name": draw(NON_BLANK),
        "version": draw(NON_BLANK),
        "created_at": draw(
            st.sampled_from(["2026-01-01T00:00:00Z", "2026-05-04", "2026-05-04T10:00:00+02:00"])
        ),
        "files": {"model.onnx": draw(SHA256), **draw(st.sampled_from([{}, {"golden.json": "0" * 64}]))},
        "model_file": "model.onnx",
        "inputs": inputs,
        "outputs": [{"name": name, "description": name} for name in outputs],
        "task": task,
        "evaluation": draw(_evaluation(kind)),
        "onnx_inputs": onnx_inputs,
        "onnx_outputs": [
            {"output": name, "name": "graph_out", "column": draw(st.none() | st.integers(0, 4))}
            for name in outputs
        ],
        "metrics": draw(st.dictionaries(st.text(max_size=5), FINITE, max_size=2)),
        "training_data": draw(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=2)),
        "recipe": draw(RECIPES),
    }
    if with_ood:
        document |= {"ood_output": "o_ood", "ood_threshold": draw(FINITE)}
        document["ood_direction"] = draw(st.sampled_from(["above", "below"]))
    if kind == "binary" and draw(st.booleans()):  # format 1: the rule at the top level
        del document["task"]
        document |= {"format_version": draw(st.sampled_from([1, None])), **task}
        del document["kind"]
        document.pop("label_names", None)
        if document["format_version"] is None:
            del document["format_version"]
    return document


# Values of every JSON type, strings that break the patterns, a reserved feature name.
REPLACEMENTS = [None, True, 7, -1, 2.5, "", " ", "text", "bad name", "x\n", "../x", "operator", [], ["x"], {}]
BAD_KEYS = ["../x", "x\n", "manifest.json", "", "."]

Path = tuple[str | int, ...]


def node_paths(node: Any, prefix: Path = ()) -> Iterator[Path]:
    """The path of every node below ``node``, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from node_paths(child, (*prefix, key))


@st.composite
def single_field_faults(draw: st.DrawFn) -> tuple[dict[str, Any], Path, str]:
    """``(document, path, what)``: a valid document with one node replaced, dropped or renamed."""
    document = copy.deepcopy(draw(manifest_documents()))
    path = draw(st.sampled_from(list(node_paths(document))))
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    what = draw(
        st.sampled_from(["replace", "drop", "rename"] if isinstance(last, str) else ["replace", "drop"])
    )
    if what == "replace":
        parent[last] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
    elif what == "drop":
        del parent[last]
    else:
        parent[draw(st.sampled_from(BAD_KEYS))] = parent.pop(last)
    return document, path, what


def field_name(path: Path) -> str:
    """A path in the parser's words: ``("inputs", 2, "min")`` -> ``inputs[2].min``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text
