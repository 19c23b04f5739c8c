"""The manifest document's ``drift`` object (the training profile), as pydantic models.

Structure only (types, required fields, enums, bounds): the rules that span fields (a
profiled feature is an input of the same type, the bins and their shares agree, shares
add up to 1, ``watch`` is below ``drift``) are checked by edgeloop.domain.drift_profile.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from edgeloop.domain.document_types import DocumentModel, FeatureName

Share = Annotated[float, Field(ge=0.0, le=1.0)]
_WATCH = "The statistic's value from which the feature is 'watch' (default: the statistic's)"
_DRIFT = "The statistic's value from which the feature is 'drift' (default: the statistic's)"


class NumberProfileDocument(DocumentModel):
    """A number feature in training: its quantile bins with their shares, and its quantiles."""

    name: FeatureName
    type: Literal["number"]
    statistic: Literal["psi", "ks"] = Field(default="psi", description="psi over the bins, or ks")
    edges: list[float] = Field(
        min_length=1, description="Inner bin edges, increasing: bin i holds edges[i-1] <= x < edges[i]"
    )
    proportions: list[Share] = Field(
        min_length=2, description="The share of training rows per bin (len(edges) + 1, adding up to 1)"
    )
    quantiles: list[float] = Field(
        default_factory=list, description="Training quantiles, evenly spaced levels 0..1 (ks needs 2 or more)"
    )
    watch: float | None = Field(default=None, gt=0, description=_WATCH)
    drift: float | None = Field(default=None, gt=0, description=_DRIFT)


class CategoryProfileDocument(DocumentModel):
    """A category feature in training: the share of each category."""

    name: FeatureName
    type: Literal["category"]
    statistic: Literal["psi"] = "psi"
    proportions: dict[str, Share] = Field(
        min_length=1, description="Category -> share of training rows (adding up to 1)"
    )
    watch: float | None = Field(default=None, gt=0, description=_WATCH)
    drift: float | None = Field(default=None, gt=0, description=_DRIFT)


FeatureProfileDocument = Annotated[
    NumberProfileDocument | CategoryProfileDocument, Field(discriminator="type")
]


class DriftProfileDocument(DocumentModel):
    """What drift at the edge compares recent inputs with (docs/drift.md); absent: drift unavailable."""

    profiled_rows: int = Field(ge=1, description="Training rows the profile summarises")
    features: list[FeatureProfileDocument] = Field(min_length=1)
