"""Helpers of the feedback-loop tests: small training data, labelled compliant records, bundle variants."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import BundleSigner
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.bootstrap.first_bundle import parse_template, train_first_bundle
from edgeloop.cli.replayer import read_rows
from edgeloop.domain.bundle_integrity import GOLDEN_FILE, GoldenSample
from edgeloop.domain.manifest import MANIFEST_FILE
from edgeloop.ports import RetrainRequest
from edgeloop.recipes.ai4i_failure import manifest_template
from edgeloop.service_layer.model_publishing import golden_sample, signed_bundle
from edgeloop.service_layer.signed_bundles import pack_bundle
from localdev.azurite import REPO_ROOT

DATA = REPO_ROOT / "data" / "ai4i2020-train.csv"
MODEL_NAME = "ai4i-failure"


def small_base_csv(path: Path, rows: int = 2000) -> Path:
    """The first ``rows`` rows of the AI4I CSV (the rest are the sites' "new" data in the tests)."""
    lines = DATA.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return path


def champion_bundle(out_dir: Path, base_csv: Path, n_estimators: int = 20, version: str = "1.0.0") -> Path:
    """A champion trained by the demo's recipe on ``base_csv`` (as ``edgeloop train`` does: the
    retraining split, so its test rows are unseen); its recipe block keeps ``n_estimators``."""
    template = parse_template(manifest_template(str(base_csv), {"seed": 7, "n_estimators": n_estimators}))
    train_first_bundle(template.recipe, template.name, out_dir, task=template.task, version=version)
    return out_dir


def golden_rows(count: int = 8) -> list[dict[str, Any]]:
    rows = []
    for item in read_rows(DATA, limit=count):
        row = dict(item.row)
        row.pop("product_id", None)
        rows.append(row)
    return rows


def register_variant(
    registry: BlobModelRegistry,
    bundle_dir: Path,
    version: str,
    signer: BundleSigner,
    *,
    threshold: float | None = None,
    golden_shift: float = 0.0,
    corrupt_model: bool = False,
) -> None:
    """Register ``bundle_dir``'s model as ``version``, optionally broken in one way.

    ``threshold``: another decision threshold (e.g. tiny: every row is an anomaly);
    ``golden_shift``: expected golden outputs off by this much (a golden check that fails);
    ``corrupt_model``: model bytes changed after signing (a hash mismatch).
    """
    document = json.loads((bundle_dir / MANIFEST_FILE).read_text())
    document["version"] = version
    if threshold is not None:  # format 2 keeps the rule in "task", format 1 at the top level
        document.get("task", document)["threshold"] = threshold
    model_bytes = (bundle_dir / document["model_file"]).read_bytes()
    if golden_shift:
        golden = golden_sample(OnnxModel.load(bundle_dir), golden_rows())
        shifted = GoldenSample(
            golden.rows,
            {name: tuple(v + golden_shift for v in values) for name, values in golden.expected.items()},
        )
        files = pack_bundle(
            document,
            {document["model_file"]: model_bytes, GOLDEN_FILE: json.dumps(shifted.to_dict()).encode()},
            signer.sign,
        )
    else:
        files, _ = signed_bundle(
            document, document["model_file"], model_bytes, golden_rows(), signer.sign, OnnxModel.load
        )
    if corrupt_model:
        files[document["model_file"]] = model_bytes[:-16] + bytes(16)
    registry.register(MODEL_NAME, version, files)


def write_labelled_records(
    store: AzureBlobStore, container: str, skip: int, count: int, *, flip: bool = False, site: str = "site-t"
) -> int:
    """Insights with feedback (as filter_insights writes them) for CSV rows ``[skip, skip + count)``.

    Insight ids are derived from the site, the row and ``flip``, not random: retraining puts
    a new row in its holdout by a hash of its id, so random ids made the challenger's
    metrics, and a promotion decided by a 0.05 margin, differ from run to run.
    """
    records = []
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for row, item in enumerate(read_rows(DATA, limit=count, skip=skip), start=skip):
        insight_id = hashlib.sha256(f"{site}/{row}/{flip}".encode()).hexdigest()[:32] + "-00000"
        inputs = {key: value for key, value in item.row.items() if key != "product_id"}
        records.append({"kind": "insight", "insight_id": insight_id, "site_id": site, "inputs": inputs})
        label = 1 - item.label if flip else item.label
        records.append(
            {
                "kind": "feedback",
                "insight_id": insight_id,
                "label": label,
                "recorded_at": stamp,
                "site_id": site,
            }
        )
    name = f"site={site}/date={now:%Y-%m-%d}/hour={now:%H}/{uuid.uuid4().hex}.jsonl.gz"
    body = gzip.compress(b"".join(json.dumps(record).encode() + b"\n" for record in records))
    store.put(container, name, body, content_type="application/gzip")
    return count


class RecordingTrainer:
    """The Trainer port's double (no trainer is wanted where it is used): records the runs submitted."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def submit(self, request: RetrainRequest) -> str:
        self.reasons.append(request.reason)
        return "recorded"
