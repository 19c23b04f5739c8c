"""A detection model's feedback label: a verdict per detection, then the defects the model missed.

The grammar (one string, so the compliance policy's ``label`` rule vets it as any label)::

    label    = verdicts *( ";" missed )
    verdicts = [ verdict *( "," verdict ) ]        ; "accept" or "reject", one per detection, in order
    missed   = class "@" x1 "," y1 "," x2 "," y2   ; one of the model's classes; its box's corners

``"accept,reject"`` judges two detections (the grammar of before, unchanged);
``"accept;scratch@0.1,0.62,0.3,0.8"`` judges one and adds a scratch the model did not find;
``";scratch@0.1,0.62,0.3,0.8"`` adds one to a frame with no detection. Corners are fractions of
the model's input (0..1, at most :data:`DECIMALS` decimals), ``x1 < x2`` and ``y1 < y2``; at
most :data:`MAX_MISSED` missed boxes, and the whole label at most
:data:`~edgeloop.domain.label_bounds.MAX_LABEL_LENGTH` characters. A label judges something:
at least one verdict or one missed box. :func:`parse_detection_label` reads it, or raises
:class:`DetectionLabelError` saying what is wrong (which box, which class, which corner).
Whether the verdicts judge the insight's detections one for one is the caller's to check
(it knows the insight). A class whose name holds ``;`` cannot be named in a missed box. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from edgeloop.domain.label_bounds import MAX_LABEL_LENGTH

VERDICTS = ("accept", "reject")
MAX_MISSED = 5  # bounds what one label adds (a box takes about 30 characters of MAX_LABEL_LENGTH)
DECIMALS = 4
MISSED_SEPARATOR = ";"
SYNTAX = "'accept,reject' (a verdict per detection), then ';class@x1,y1,x2,y2' per missed defect"
_NUMBER = re.compile(rf"[0-9]+(\.[0-9]{{1,{DECIMALS}}})?")  # ASCII digits, as the schema's pattern
_CORNERS = ("x1", "y1", "x2", "y2")

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 as fractions of the model's input


class DetectionLabelError(ValueError):
    """A detection label that does not follow the grammar (the message says what and where)."""


@dataclass(frozen=True, slots=True)
class MissedDefect:
    """A defect the model did not find, as the operator drew it."""

    class_name: str
    box: Box

    def to_text(self) -> str:
        return f"{self.class_name}@" + ",".join(f"{round(value, DECIMALS):g}" for value in self.box)


@dataclass(frozen=True, slots=True)
class DetectionLabel:
    """A parsed label: ``verdicts[i]`` is True where detection ``i`` was accepted; then the missed boxes."""

    verdicts: tuple[bool, ...]
    missed: tuple[MissedDefect, ...] = ()

    def to_text(self) -> str:
        judged = ",".join(VERDICTS[0] if accepted else VERDICTS[1] for accepted in self.verdicts)
        return MISSED_SEPARATOR.join([judged, *(defect.to_text() for defect in self.missed)])


def parse_detection_label(label: str, classes: Sequence[str] | None = None) -> DetectionLabel:
    """``label`` read by the grammar; ``classes``: the model's (None: any class name, unchecked)."""
    if not 1 <= len(label) <= MAX_LABEL_LENGTH:
        raise DetectionLabelError(f"must have 1 to {MAX_LABEL_LENGTH} characters, got {len(label)}")
    judged, *boxes = label.split(MISSED_SEPARATOR)
    words = judged.split(",") if judged else []
    for number, word in enumerate(words, start=1):
        if word not in VERDICTS:
            raise DetectionLabelError(f"verdict {number} is {word[:20]!r}, not accept or reject; {SYNTAX}")
    if len(boxes) > MAX_MISSED:
        raise DetectionLabelError(f"adds {len(boxes)} missed defects, at most {MAX_MISSED}")
    missed = tuple(_missed(number, text, classes) for number, text in enumerate(boxes, start=1))
    if not words and not missed:
        raise DetectionLabelError(f"judges nothing; {SYNTAX}")
    return DetectionLabel(tuple(word == VERDICTS[0] for word in words), missed)


def _missed(number: int, text: str, classes: Sequence[str] | None) -> MissedDefect:
    where = f"missed defect {number} ({text[:40]!r})"
    name, at, corners = text.rpartition("@")
    if not at or not name:
        raise DetectionLabelError(f"{where} must be class@x1,y1,x2,y2")
    if classes is not None and name not in classes:
        raise DetectionLabelError(f"{where}: unknown class {name[:40]!r}, not one of {', '.join(classes)}")
    values = corners.split(",")
    if len(values) != len(_CORNERS):
        raise DetectionLabelError(f"{where} must have 4 corners x1,y1,x2,y2, got {len(values)}")
    box: list[float] = []
    for corner, value in zip(_CORNERS, values, strict=True):
        if _NUMBER.fullmatch(value) is None:
            raise DetectionLabelError(f"{where}: {corner} must be a number with at most {DECIMALS} decimals")
        if not 0.0 <= float(value) <= 1.0:
            raise DetectionLabelError(f"{where}: {corner} is {value}, out of 0..1 (a fraction of the input)")
        box.append(float(value))
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise DetectionLabelError(f"{where}: needs x1 < x2 and y1 < y2")
    return MissedDefect(name, (x1, y1, x2, y2))


def label_pattern(classes: Sequence[str]) -> str:
    """The grammar as a regular expression (for the OpenAPI schema): its syntax, not its bounds
    (corners in 0..1, ``x1 < x2``, a verdict per detection), which the parser checks."""
    verdicts = "(accept|reject)(,(accept|reject))*"
    number = _NUMBER.pattern
    names = "|".join(re.escape(name) for name in classes)
    return rf"^({verdicts})?(;({names})@{number},{number},{number},{number}){{0,{MAX_MISSED}}}$"


def verdicts_of(label: str) -> list[bool]:
    """A detection label's verdicts (its missed boxes left out), True where a detection was accepted."""
    judged = label.split(MISSED_SEPARATOR, 1)[0]
    return [verdict == VERDICTS[0] for verdict in judged.split(",")] if judged else []


def missed_count_of(label: str) -> int:
    """How many missed boxes a detection label adds (its verdicts left out)."""
    return label.count(MISSED_SEPARATOR)
