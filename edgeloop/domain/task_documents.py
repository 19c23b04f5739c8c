"""The manifest document's ``task``, ``evaluation`` and ``recipe`` objects, as pydantic models.

Structure only (types, required fields, enums, patterns, bounds): the rules that
span fields (the outputs a task names exist, one probability output per class,
a band's low below its high, a primary metric of the task's kind) are checked by
the parsers in edgeloop.domain.tasks, metrics and recipes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from edgeloop.domain.document_types import DocumentModel, EntryPoint, NonBlank
from edgeloop.domain.metrics import TASK_METRICS, MarginKind
from edgeloop.domain.recipes import DEFAULT_TIME_LIMIT_SECONDS, BaseDataFormat

_ALL_METRICS = tuple(dict.fromkeys(name for metrics in TASK_METRICS.values() for name in metrics))
Metric = Literal[_ALL_METRICS]  # type: ignore[valid-type]  # built from TASK_METRICS, one list


class BinaryTaskDocument(DocumentModel):
    """A probability-like risk output; the actual outcome is 0 or 1."""

    kind: Literal["binary"]
    risk_output: str = Field(description="The output that carries the risk (one of outputs)")
    threshold: float = Field(description="A risk at or above it is an anomaly (high_risk)")
    label_names: Annotated[list[NonBlank], Field(min_length=2, max_length=2)] | None = Field(
        default=None, description="What the outcomes 0 and 1 mean, for people"
    )


class MulticlassTaskDocument(DocumentModel):
    """One probability output per class, in the order of ``classes``; the outcome is a class name."""

    kind: Literal["multiclass"]
    classes: list[NonBlank] = Field(min_length=2, description="The class names (unique)")
    probability_outputs: list[str] = Field(
        description="One output per class, same order as classes (each one of outputs)"
    )
    alert_classes: list[NonBlank] = Field(
        default_factory=list, description="A predicted class among them is an anomaly (alert_class)"
    )
    min_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="A top probability below it is an anomaly (low_confidence)"
    )


class BandDocument(DocumentModel):
    low: float | None = Field(default=None, description="A value below is out of band")
    high: float | None = Field(default=None, description="A value above is out of band (greater than low)")


class RegressionTaskDocument(DocumentModel):
    """A value output, optionally an interval; the outcome is a number."""

    kind: Literal["regression"]
    value_output: str = Field(description="The output that carries the value (one of outputs)")
    lower_output: str | None = Field(
        default=None, description="The interval's lower bound (with upper_output)"
    )
    upper_output: str | None = Field(
        default=None, description="The interval's upper bound (with lower_output)"
    )
    band: BandDocument = Field(
        default=BandDocument(), description="Outside it: out_of_band"
    )  # frozen: shared safely
    unit: str = ""


class DetectionTaskDocument(DocumentModel):
    """Boxes, classes and scores per image (graph outputs); thresholded and suppressed after the graph."""

    kind: Literal["detection"]
    classes: list[NonBlank] = Field(
        min_length=1, description="The class names (unique), as classes_output indexes them"
    )
    boxes_output: str = Field(description="[n, k, 4] corners x1, y1, x2, y2 in input pixels (one of outputs)")
    classes_output: str = Field(description="[n, k] each candidate's class index (one of outputs)")
    scores_output: str = Field(description="[n, k] each candidate's score (one of outputs)")
    score_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Candidates scored below are dropped"
    )
    iou_threshold: float = Field(
        default=0.45,
        gt=0.0,
        le=1.0,
        description="Non-maximum suppression: a box overlapping a better one more is dropped",
    )
    # At most 25: the verdicts on them ("reject," each) fit a feedback label (records.MAX_LABEL_LENGTH).
    max_detections: int = Field(default=20, ge=1, le=25, description="At most this many detections per image")
    alert_classes: list[NonBlank] = Field(
        default_factory=list, description="A detection of one of them is an anomaly (alert_class)"
    )
    min_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="A detection scored below it is an anomaly (low_confidence)"
    )


TaskDocument = Annotated[
    BinaryTaskDocument | MulticlassTaskDocument | RegressionTaskDocument | DetectionTaskDocument,
    Field(discriminator="kind"),
]


class EvaluationDocument(DocumentModel):
    """How a model is judged against its champion; an absent (or null) field takes the task's default."""

    primary_metric: Metric | None = Field(default=None, description="One of the task's metrics")
    margin: float | None = Field(default=None, ge=0.0, description="How much worse a challenger may be")
    margin_kind: MarginKind | None = Field(
        default=None, description="relative: a share of the champion's figure"
    )
    max_label_shift: float | None = Field(default=None, gt=0.0, description="Bound on the new labels' shift")


class BaseDataDocument(DocumentModel):
    """The rows a retraining run starts from."""

    uri: NonBlank = Field(description="A file path, or blob://container/prefix")
    format: BaseDataFormat
    columns: dict[str, str] = Field(min_length=1, description="Source column -> feature name")
    label: str = Field(description="The source column holding the label or target")
    time: str | None = Field(default=None, description="The source column holding each row's time")


class RecipeDocument(DocumentModel):
    """The data scientists' training code: ``function(dataset, parameters)`` (edgeloop.domain.recipes)."""

    entry_point: EntryPoint = Field(description="package.module:function")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Handed to the function as is")
    requirements: list[str] = Field(default_factory=list, description="pip requirement specifiers")
    time_limit_seconds: float = Field(default=DEFAULT_TIME_LIMIT_SECONDS, gt=0.0)
    base_data: BaseDataDocument | None = None
