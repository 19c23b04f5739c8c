"""Wire insights of the tiny image model (support.image_bundles: classes bright and dark, dark the
defect class) and its Power BI dataset, for the vision tables' tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from support.image_bundles import image_manifest_dict

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.records import InsightRecord, ModelRef

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
IMAGE_DATASET = PowerBIDataset.for_manifest(ModelManifest.from_dict(image_manifest_dict()))


def image_record(n: int, camera: str | None, dark: bool, *, minutes: int = 0) -> dict[str, Any]:
    """A wire insight of the tiny image model (classes bright, dark; dark is the defect class)."""
    record = InsightRecord(
        insight_id=f"{n:032x}-00000",
        site_id="site-a",
        scored_at=T0 + timedelta(minutes=minutes),
        model=ModelRef("tiny-vision", "1", "0" * 64, "multiclass"),
        inputs={},
        outputs={"p_bright": 0.1 if dark else 0.9, "p_dark": 0.9 if dark else 0.1},
        anomaly=dark,
        anomaly_kinds=("alert_class",) if dark else (),
        context={"source": "upload"} if camera is None else {"source": "camera", "camera_id": camera},
        prediction="dark" if dark else "bright",
    )
    return record.to_wire()


RECORDS = [
    image_record(1, "line-1", False),
    image_record(2, "line-1", True, minutes=10),
    image_record(3, "line-1", False, minutes=70),
    image_record(4, None, True),
]
