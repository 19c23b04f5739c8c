"""The rows a first bundle's golden sample is recorded on (``make run``'s first champion, ``models publish``).

Its recipe's base rows that the input schema accepts; an image model's held-out base frames; a
bundle without a recipe: the demo's CSV rows or rows spread over its input schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import ManifestError, ModelManifest
from edgeloop.service_layer.model_publishing import GOLDEN_ROWS

DEMO_BASE_DATA = "data/ai4i2020-train.csv"


def golden_rows_for(
    settings: RetrainingSettings, manifest: ModelManifest, count: int = GOLDEN_ROWS
) -> list[dict[str, Any]]:
    """Rows to record a bundle's golden sample on: the first base rows of its recipe's data that
    its input schema accepts; a bundle without a recipe: see :func:`_rows_without_base_data`."""
    from edgeloop.domain.validation import RowValidationError, validate_rows

    recipe = settings.recipe or manifest.recipe
    if manifest.image_input is not None and recipe is not None and recipe.base_data is None:
        from edgeloop.training.image_training_set import base_golden_rows

        return base_golden_rows(recipe, manifest.inputs[0].name, count)  # frames, not rows
    if recipe is None or recipe.base_data is None:
        return _rows_without_base_data(settings, manifest, count)
    from edgeloop.adapters.blob_storage import AzureBlobStore
    from edgeloop.training.base_data import load_base_data
    from edgeloop.training.training_set import first_dataset

    reader = None
    if (settings.base_data or recipe.base_data.uri).startswith("blob://"):
        reader = AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"))
    base = load_base_data(
        recipe.base_data, manifest.task, inputs=manifest.inputs, reader=reader, uri=settings.base_data
    )
    dataset = first_dataset(base, manifest.task, settings.seed)
    rows = []
    for row in dataset.rows(dataset.indices("holdout")[: count * 4]):
        try:
            validate_rows(manifest, [row])
        except RowValidationError:
            continue
        rows.append(row)
    if not rows:
        raise ManifestError("inputs", "no base data row fits the input schema (no golden sample possible)")
    return rows[:count]


def _rows_without_base_data(
    settings: RetrainingSettings, manifest: ModelManifest, count: int
) -> list[dict[str, Any]]:
    """The AI4I CSV's rows for the demo's first bundles (its six inputs), else rows spread over the
    input schema: a data scientist's own bundle without a recipe publishes all the same."""
    from edgeloop.domain.bundle_integrity import schema_rows
    from edgeloop.domain.validation import RowValidationError, validate_rows
    from edgeloop.recipes.ai4i_inputs import CSV_COLUMNS

    if set(manifest.feature_names) == set(CSV_COLUMNS.values()):
        from edgeloop.training.dataset import load_ai4i, scoring_rows

        data = load_ai4i(Path(settings.base_data or DEMO_BASE_DATA))
        rows = scoring_rows(data, range(min(count, data.n_rows)))
        try:
            validate_rows(manifest, rows)
        except RowValidationError:
            pass  # the demo's inputs with other ranges: the schema's rows below
        else:
            return rows
    return schema_rows(manifest.inputs, count)
