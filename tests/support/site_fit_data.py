"""Data of the per-site fit tests: an uninformative champion and the sites' labelled rows.

The champion says 0.5 for every row (``support.tiny_recipes:constant``, ROC AUC 0.5 on any
slice) but carries the demo's forest recipe, so a retraining run trains a real challenger.
The drifted site's machines fail the other way round: its rows are the AI4I rows with the
label flipped (``write_labelled_records(flip=True)``), so a model of the fleet's relation
is worse there than knowing nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from support.model_loop import MODEL_NAME, write_labelled_records
from support.tiny_recipes import constant

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.bootstrap.first_bundle import parse_template
from edgeloop.domain.records import format_timestamp
from edgeloop.domain.retraining_data import complete_manifest_fields
from edgeloop.recipes.ai4i_failure import manifest_template
from edgeloop.training.bundle import write_bundle

BASE_ROWS = 1000
SITE_ROWS = 500
DRIFTED = "site-drift"
STEADY = ("site-a", "site-b")


def uninformative_champion(out_dir: Path, base_csv: Path) -> Path:
    """Version 1.0.0 of the demo's line: a constant model declaring the forest recipe."""
    recipe = parse_template(manifest_template(str(base_csv), {"seed": 7, "n_estimators": 5})).recipe
    assert recipe is not None
    result = constant(None, {})  # type: ignore[arg-type]  # it reads no data
    fields = complete_manifest_fields(
        result.manifest_fields,
        name=MODEL_NAME,
        version="1.0.0",
        created_at=format_timestamp(datetime.now(UTC)),
        recipe=recipe.to_dict(),
        training_data={},
        defaults={},
    )
    write_bundle(out_dir, fields, {str(fields["model_file"]): result.onnx_model})
    return out_dir


def write_fleet_rows(store: AzureBlobStore, container: str, drifted_rows: int) -> None:
    """Steady sites with the true labels after the base rows; the drifted site's flipped."""
    skip = BASE_ROWS
    for site in STEADY:
        write_labelled_records(store, container, skip=skip, count=SITE_ROWS, site=site)
        skip += SITE_ROWS
    write_labelled_records(store, container, skip=skip, count=drifted_rows, flip=True, site=DRIFTED)
