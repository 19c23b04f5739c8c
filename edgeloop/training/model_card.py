"""A model card for a registered version: Markdown, with ROC and precision-recall curves as PNG.

Plots are drawn with matplotlib's Agg backend (no display needed) for the
challenger and, when there is one, the champion, on the same held-out rows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files only (servers, CI)

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from sklearn.metrics import precision_recall_curve, roc_curve

ROC_FILE = "roc.png"
PR_FILE = "precision_recall.png"
CARD_FILE = "model_card.md"

Curves = Mapping[str, npt.NDArray[np.float64]]  # model label -> risk scores on the held-out rows


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def curve_plots(labels: npt.NDArray[Any], scores: Curves) -> dict[str, bytes]:
    """``{roc.png, precision_recall.png}`` comparing the models given."""
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


def _metrics_table(scores: Mapping[str, Mapping[str, float]]) -> list[str]:
    names = ("roc_auc", "average_precision", "f1_at_threshold", "brier", "ece", "threshold")
    lines = ["| model | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for label, values in scores.items():
        lines.append(f"| {label} | " + " | ".join(f"{values[name]:.4f}" for name in names) + " |")
    return lines


def model_card(report: Mapping[str, Any]) -> bytes:
    """The card's Markdown from a run report (see edgeloop.service_layer.retraining)."""
    decision = report["decision"]
    counts = report["data"]
    lines = [
        f"# {report['model']} {report['version']}",
        "",
        f"Trained by run `{report['run_id']}` ({report['reason']}) at {report['started_at']}.",
        f"Champion at training time: {report.get('champion_version') or 'none'}.",
        "",
        f"## Decision: {decision['outcome']}",
        "",
        *(f"- {reason}" for reason in decision["reasons"]),
        "",
        "## Data",
        "",
        f"- base rows: {counts['base_rows']} (failure rate {counts['base_positive_rate']:.2%})",
        f"- new labelled rows from the sites: {counts['new_labelled_rows']} "
        f"({counts['out_of_schema_rows']} outside the schema, {counts['duplicate_rows']} duplicates "
        "of held-out rows, both left out)",
        f"- training + validation rows: {counts['train_rows']}; held-out rows: {counts['holdout_rows']}",
        "",
        "## Held-out metrics",
        "",
        *_metrics_table(report["metrics"]),
        "",
        "F1 is at each model's own decision threshold; Brier score and ECE (10 bins) measure calibration.",
        "",
        f"![ROC]({ROC_FILE})",
        f"![Precision-recall]({PR_FILE})",
        "",
        "## Intended use",
        "",
        "Machine-failure risk for the AI4I 2020 milling process; scored at the edge, with an",
        "out-of-distribution score flagging readings unlike the training data.",
        "",
    ]
    return "\n".join(lines).encode("utf-8")
