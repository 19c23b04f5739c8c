"""RowsDecoder: the msgspec fast path accepts only what the thorough path accepts, with equal columns.

The reference is the thorough path written plainly (tests/support/rows_reference.py: orjson,
the envelope by hand, validate_rows), not hand-written expectations; the door the app reads
bodies through (ScoreBodyReader: fast, else thorough) must agree with it exactly. Three
manifests: the demo's features, the press-defect model of tests/support/bundles.py, and a
manifest with a huge range and awkward names (``class``, ``f0``, ``f1``) that exercises
number parsing and the decoder's attribute renaming.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from support.bundles import defect_manifest_fields, valid_rows
from support.manifests import FAKE_SHA256, demo_manifest, demo_manifest_dict
from support.rows_reference import reference_columns

from edgeloop.domain.manifest import InputSpec, ModelManifest
from edgeloop.domain.problems import InvalidInput
from edgeloop.domain.validation import CONTEXT_MAX_LENGTHS, FeatureColumns
from scoring_app.decoding.fast_rows import RowsDecoder
from scoring_app.decoding.score_body import ScoreBodyReader
from scoring_app.errors import ApiError

MAX_ROWS = 4


def press_manifest() -> ModelManifest:
    return ModelManifest.from_dict({**defect_manifest_fields(), "files": {"press.onnx": FAKE_SHA256}})


def odd_manifest() -> ModelManifest:
    document = demo_manifest_dict()
    document["inputs"] = [
        {"name": "f1", "type": "number", "min": -1e300, "max": 1e300},
        {"name": "class", "type": "category", "categories": ["a", "é", '"q"', "x y", ""]},
        {"name": "f0", "type": "number", "min": -1.5, "max": 2.5},
    ]
    document["onnx_inputs"] = [
        {"name": "class", "features": ["class"], "dtype": "string"},
        {"name": "numeric", "features": ["f1", "f0"], "dtype": "float64"},
    ]
    return ModelManifest.from_dict(document)


MANIFESTS = {"demo": demo_manifest(), "press": press_manifest(), "odd": odd_manifest()}
DECODERS = {name: RowsDecoder(manifest, MAX_ROWS) for name, manifest in MANIFESTS.items()}


def thorough(manifest: ModelManifest, body: bytes) -> FeatureColumns | None:
    """The columns the thorough path makes of ``body``; None when it refuses it."""
    return reference_columns(manifest, body, MAX_ROWS)


def assert_same_columns(fast: FeatureColumns, slow: FeatureColumns) -> None:
    assert fast.n_rows == slow.n_rows
    assert fast.feature_names == slow.feature_names
    assert list(fast.numeric) == list(slow.numeric)
    for name, column in slow.numeric.items():
        assert fast.numeric[name].dtype == column.dtype == np.float64
        assert fast.numeric[name].tobytes() == column.tobytes()  # bit for bit: -0.0 is not 0.0
    assert list(fast.categorical) == list(slow.categorical)
    for name, categories in slow.categorical.items():
        assert fast.categorical[name].dtype == categories.dtype == np.dtype(object)
        assert fast.categorical[name].tolist() == categories.tolist()
        assert {type(value) for value in fast.categorical[name].tolist()} == {str}
    assert [list(given.items()) for given in fast.context] == [list(given.items()) for given in slow.context]


def compare(manifest_name: str, body: bytes) -> tuple[FeatureColumns | None, FeatureColumns | None]:
    """Both paths' columns; fails when the fast path accepts what the thorough path refuses or differs."""
    fast = DECODERS[manifest_name].decode(body)
    slow = thorough(MANIFESTS[manifest_name], body)
    if fast is not None:
        assert slow is not None, f"fast path accepted a body the thorough path refuses: {body[:300]!r}"
        assert_same_columns(fast, slow)
    return fast, slow


# --- building bodies from raw JSON tokens -----------------------------------------------------


def zero_spec(manifest: ModelManifest) -> InputSpec:
    """A numeric feature whose range holds 0 (every manifest here has one)."""
    return next(s for s in manifest.inputs if s.type == "number" and s.min is not None and s.min <= 0)


def number_spec(manifest: ModelManifest) -> InputSpec:
    return next(spec for spec in manifest.inputs if spec.type == "number")


def category_spec(manifest: ModelManifest) -> InputSpec:
    return next(spec for spec in manifest.inputs if spec.type == "category")


def row(manifest: ModelManifest, *pairs: tuple[str, bytes | str], drop: str = "") -> bytes:
    """A valid row of ``manifest`` with ``pairs`` (name, raw JSON token) replacing or appended."""
    base = {name: json.dumps(value) for name, value in valid_rows(manifest, 1, seed=7)[0].items()}
    replaced = {name for name, _ in pairs if name in base}
    items: list[tuple[str, bytes | str]] = [
        (k, v) for k, v in base.items() if k not in replaced and k != drop
    ]
    items += list(pairs)
    text = b",".join(
        json.dumps(k).encode() + b":" + (v if isinstance(v, bytes) else v.encode()) for k, v in items
    )
    return b"{" + text + b"}"


def body(*rows: bytes) -> bytes:
    return b'{"rows":[' + b",".join(rows) + b"]}"


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[ModelManifest], bytes]
    accepted: bool  # by the thorough path, and so by the fast path too


def num(token: str | bytes) -> Callable[[ModelManifest], bytes]:
    def make(manifest: ModelManifest) -> bytes:
        return body(row(manifest, (number_spec(manifest).name, token)))

    return make


def ctx(field: str, token: str | bytes) -> Callable[[ModelManifest], bytes]:
    return lambda manifest: body(row(manifest, (field, token)))


def cat(token: str | bytes) -> Callable[[ModelManifest], bytes]:
    return lambda manifest: body(row(manifest, (category_spec(manifest).name, token)))


def wrap(before: bytes, after: bytes) -> Callable[[ModelManifest], bytes]:
    return lambda manifest: before + body(row(manifest)) + after


def bound(which: str, step: float = 0.0) -> Callable[[ModelManifest], bytes]:
    def make(manifest: ModelManifest) -> bytes:
        spec = number_spec(manifest)
        value = spec.min if which == "min" else spec.max
        assert value is not None
        return body(row(manifest, (spec.name, repr(math.nextafter(value, step) if step else value))))

    return make


def dup(first: str, second: str) -> Callable[[ModelManifest], bytes]:
    def make(manifest: ModelManifest) -> bytes:
        name = zero_spec(manifest).name
        return body(row(manifest, (name, first), (name, second)))

    return make


def escaped(spec: InputSpec) -> str:
    """A category spelled entirely with \\u escapes."""
    category = (spec.categories or ("",))[0]
    return '"' + "".join(f"\\u{ord(char):04x}" for char in category) + '"'


def first_category(manifest: ModelManifest) -> tuple[str, str]:
    spec = category_spec(manifest)
    return spec.name, json.dumps((spec.categories or ("",))[0])


def ctx_twice(first: str, second: str) -> Callable[[ModelManifest], bytes]:
    return lambda manifest: body(row(manifest, ("notes", first), ("notes", second)))


NOTE = CONTEXT_MAX_LENGTHS["notes"]
PRODUCT = CONTEXT_MAX_LENGTHS["product_id"]
CASES = [
    Case("clean", lambda m: body(row(m), row(m)), True),
    Case("true for a number", num("true"), False),
    Case("false for a number", num("false"), False),
    Case("int for a number", lambda m: body(row(m, (zero_spec(m).name, "0"))), True),
    Case("minus zero int", lambda m: body(row(m, (zero_spec(m).name, "-0"))), True),
    Case("minus zero float", lambda m: body(row(m, (zero_spec(m).name, "-0.0"))), True),
    Case("minus underflow", lambda m: body(row(m, (zero_spec(m).name, "-1e-400"))), True),
    Case("huge int", num(str(10**400)), False),
    Case("1e400", num("1e400"), False),
    Case("-1e400", num("-1e400"), False),
    Case("NaN token", num("NaN"), False),
    Case("Infinity token", num("Infinity"), False),
    Case("-Infinity token", num("-Infinity"), False),
    Case("string number", num('"1"'), False),
    Case("null for a number", num("null"), False),
    Case("leading zero", num("01"), False),
    Case("at min", bound("min"), True),
    Case("at max", bound("max"), True),
    Case("below min", bound("min", -math.inf), False),
    Case("above max", bound("max", math.inf), False),
    Case("duplicate key, both valid", dup("0.5", "1"), True),
    Case("duplicate key, last invalid", dup("1", "true"), False),
    Case("duplicate rows, both valid", lambda m: body(row(m))[:-1] + b"," + body(row(m), row(m))[1:], True),
    Case("null for a category", cat("null"), False),
    Case("unknown category", cat('"nope"'), False),
    Case("number for a category", cat("1"), False),
    Case(
        "escaped category", lambda m: body(row(m, (category_spec(m).name, escaped(category_spec(m))))), True
    ),
    Case("null context", ctx("operator", "null"), True),
    Case("empty context", ctx("operator", '""'), True),
    Case("number context", ctx("product_id", "5"), False),
    Case("object context", ctx("notes", "{}"), False),
    Case("context at limit", ctx("product_id", json.dumps("é" * PRODUCT, ensure_ascii=False)), True),
    Case("context over limit", ctx("product_id", json.dumps("é" * (PRODUCT + 1))), False),
    Case("emoji at limit", ctx("product_id", json.dumps("😀" * PRODUCT, ensure_ascii=False)), True),
    Case("emoji over limit", ctx("product_id", json.dumps("😀" * (PRODUCT + 1), ensure_ascii=False)), False),
    Case("escaped emoji at limit", ctx("product_id", json.dumps("😀" * PRODUCT)), True),
    Case("escaped emoji over limit", ctx("product_id", json.dumps("😀" * (PRODUCT + 1))), False),
    Case("notes at limit", ctx("notes", json.dumps("😀" * NOTE, ensure_ascii=False)), True),
    Case("notes over limit", ctx("notes", json.dumps("x" * (NOTE + 1))), False),
    Case("lone surrogate", ctx("notes", '"\\ud800"'), False),
    Case("lone low surrogate", ctx("notes", '"\\udc00x"'), False),
    Case("invalid UTF-8 in a string", ctx("notes", b'"a\xffb"'), False),
    Case("truncated UTF-8", ctx("notes", b'"\xc3"'), False),
    Case("overlong UTF-8", ctx("notes", b'"\xc0\x80"'), False),
    Case("UTF-8 surrogate", ctx("notes", b'"\xed\xa0\x80"'), False),
    Case("invalid UTF-8 in a category", cat(b'"L\xff"'), False),
    Case("invalid UTF-8 in a key", lambda m: body(row(m)[:-1] + b',"no\xfftes":"a"}'), False),
    Case("raw newline in a string", ctx("notes", b'"a\nb"'), False),
    Case("unknown field in a row", ctx("comment", '"x"'), False),
    Case("missing feature", lambda m: body(row(m, drop=m.inputs[-1].name)), False),
    Case("unknown top-level field", lambda m: body(row(m))[:-1] + b',"extra":1}', False),
    Case("rows an object", lambda m: b'{"rows":' + row(m) + b"}", False),
    Case("rows a string", lambda m: b'{"rows":"x"}', False),
    Case("rows null", lambda m: b'{"rows":null}', False),
    Case("no rows field", lambda m: b"{}", False),
    Case("empty rows", lambda m: body(), False),
    Case("max rows", lambda m: body(*[row(m)] * MAX_ROWS), True),
    Case("too many rows", lambda m: body(*[row(m)] * (MAX_ROWS + 1)), False),
    Case("row an array", lambda m: body(row(m), b"[]"), False),
    Case("row a number", lambda m: body(b"1"), False),
    Case("row null", lambda m: body(row(m), b"null"), False),
    Case("top-level array", lambda m: b"[" + row(m) + b"]", False),
    Case("top-level string", lambda m: b'"rows"', False),
    Case("empty body", lambda m: b"", False),
    Case("invalid JSON", lambda m: body(row(m))[:-2], False),
    Case("trailing comma", lambda m: body(row(m) + b","), False),
    Case("trailing garbage", wrap(b"", b"x"), False),
    Case("trailing object", wrap(b"", b"{}"), False),
    Case("trailing NUL", wrap(b"", b"\x00"), False),
    Case("trailing form feed", wrap(b"", b"\x0c"), False),
    Case("trailing no-break space", wrap(b"", b"\xc2\xa0"), False),
    Case("whitespace around", wrap(b" \n\t\r", b" \t\r\n"), True),
    Case("UTF-8 BOM", wrap(b"\xef\xbb\xbf", b""), False),
]


@pytest.mark.parametrize("manifest_name", list(MANIFESTS))
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_edge_case_gets_the_thorough_verdict(case: Case, manifest_name: str) -> None:
    fast, slow = compare(manifest_name, case.make(MANIFESTS[manifest_name]))
    assert (slow is not None) is case.accepted  # the case is what it says
    assert (fast is not None) is case.accepted


# Bodies the thorough path accepts but the fast path leaves to it: a key given twice whose
# earlier value is invalid (orjson keeps only the last value; msgspec checks each).
SLOW_ONLY = [
    Case("feature first invalid", dup("true", "1"), True),
    Case("feature first out of range", dup("1e301", "1"), True),
    Case(
        "category first invalid",
        lambda m: body(row(m, (category_spec(m).name, '"nope"'), first_category(m))),
        True,
    ),
    Case("notes first too long", ctx_twice(json.dumps("x" * (NOTE + 1)), '"ok"'), True),
    Case("notes first a number", ctx_twice("1", "null"), True),
    Case("rows first empty", lambda m: b'{"rows":[],' + body(row(m))[1:], True),
    Case(
        "rows first too many", lambda m: body(*[row(m)] * (MAX_ROWS + 1))[:-1] + b"," + body(row(m))[1:], True
    ),
]


@pytest.mark.parametrize("manifest_name", list(MANIFESTS))
@pytest.mark.parametrize("case", SLOW_ONLY, ids=[case.name for case in SLOW_ONLY])
def test_a_key_given_twice_after_a_bad_value_is_left_to_the_thorough_path(
    case: Case, manifest_name: str
) -> None:
    fast, slow = compare(manifest_name, case.make(MANIFESTS[manifest_name]))
    assert slow is not None
    assert fast is None


def test_duplicate_keys_keep_the_last_value() -> None:
    manifest = MANIFESTS["press"]
    name = number_spec(manifest).name
    fast, _ = compare(
        "press", body(row(manifest, (name, "0.5"), (name, "1"), ("notes", '"a"'), ("notes", "null")))
    )
    assert fast is not None
    assert fast.numeric[name].tolist() == [1.0]
    assert fast.context == [{}]


def test_values_keep_their_exact_float() -> None:
    manifest = MANIFESTS["demo"]
    fast, _ = compare(
        "demo", body(row(manifest, ("rotational_speed_rpm", "1551"), ("tool_wear_min", "-0.0")))
    )
    assert fast is not None
    assert fast.numeric["rotational_speed_rpm"].tolist() == [1551.0]
    assert math.copysign(1.0, fast.numeric["tool_wear_min"][0]) == -1.0


def test_context_keeps_given_fields_in_order_with_empty_strings() -> None:
    manifest = MANIFESTS["demo"]
    rows = [
        row(manifest, ("notes", '"n"'), ("operator", '""'), ("product_id", "null")),
        row(manifest),
        row(manifest, ("notes", '"😀"'), ("product_id", '"P-1"')),
    ]
    fast, _ = compare("demo", body(*rows))
    assert fast is not None
    assert [list(given.items()) for given in fast.context] == [
        [("operator", ""), ("notes", "n")],
        [],
        [("product_id", "P-1"), ("notes", "😀")],
    ]


def test_awkward_feature_names_map_to_their_columns() -> None:
    """``f0``/``f1``/``class`` as feature names must not be confused with the decoder's own names."""
    fast, _ = compare("odd", b'{"rows":[{"f0":2.5,"class":"\\"q\\"","f1":-1e300}]}')
    assert fast is not None
    assert fast.numeric["f0"].tolist() == [2.5]
    assert fast.numeric["f1"].tolist() == [-1e300]
    assert fast.categorical["class"].tolist() == ['"q"']


def test_the_decoder_tells_its_manifest_and_wants_a_row_limit() -> None:
    assert DECODERS["press"].manifest is MANIFESTS["press"]
    with pytest.raises(ValueError, match="max_rows"):
        RowsDecoder(MANIFESTS["press"], 0)


# --- properties ---------------------------------------------------------------------------------
# A body is built clean and then, at a per-body rate (0 to 30 %), each token, row or framing
# choice is swapped for a nasty one: most bodies are near-valid, which is where paths can differ.

NASTY_NUMBERS = [
    "true", "false", "null", "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-1e-400",
    "-0", "-0.0", "0", "01", "1.", "+1", ".5", '"1"', "[]", "{}", str(10**400), str(-(10**400)),
    "18446744073709551615", "18446744073709551616", "-9223372036854775809", "9007199254740993",
    "1.7976931348623157e308", "1.7976931348623159e308", "2.2250738585072011e-308", "4.9e-324",
]  # fmt: skip
NASTY_STRINGS = [
    b"null",
    b"1",
    b"true",
    b"{}",
    b"[]",
    b'"\\ud800"',
    b'"a\\udc00"',
    b'"\xff"',
    b'"a\nb"',
    b'"',
]
WHITESPACE = [b"", b" ", b"\n", b" \t\r\n"]
GARBAGE = [b"x", b"{}", b"\x00", b"\x0c", b"\xc2\xa0", b",", b"]", b"\xef\xbb\xbf"]
FRAMES = [b"\xef\xbb\xbf", b"\x0c", b"x", b"["]


def with_more_digits(value: float, digits: str) -> str:
    """``value`` written with extra mantissa digits: it rounds to the same float or a neighbour."""
    mantissa, _, exponent = repr(value).partition("e")
    if "." not in mantissa:
        mantissa += "."
    return mantissa + digits + (f"e{exponent}" if exponent else "")


@cache  # each strategy built once: building strategies per draw is what makes Hypothesis slow
def number_tokens(spec: InputSpec, nasty: bool) -> st.SearchStrategy[str]:
    low, high = spec.min, spec.max
    assert low is not None
    assert high is not None
    if nasty:
        return st.one_of(
            st.sampled_from(NASTY_NUMBERS),
            st.sampled_from([repr(math.nextafter(low, -math.inf)), repr(math.nextafter(high, math.inf))]),
            st.floats(allow_nan=False, allow_infinity=False).map(repr),
            st.integers(-(2**80), 2**80).map(str),
        )
    inside = st.floats(low, high)
    strictly_inside = inside.filter(lambda value: low < value < high and value != 0)
    zeros = ["0", "-0", "0.0", "-0.0", "1e-400", "-1e-400", "0e999"] if low <= 0 <= high else [repr(low)]
    return st.one_of(
        inside.map(repr),
        st.integers(math.ceil(low), math.floor(high)).map(str),
        st.builds(with_more_digits, strictly_inside, st.text("0123456789", min_size=1, max_size=20)),
        inside.map(lambda value: f"{value:.25e}"),
        inside.map(lambda value: f"{value:.17E}"),
        st.sampled_from([repr(low), repr(high), *zeros]),
    )


def string_token(text: str, how: int) -> bytes:
    """``text`` as a JSON string: plain UTF-8, ASCII escapes, or every character \\u-escaped."""
    if how == 0:
        return json.dumps(text, ensure_ascii=False).encode()
    if how == 1 or any(ord(char) > 0xFFFF for char in text):
        return json.dumps(text).encode()
    return ('"' + "".join(f"\\u{ord(char):04x}" for char in text) + '"').encode()


@cache
def category_tokens(spec: InputSpec, nasty: bool) -> st.SearchStrategy[bytes]:
    if nasty:
        others = st.builds(string_token, st.text(max_size=4), st.integers(0, 2))
        return st.one_of(others, st.sampled_from(NASTY_STRINGS))
    return st.builds(string_token, st.sampled_from(spec.categories or ()), st.integers(0, 2))


@cache
def context_tokens(limit: int, nasty: bool) -> st.SearchStrategy[bytes]:
    near_limit = st.builds(
        lambda char, extra: char * (limit + extra),
        st.sampled_from(["a", "é", "😀", "\x7f"]),
        st.integers(-1, 0),
    )
    if nasty:
        too_long = st.builds(lambda char: char * (limit + 1), st.sampled_from(["a", "é", "😀"]))
        return st.one_of(st.builds(string_token, too_long, st.integers(0, 2)), st.sampled_from(NASTY_STRINGS))
    texts = st.one_of(st.text(max_size=12), near_limit)
    return st.one_of(st.just(b"null"), st.builds(string_token, texts, st.integers(0, 2)))


def feature_token(draw: st.DrawFn, spec: InputSpec, nasty: bool) -> bytes:
    if spec.type == "number":
        return draw(number_tokens(spec, nasty)).encode()
    return draw(category_tokens(spec, nasty))


@st.composite
def row_tokens(draw: st.DrawFn, manifest: ModelManifest, rate: int) -> tuple[bytes, bool]:
    """A row object's bytes, and whether it gives some key twice."""

    def nasty() -> bool:
        return rate > 0 and draw(st.integers(0, 99)) < rate

    pairs = [(spec.name, feature_token(draw, spec, nasty())) for spec in manifest.inputs]
    for name, limit in CONTEXT_MAX_LENGTHS.items():
        if draw(st.booleans()):
            pairs.append((name, draw(context_tokens(limit, nasty()))))
    if nasty():
        return draw(st.sampled_from([b"[]", b"1", b"null", b'"row"', b"[1]"])), False
    if nasty():
        pairs.pop(draw(st.integers(0, len(pairs) - 1)))
    if nasty():
        pairs.append((draw(st.sampled_from(["extra", "Type", "rows", "", "Notes"])), b"1"))
    twice = nasty()
    if twice:  # a key given again, with a clean or a nasty value
        name, _ = draw(st.sampled_from(pairs))
        spec = next((spec for spec in manifest.inputs if spec.name == name), None)
        limit = CONTEXT_MAX_LENGTHS.get(name, 0)
        other = draw(context_tokens(limit, nasty())) if spec is None else feature_token(draw, spec, nasty())
        pairs.insert(draw(st.integers(0, len(pairs))), (name, other))
    pairs = draw(st.permutations(pairs))
    space = draw(st.sampled_from(WHITESPACE))
    escape_keys = draw(st.integers(0, 3)) == 0
    items = [string_token(name, 2 if escape_keys else 0) + b":" + space + value for name, value in pairs]
    return b"{" + (b"," + space).join(items) + b"}", twice


@st.composite
def bodies(draw: st.DrawFn, manifest: ModelManifest, nasty: bool) -> tuple[bytes, bool]:
    """A request body, and whether it gives some key twice (where the fast path may pass)."""
    rate = draw(st.sampled_from([0, 2, 5, 10, 30])) if nasty else 0

    def trouble() -> bool:
        return rate > 0 and draw(st.integers(0, 99)) < rate

    count = draw(st.integers(0, MAX_ROWS + 1)) if trouble() else draw(st.integers(1, MAX_ROWS))
    drawn = [draw(row_tokens(manifest, rate)) for _ in range(count)]
    rows = b"[" + b",".join(text for text, _ in drawn) + b"]"
    twice = any(flag for _, flag in drawn)
    document = b'{"rows":' + rows + b"}"
    if trouble():
        document = draw(st.sampled_from([rows, b'{"row":' + rows + b"}", document[:-1] + b',"extra":null}']))
    if trouble():  # rows given twice
        document = b'{"rows":' + draw(st.sampled_from([rows, b"[]", b"{}"])) + b"," + document[1:]
        twice = True
    if trouble():
        document = document[: draw(st.integers(0, len(document) - 1))]
    before = draw(st.sampled_from(FRAMES)) if trouble() else draw(st.sampled_from(WHITESPACE))
    after = draw(st.sampled_from(GARBAGE)) if trouble() else draw(st.sampled_from(WHITESPACE))
    return before + document + after, twice


PROPERTY_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("manifest_name", list(MANIFESTS))
@settings(PROPERTY_SETTINGS, max_examples=60)
@given(data=st.data())
def test_clean_bodies_take_the_fast_path_with_the_thorough_columns(
    manifest_name: str, data: st.DataObject
) -> None:
    document, _ = data.draw(bodies(MANIFESTS[manifest_name], nasty=False))
    fast, slow = compare(manifest_name, document)
    assert slow is not None, document
    assert fast is not None, document


@pytest.mark.parametrize("manifest_name", list(MANIFESTS))
@settings(PROPERTY_SETTINGS, max_examples=200)
@given(data=st.data())
def test_the_fast_path_never_accepts_what_the_thorough_path_refuses(
    manifest_name: str, data: st.DataObject
) -> None:
    """The contract, on bodies mixing clean rows with every kind of trouble.

    Without a key given twice the two paths must even agree on the verdict: the fast path is
    taken whenever it could be.
    """
    document, twice = data.draw(bodies(MANIFESTS[manifest_name], nasty=True))
    fast, slow = compare(manifest_name, document)
    event("thorough path accepts" if slow is not None else "thorough path refuses")
    event("fast path taken" if fast is not None else "fast path declines")
    if not twice:
        assert (fast is None) == (slow is None), document


READERS = {name: ScoreBodyReader(MAX_ROWS) for name in MANIFESTS}


@pytest.mark.parametrize("manifest_name", list(MANIFESTS))
@settings(PROPERTY_SETTINGS, max_examples=100)
@given(data=st.data())
def test_the_body_reader_agrees_with_the_reference(manifest_name: str, data: st.DataObject) -> None:
    """The door: same columns as the plain reference, or both refuse (keys given twice included)."""
    manifest = MANIFESTS[manifest_name]
    document, _ = data.draw(bodies(manifest, nasty=data.draw(st.booleans())))
    expected = reference_columns(manifest, document, MAX_ROWS)
    try:
        got: FeatureColumns | None = READERS[manifest_name].columns(document, manifest)
    except (InvalidInput, ApiError):
        got = None
    event("accepted" if expected is not None else "refused")
    if expected is None:
        assert got is None, document[:300]
    else:
        assert got is not None, document[:300]
        assert_same_columns(got, expected)


SCHEMAS = {
    name: Draft202012Validator(RowsDecoder(m, MAX_ROWS).json_schema()) for name, m in MANIFESTS.items()
}


@pytest.mark.parametrize("manifest_name", list(MANIFESTS))
@settings(PROPERTY_SETTINGS, max_examples=100)
@given(data=st.data())
def test_the_documented_schema_accepts_exactly_what_the_app_accepts(
    manifest_name: str, data: st.DataObject
) -> None:
    """The OpenAPI document's body schema (generated from the decoder's types) and the app agree."""
    manifest = MANIFESTS[manifest_name]
    document, _ = data.draw(bodies(manifest, nasty=data.draw(st.booleans())))
    try:
        decoded = orjson.loads(document)
    except orjson.JSONDecodeError:
        return  # not JSON: no schema to ask
    accepted = reference_columns(manifest, document, MAX_ROWS) is not None
    event("accepted" if accepted else "refused")
    assert SCHEMAS[manifest_name].is_valid(decoded) == accepted, document[:300]
