"""A model card for a registered version: Markdown, with plots per task as PNG.

Binary: ROC and precision-recall curves; multiclass: a confusion matrix per model;
regression: residuals against the prediction per model. Plots are drawn with
matplotlib's Agg backend (no display needed) for the challenger and the champion,
on the same held-out rows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files only (servers, CI)

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

from edgeloop.domain.tasks import BinaryTask, DetectionTask, MulticlassTask, Task
from edgeloop.recipes.ai4i_failure import ENTRY_POINT as DEMO_RECIPE  # its card names the derived features
from edgeloop.training.onnx_export import DERIVED_FEATURES

ROC_FILE = "roc.png"
PR_FILE = "precision_recall.png"
CONFUSION_FILE = "confusion_matrix.png"
RESIDUALS_FILE = "residuals.png"
CARD_FILE = "model_card.md"
PLOT_TITLES = {
    ROC_FILE: "ROC",
    PR_FILE: "Precision-recall",
    CONFUSION_FILE: "Confusion matrix",
    RESIDUALS_FILE: "Residuals",
}

Outputs = Mapping[str, npt.NDArray[Any]]
ModelOutputs = Mapping[str, tuple[Task, Outputs]]  # model label -> its task and outputs on the rows


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def curve_plots(labels: npt.NDArray[Any], scores: Mapping[str, npt.NDArray[np.float64]]) -> dict[str, bytes]:
    """``{roc.png, precision_recall.png}`` comparing the models' risk scores."""
    roc, axes = plt.subplots(figsize=(4.5, 4.0))
    for label, risk in scores.items():
        fpr, tpr, _ = roc_curve(labels, risk)
        axes.plot(fpr, tpr, label=label)
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC (held-out rows)")
    axes.legend(loc="lower right")
    pr, axes = plt.subplots(figsize=(4.5, 4.0))
    for label, risk in scores.items():
        precision, recall, _ = precision_recall_curve(labels, risk)
        axes.plot(recall, precision, label=label)
    axes.set(xlabel="Recall", ylabel="Precision", title="Precision-recall (held-out rows)")
    axes.legend(loc="lower left")
    return {ROC_FILE: _png(roc), PR_FILE: _png(pr)}


def confusion_plot(labels: npt.NDArray[Any], models: ModelOutputs) -> bytes:
    figure, panels = plt.subplots(1, len(models), figsize=(4.5 * len(models), 4.0), squeeze=False)
    for axes, (label, (task, outputs)) in zip(panels[0], models.items(), strict=True):
        assert isinstance(task, MulticlassTask)
        matrix = confusion_matrix(labels, task.predicted_classes(outputs), labels=list(task.classes))
        axes.imshow(matrix, cmap="Blues")
        for (row, column), count in np.ndenumerate(matrix):
            axes.text(column, row, str(count), ha="center", va="center", fontsize=8)
        ticks = range(len(task.classes))
        axes.set_xticks(ticks, task.classes, rotation=45, ha="right")
        axes.set_yticks(ticks, task.classes)
        axes.set(xlabel="Predicted", ylabel="Actual", title=label)
    return _png(figure)


def residual_plot(labels: npt.NDArray[Any], models: ModelOutputs) -> bytes:
    figure, axes = plt.subplots(figsize=(5.0, 4.0))
    for label, (task, outputs) in models.items():
        value = np.asarray(outputs[task.prediction_outputs[0]], dtype=np.float64)
        axes.scatter(value, labels.astype(np.float64) - value, s=6, alpha=0.5, label=label)
    axes.axhline(0.0, color="grey", linestyle=":")
    axes.set(xlabel="Predicted", ylabel="Actual - predicted", title="Residuals (held-out rows)")
    axes.legend(loc="best")
    return _png(figure)


def task_plots(labels: npt.NDArray[Any], models: ModelOutputs) -> dict[str, bytes]:
    """The plots of the labels' task (the first model's), comparing every model given."""
    first = next(iter(models.values()))[0]
    if isinstance(first, BinaryTask):
        if len(set(labels.tolist())) < 2:
            return {}  # curves need both classes
        risks = {}
        for label, (task, outputs) in models.items():
            assert isinstance(task, BinaryTask)
            risks[label] = np.asarray(outputs[task.risk_output], dtype=np.float64)
        return curve_plots(labels.astype(np.int64), risks)
    if isinstance(first, MulticlassTask):
        return {CONFUSION_FILE: confusion_plot(labels, models)}
    if isinstance(first, DetectionTask):
        return {}  # boxes per image: the card's precision, recall and F1 say it
    return {RESIDUALS_FILE: residual_plot(labels, models)}


def _metrics_table(scores: Mapping[str, Mapping[str, float]]) -> list[str]:
    names = list(next(iter(scores.values()), {}))
    lines = ["| model | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for label, values in scores.items():
        figures = (f"{values.get(name, float('nan')):.4f}" for name in names)
        lines.append(f"| {label} | " + " | ".join(figures) + " |")
    return lines


def _data_lines(counts: Mapping[str, Any]) -> list[str]:
    if counts.get("task", "binary") == "regression":
        spread = f"target mean {counts['base_target_mean']:.4g}, std {counts['base_target_std']:.4g}"
    else:
        rates = counts.get("base_class_rates") or {}
        spread = "class rates " + ", ".join(f"{name}: {rate:.2%}" for name, rate in rates.items())
    return [
        f"- base rows: {counts['base_rows']} ({spread})",
        f"- new labelled rows from the sites: {counts['new_labelled_rows']} "
        f"({counts['out_of_schema_rows']} outside the schema, {counts['duplicate_rows']} duplicates "
        "of held-out rows, both left out)",
        f"- training + validation rows: {counts['train_rows']}; held-out rows: {counts['holdout_rows']}",
    ]


def _frame_lines(frames: Mapping[str, Any] | None) -> list[str]:
    """An image model's: the labelled frames the sites let out, per site (service_layer.labelled_frames)."""
    if not frames:
        return []
    sites = ", ".join(f"{site}: {count}" for site, count in frames["sites"].items()) or "no site"
    return [
        f"- labelled frames the sites let out: {frames['labelled_frames']} ({sites}); "
        f"labelled frames kept on site: {frames['labels_without_frame']}"
    ]


def _model_lines(recipe: Mapping[str, Any]) -> list[str]:
    """What the recipe fitted: its parameters; for the demo's recipe, the features its graph derives."""
    parameters = ", ".join(
        f"`{key}` {value!r}" for key, value in sorted((recipe.get("parameters") or {}).items())
    )
    lines = [f"Fitted by the recipe with {parameters or 'its default parameters'}."]
    if recipe.get("entry_point") == DEMO_RECIPE:
        lines += [
            "Gradient-boosted trees (scikit-learn, exported with skl2onnx) on the six inputs and on",
            "features the ONNX graph derives from them after the AI4I failure rules (a margin below 0:",
            f"the rule fires): {', '.join(f'`{name}`' for name in DERIVED_FEATURES)}.",
        ]
    return lines


def model_card(report: Mapping[str, Any], plot_files: Sequence[str] = ()) -> bytes:
    """The card's Markdown from a run report (see edgeloop.service_layer.retraining)."""
    decision = report["decision"]
    lines = [
        f"# {report['model']} {report['version']}",
        "",
        f"Trained by run `{report['run_id']}` ({report['reason']}) at {report['started_at']}.",
        f"Champion at training time: {report.get('champion_version') or 'none'}.",
        f"Recipe: `{(report.get('recipe') or {}).get('entry_point', 'unknown')}`.",
        "",
        f"## Decision: {decision['outcome']}",
        "",
        *(f"- {reason}" for reason in decision["reasons"]),
        "",
        "## Data",
        "",
        *_data_lines(report["data"]),
        *_frame_lines(report.get("frames")),
        "",
        "## Held-out metrics",
        "",
        *_metrics_table(report["metrics"]),
        "",
        "On the base data's held-out rows (never trained on); each model with its own decision rule.",
        "",
        *(f"![{PLOT_TITLES.get(name, name)}]({name})" for name in plot_files),
        "",
        "## Model",
        "",
        *_model_lines(report.get("recipe") or {}),
        "",
        "## Intended use",
        "",
        str(report.get("description") or "See the manifest's description."),
        "",
    ]
    return "\n".join(lines).encode("utf-8")
