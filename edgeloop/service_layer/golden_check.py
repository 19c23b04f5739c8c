"""The last check before a new model serves: its own outputs on the golden rows shipped with it.

The model is warmed up on those rows first (the first runs allocate; requests should not pay
for that), then its outputs are compared with the golden ones; any mismatch rejects the bundle.
"""

from __future__ import annotations

from edgeloop.domain.bundle_integrity import GoldenSample, golden_mismatches
from edgeloop.domain.validation import RowValidationError, validate_rows
from edgeloop.ports import ScoringModel
from edgeloop.service_layer.signed_bundles import BundleRejected

WARM_UP_ROUNDS = 3


def check_golden(model: ScoringModel, golden: GoldenSample) -> None:
    """Warm the model up on the golden rows, then compare its outputs; BundleRejected on a mismatch."""
    try:
        columns = validate_rows(model.manifest, list(golden.rows))
    except RowValidationError as exc:
        raise BundleRejected(f"golden rows do not fit the manifest: {exc.errors[0]}") from None
    for _ in range(WARM_UP_ROUNDS):
        outputs = model.predict(columns)
    problems = golden_mismatches(golden, {name: values.tolist() for name, values in outputs.items()})
    if problems:
        raise BundleRejected("golden check failed: " + "; ".join(problems))
