"""The manifest's ``drift`` (structure already checked) as a :class:`DriftProfile`: the rules across fields.

A profiled feature is one of the inputs, of the same type, at most once; a number's bins
have increasing edges and one share per bin; a category's shares name its categories;
shares add up to 1 (within :data:`SHARE_TOLERANCE`, they are written rounded); ``ks``
needs quantiles (non-decreasing); the thresholds (given or the statistic's defaults,
edgeloop.domain.drift.DEFAULT_THRESHOLDS) keep ``watch`` below ``drift``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from edgeloop.domain.drift import (
    DEFAULT_THRESHOLDS,
    CategoryProfile,
    DriftProfile,
    FeatureProfile,
    NumberProfile,
    Thresholds,
)
from edgeloop.domain.drift_documents import (
    CategoryProfileDocument,
    DriftProfileDocument,
    NumberProfileDocument,
)
from edgeloop.domain.manifest_specs import InputSpec, ManifestError

SHARE_TOLERANCE = 1e-3


def parse_drift_profile(
    document: DriftProfileDocument | None, inputs: Sequence[InputSpec]
) -> DriftProfile | None:
    """The profile (None: the manifest has none, drift is unavailable); ManifestError names the field."""
    if document is None:
        return None
    by_name = {spec.name: spec for spec in inputs}
    features: dict[str, FeatureProfile] = {}
    for index, item in enumerate(document.features):
        path = f"drift.features[{index}]"
        spec = by_name.get(item.name)
        if spec is None:
            raise ManifestError(f"{path}.name", f"{item.name!r} is not one of the inputs")
        if item.name in features:
            raise ManifestError(f"{path}.name", f"{item.name!r} is profiled twice")
        if spec.type != item.type:
            raise ManifestError(f"{path}.type", f"{item.name!r} is a {spec.type} input, not a {item.type}")
        if isinstance(item, NumberProfileDocument):
            features[item.name] = _number(item, path)
        else:
            features[item.name] = _category(item, path, spec.categories or ())
    return DriftProfile(features, document.profiled_rows)


def _number(item: NumberProfileDocument, path: str) -> NumberProfile:
    edges = item.edges
    if any(low >= high for low, high in pairwise(edges)):
        raise ManifestError(f"{path}.edges", "must be strictly increasing")
    if len(item.proportions) != len(edges) + 1:
        message = f"must have one share per bin ({len(edges) + 1}), got {len(item.proportions)}"
        raise ManifestError(f"{path}.proportions", message)
    _check_total(item.proportions, f"{path}.proportions")
    quantiles = item.quantiles
    if any(low > high for low, high in pairwise(quantiles)):
        raise ManifestError(f"{path}.quantiles", "must not decrease")
    if item.statistic == "ks" and len(quantiles) < 2:
        raise ManifestError(f"{path}.quantiles", "ks needs at least 2 quantiles")
    thresholds = _thresholds(item.watch, item.drift, item.statistic, path)
    return NumberProfile(item.statistic, tuple(edges), tuple(item.proportions), tuple(quantiles), thresholds)


def _category(item: CategoryProfileDocument, path: str, categories: Sequence[str]) -> CategoryProfile:
    for name in item.proportions:
        if name not in categories:
            message = f"{name!r} is not one of the input's categories"
            raise ManifestError(f"{path}.proportions.{name}", message)
    _check_total(list(item.proportions.values()), f"{path}.proportions")
    # Every category of the input, in its order; one the profile leaves out had no training rows.
    shares = {name: item.proportions.get(name, 0.0) for name in categories}
    return CategoryProfile(shares, _thresholds(item.watch, item.drift, "psi", path))


def _check_total(shares: Sequence[float], path: str) -> None:
    total = sum(shares)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ManifestError(path, f"must add up to 1, got {total:g}")


def _thresholds(watch: float | None, drift: float | None, statistic: str, path: str) -> Thresholds:
    default = DEFAULT_THRESHOLDS["ks" if statistic == "ks" else "psi"]
    resolved = Thresholds(
        default.watch if watch is None else watch, default.drift if drift is None else drift
    )
    if not resolved.watch < resolved.drift:
        raise ManifestError(
            f"{path}.drift", f"must be greater than watch ({resolved.watch:g}), got {resolved.drift:g}"
        )
    return resolved
