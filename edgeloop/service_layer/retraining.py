"""A retraining run: data from the sites -> challenger -> evaluation -> decision -> registry.

Steps (each reported through ``on_step``): discard what dead runs left; read the
champion; read compliant records (insights joined with their feedback labels)
within the lookback; build the training set (edgeloop.training.challenger); stop
as *skipped* if too little new data; fit and export the challenger; score both
models on the same held-out rows; decide (edgeloop.domain.promotion); register
the challenger with its report, model card and curves; move the champion
pointer if promoted. Every run ends with a report under ``runs/<run id>.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.manifest import MANIFEST_FILE, ModelManifest
from edgeloop.domain.promotion import (
    PromotionDecision,
    PromotionPolicy,
    data_gate,
    decide_promotion,
)
from edgeloop.domain.records import FEEDBACK_KIND, INSIGHT_KIND, format_timestamp, parse_timestamp, utc_now
from edgeloop.domain.validation import validate_rows
from edgeloop.ports import BlobReader, ModelRegistry, RegistryConflict, RetrainRequest, ScoringModel
from edgeloop.service_layer.model_publishing import GOLDEN_ROWS, LoadModel, load_from_files, signed_bundle
from edgeloop.service_layer.signed_bundles import Sign
from edgeloop.training.challenger import LabelledRow, TrainingSet, build_training_set, score_model
from edgeloop.training.dataset import Ai4iData
from edgeloop.training.demo_model import fit_model
from edgeloop.training.model_card import CARD_FILE, curve_plots, model_card
from edgeloop.wire.storage_layout import read_objects_skipping_bad, records_blob_date

logger = logging.getLogger(__name__)

REPORT_FILE = "report.json"
REPORT_FORMAT = "edgeloop.retraining-report"


@dataclass(frozen=True)
class RetrainingConfig:
    model_name: str
    compliant_container: str
    policy: PromotionPolicy
    seed: int = 7
    n_estimators: int = 100
    lookback_days: int = 90
    stale_run_seconds: float = 3600.0


@dataclass(frozen=True)
class RunReport:
    run_id: str
    outcome: str  # promoted | rejected | skipped
    version: str | None
    document: dict[str, Any]


class RetrainingService:
    def __init__(
        self,
        registry: ModelRegistry,
        compliant: BlobReader,
        load_base: Callable[[], Ai4iData],
        sign: Sign,
        load_model: LoadModel,
        config: RetrainingConfig,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._registry = registry
        self._compliant = compliant
        self._load_base = load_base
        self._sign = sign
        self._load_model = load_model
        self._config = config
        self._clock = clock

    def run(self, request: RetrainRequest, on_step: Callable[[str], None] = lambda step: None) -> RunReport:
        config = self._config
        name = config.model_name
        started = self._clock()
        report: dict[str, Any] = {
            "format": REPORT_FORMAT,
            "run_id": request.run_id,
            "reason": request.reason,
            "model": name,
            "requested_at": format_timestamp(request.requested_at),
            "started_at": format_timestamp(started),
            "version": None,
        }
        on_step("Cleaning up after earlier runs")
        discarded = self._registry.discard_incomplete(name, config.stale_run_seconds)
        if discarded:
            logger.warning("discarded unregistered leftovers of versions %s", discarded)
        report["discarded_incomplete_versions"] = discarded
        found = self._registry.champion(name)
        if found is None:
            decision = PromotionDecision("skipped", (f"{name} has no champion to compare with yet",))
            return self._finish(report, decision)
        pointer, etag = found
        report["champion_version"] = pointer.version
        champion_files = self._registry_files(name, pointer.version)
        champion = load_from_files(champion_files, self._load_model)

        on_step("Reading labelled records from the sites")
        rows, unlabelled = self._labelled_rows(started)
        on_step("Building the training set")
        training = build_training_set(self._load_base(), rows, champion.manifest, config.seed, unlabelled)
        report["data"] = training.counts.to_dict()
        gate = data_gate(training.counts, config.policy)
        if gate is not None:
            return self._finish(report, gate)

        version = f"{started:%Y%m%d.%H%M%S}-{request.run_id[:6]}"
        report["version"] = version
        trained = fit_model(
            training.data,
            training.train,
            training.validation,
            training.holdout,
            version=version,
            seed=config.seed,
            n_estimators=config.n_estimators,
            on_step=on_step,
        )
        on_step("Signing the challenger with its golden sample")
        golden_rows = training.rows(training.holdout[:GOLDEN_ROWS])
        manifest_fields = dict(trained.manifest_fields)
        manifest_fields["training_data"] = {
            **manifest_fields["training_data"],
            "run_id": request.run_id,
            "new_labelled_rows": training.counts.usable_new_rows,
        }
        files, challenger = signed_bundle(
            manifest_fields,
            str(manifest_fields["model_file"]),
            trained.onnx_bytes,
            golden_rows,
            self._sign,
            self._load_model,
        )

        on_step("Evaluating challenger and champion on the same held-out rows")
        # The decision uses the trusted (base) held-out rows; all held-out rows are reported too.
        trusted = training.trusted_holdout
        labels = training.data.labels[trusted]
        trusted_rows = training.rows(trusted)
        risk = {"challenger": _risk(challenger, trusted_rows), "champion": _risk(champion, trusted_rows)}
        scores = {
            "challenger": score_model(labels, risk["challenger"], challenger.manifest.threshold),
            "champion": score_model(labels, risk["champion"], champion.manifest.threshold),
        }
        report["metrics"] = {key: value.to_dict() for key, value in scores.items()}
        report["metrics_all_holdout"] = _all_holdout_scores(training, challenger, champion)
        decision = decide_promotion(scores["challenger"], scores["champion"], training.counts, config.policy)
        report["decision"] = decision.to_dict()

        on_step(f"Registering {name} {version}")
        labelled_curves = {
            f"challenger {version}": risk["challenger"],
            f"champion {pointer.version}": risk["champion"],
        }
        files.update(curve_plots(labels, labelled_curves))
        files[CARD_FILE] = model_card(report)
        files[REPORT_FILE] = _json(report)
        self._registry.register(name, version, files)

        if decision.promote:
            on_step(f"Promoting {version}")
            actor = f"retraining run {request.run_id}"
            try:
                self._registry.set_champion(
                    pointer.promoted(version, actor, "; ".join(decision.reasons), self._clock()), etag
                )
            except RegistryConflict as exc:
                decision = PromotionDecision("rejected", (*decision.reasons, f"not promoted: {exc}"))
        return self._finish(report, decision)

    def _finish(self, report: dict[str, Any], decision: PromotionDecision) -> RunReport:
        report["decision"] = decision.to_dict()
        report["outcome"] = decision.outcome
        report["finished_at"] = format_timestamp(self._clock())
        self._registry.write_run_report(self._config.model_name, report["run_id"], _json(report))
        logger.info(
            "retraining run %s: %s (%s)", report["run_id"], decision.outcome, "; ".join(decision.reasons)
        )
        return RunReport(report["run_id"], decision.outcome, report.get("version"), report)

    def _registry_files(self, name: str, version: str) -> dict[str, bytes]:
        manifest = ModelManifest.from_dict(json.loads(self._registry.read(name, version, MANIFEST_FILE)))
        files = {MANIFEST_FILE: json.dumps(manifest.to_dict()).encode("utf-8")}
        for file_name in manifest.files:
            files[file_name] = self._registry.read(name, version, file_name)
        return files

    def _labelled_rows(self, now: datetime) -> tuple[list[LabelledRow], int]:
        """Insights with their latest feedback label, and how many insights have none."""
        oldest = (now - timedelta(days=self._config.lookback_days)).strftime("%Y-%m-%d")
        inputs: dict[str, dict[str, Any]] = {}
        labels: dict[str, tuple[datetime, int]] = {}
        container = self._config.compliant_container
        for blob_name in self._compliant.list_names(container):
            date = records_blob_date(blob_name)
            if date is not None and date < oldest:
                continue
            for record in read_objects_skipping_bad(
                self._compliant.get(container, blob_name), f"{container}/{blob_name}"
            ):
                kind = record.get("kind")
                if kind == INSIGHT_KIND and isinstance(record.get("inputs"), dict):
                    inputs[str(record.get("insight_id"))] = record["inputs"]
                elif kind == FEEDBACK_KIND and record.get("label") in (0, 1):
                    at = parse_timestamp(str(record.get("recorded_at")), "recorded_at")
                    key = str(record.get("insight_id"))
                    if key not in labels or labels[key][0] <= at:
                        labels[key] = (at, int(record["label"]))
        rows = [
            LabelledRow(insight_id, inputs[insight_id], label)
            for insight_id, (_, label) in sorted(labels.items())
            if insight_id in inputs
        ]
        return rows, len(inputs) - len(rows)


def _all_holdout_scores(
    training: TrainingSet, challenger: ScoringModel, champion: ScoringModel
) -> dict[str, Any] | None:
    """Both models on base + new held-out rows (informational); None if a class is absent there."""
    labels = training.data.labels[training.holdout]
    if len(set(labels.tolist())) < 2:
        return None
    rows = training.rows(training.holdout)
    return {
        key: score_model(labels, _risk(model, rows), model.manifest.threshold).to_dict()
        for key, model in (("challenger", challenger), ("champion", champion))
    }


def _risk(model: ScoringModel, rows: list[dict[str, Any]]) -> npt.NDArray[np.float64]:
    outputs = model.predict(validate_rows(model.manifest, rows))
    return np.asarray(outputs[model.manifest.risk_output], dtype=np.float64)


def _json(document: Any) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"
