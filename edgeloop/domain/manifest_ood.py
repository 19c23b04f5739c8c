"""The manifest's out-of-distribution rule: which output is the OOD score, its threshold, its direction."""

from __future__ import annotations

from dataclasses import dataclass

from edgeloop.domain.manifest_document import ManifestDocument
from edgeloop.domain.manifest_specs import ManifestError, OodDirection
from edgeloop.domain.tasks import Task


@dataclass(frozen=True, slots=True)
class OodRule:
    output: str | None
    threshold: float | None
    direction: OodDirection


def parse_ood_rule(document: ManifestDocument, output_names: tuple[str, ...], task: Task) -> OodRule:
    ood_output, ood_threshold = document.ood_output, document.ood_threshold
    if ood_output is None:
        return OodRule(None, None, document.ood_direction)
    if ood_output not in output_names:
        raise ManifestError("ood_output", f"{ood_output!r} is not one of the outputs")
    if ood_output in task.prediction_outputs:
        raise ManifestError("ood_output", "must not be one of the task's prediction outputs")
    if ood_threshold is None:
        raise ManifestError("ood_threshold", "missing (required with ood_output)")
    return OodRule(ood_output, ood_threshold, document.ood_direction)
