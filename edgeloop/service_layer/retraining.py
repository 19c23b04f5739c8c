"""A retraining run: data from the sites -> challenger -> evaluation -> decision -> registry.

Steps (each reported through ``on_step``): discard what dead runs left; read the
champion; read compliant records (insights joined with their feedback labels)
within the lookback; build the training data (the ChallengerTrainer port); stop
as *skipped* if too little new data; fit and sign the challenger; score both
models on the same held-out rows; decide (edgeloop.domain.promotion); register
the challenger with its report, model card and curves; move the champion
pointer if promoted. Every run ends with a report under ``runs/<run id>.json``.

Retrying a run is safe: a version is registered all or none, leftovers of a dead
run are discarded by the next one, and the champion pointer only moves under
the ETag read at the start (a concurrent promotion wins, this run is *rejected*).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edgeloop.domain.champion import ChampionPointer
from edgeloop.domain.manifest import MANIFEST_FILE, ModelManifest
from edgeloop.domain.promotion import PromotionDecision, PromotionPolicy, data_gate, decide_promotion
from edgeloop.domain.records import FEEDBACK_KIND, INSIGHT_KIND, format_timestamp, parse_timestamp, utc_now
from edgeloop.ports import (
    BlobReader,
    ChallengerTrainer,
    LabelledRow,
    LakeInsights,
    ModelRegistry,
    RegistryConflict,
    RetrainRequest,
    ScoringModel,
    TrainingData,
)
from edgeloop.service_layer.model_publishing import GOLDEN_ROWS, LoadModel, load_from_files, signed_bundle
from edgeloop.service_layer.signed_bundles import Sign
from edgeloop.wire.storage_layout import read_objects_skipping_bad, records_blob_date

logger = logging.getLogger(__name__)

REPORT_FILE = "report.json"
REPORT_FORMAT = "edgeloop.retraining-report"
OnStep = Callable[[str], None]


@dataclass(frozen=True)
class RetrainingConfig:
    model_name: str
    compliant_container: str
    policy: PromotionPolicy
    lookback_days: int = 90
    stale_run_seconds: float = 3600.0


@dataclass(frozen=True)
class RunReport:
    run_id: str
    outcome: str  # promoted | rejected | skipped
    version: str | None
    document: dict[str, Any]


@dataclass(frozen=True)
class _Champion:
    pointer: ChampionPointer
    etag: str
    model: ScoringModel


class RetrainingService:
    def __init__(
        self,
        registry: ModelRegistry,
        compliant: BlobReader,
        trainer: ChallengerTrainer,
        sign: Sign,
        load_model: LoadModel,
        config: RetrainingConfig,
        clock: Callable[[], datetime] = utc_now,
        lake: LakeInsights | None = None,
    ) -> None:
        self._registry = registry
        self._compliant = compliant
        self._trainer = trainer
        self._sign = sign
        self._load_model = load_model
        self._config = config
        self._clock = clock
        # Set: the insights' inputs come from the lake table, only the labels from the blobs.
        self._lake = lake

    def run(self, request: RetrainRequest, on_step: OnStep = lambda step: None) -> RunReport:
        started = self._clock()
        report = self._new_report(request, started)
        on_step("Cleaning up after earlier runs")
        discarded = self._registry.discard_incomplete(self._config.model_name, self._config.stale_run_seconds)
        if discarded:
            logger.warning("discarded unregistered leftovers of versions %s", discarded)
        report["discarded_incomplete_versions"] = discarded
        champion = self._champion()
        if champion is None:
            reason = f"{self._config.model_name} has no champion to compare with yet"
            return self._finish(report, PromotionDecision("skipped", (reason,)))
        report["champion_version"] = champion.pointer.version

        on_step("Reading labelled records from the sites")
        rows, unlabelled = self._labelled_rows(started)
        on_step("Building the training set")
        training = self._trainer.training_data(rows, champion.model.manifest, unlabelled)
        report["data"] = training.counts.to_dict()
        gate = data_gate(training.counts, self._config.policy)
        if gate is not None:
            return self._finish(report, gate)

        version = f"{started:%Y%m%d.%H%M%S}-{request.run_id[:6]}"
        report["version"] = version
        files, challenger = self._challenger(request, version, training, on_step)
        on_step("Evaluating challenger and champion on the same held-out rows")
        decision = self._evaluate(report, training, challenger, champion, files)
        on_step(f"Registering {self._config.model_name} {version}")
        files.update(self._trainer.model_card(report))
        files[REPORT_FILE] = _json(report)
        self._registry.register(self._config.model_name, version, files)
        if decision.promote:
            on_step(f"Promoting {version}")
            decision = self._promote(request, version, champion, decision)
        return self._finish(report, decision)

    def _new_report(self, request: RetrainRequest, started: datetime) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "run_id": request.run_id,
            "reason": request.reason,
            "model": self._config.model_name,
            "requested_at": format_timestamp(request.requested_at),
            "started_at": format_timestamp(started),
            "version": None,
        }

    def _champion(self) -> _Champion | None:
        found = self._registry.champion(self._config.model_name)
        if found is None:
            return None
        pointer, etag = found
        files = self._registry_files(self._config.model_name, pointer.version)
        return _Champion(pointer, etag, load_from_files(files, self._load_model))

    def _challenger(
        self, request: RetrainRequest, version: str, training: TrainingData, on_step: OnStep
    ) -> tuple[dict[str, bytes], ScoringModel]:
        """Fit the challenger, then sign its bundle with a golden sample of held-out rows."""
        trained = training.fit(version, on_step)
        on_step("Signing the challenger with its golden sample")
        manifest_fields = dict(trained.manifest_fields)
        manifest_fields["training_data"] = {
            **manifest_fields["training_data"],
            "run_id": request.run_id,
            "new_labelled_rows": training.counts.usable_new_rows,
        }
        return signed_bundle(
            manifest_fields,
            str(manifest_fields["model_file"]),
            trained.onnx_bytes,
            training.golden_rows(GOLDEN_ROWS),
            self._sign,
            self._load_model,
        )

    def _evaluate(
        self,
        report: dict[str, Any],
        training: TrainingData,
        challenger: ScoringModel,
        champion: _Champion,
        files: dict[str, bytes],
    ) -> PromotionDecision:
        """Score both models, record the metrics in ``report`` and the curves in ``files``; decide."""
        curve_labels = {
            "challenger": f"challenger {report['version']}",
            "champion": f"champion {champion.pointer.version}",
        }
        comparison = training.compare({"challenger": challenger, "champion": champion.model}, curve_labels)
        scores = comparison.scores
        report["metrics"] = {key: value.to_dict() for key, value in scores.items()}
        all_holdout = comparison.all_holdout_scores
        report["metrics_all_holdout"] = (
            None if all_holdout is None else {key: value.to_dict() for key, value in all_holdout.items()}
        )
        decision = decide_promotion(
            scores["challenger"], scores["champion"], training.counts, self._config.policy
        )
        report["decision"] = decision.to_dict()
        files.update(comparison.plots)
        return decision

    def _promote(
        self, request: RetrainRequest, version: str, champion: _Champion, decision: PromotionDecision
    ) -> PromotionDecision:
        actor = f"retraining run {request.run_id}"
        pointer = champion.pointer.promoted(version, actor, "; ".join(decision.reasons), self._clock())
        try:
            self._registry.set_champion(pointer, champion.etag)
        except RegistryConflict as exc:
            return PromotionDecision("rejected", (*decision.reasons, f"not promoted: {exc}"))
        return decision

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
        blob_inputs: dict[str, dict[str, Any]] = inputs if self._lake is None else {}
        container = self._config.compliant_container
        for blob_name in self._compliant.list_names(container):
            date = records_blob_date(blob_name)
            if date is not None and date < oldest:
                continue
            data = self._compliant.get(container, blob_name)
            for record in read_objects_skipping_bad(data, f"{container}/{blob_name}"):
                _collect(record, blob_inputs, labels)
        if self._lake is not None:
            inputs = self._lake.inputs_since(oldest)
        rows = [
            LabelledRow(insight_id, inputs[insight_id], label)
            for insight_id, (_, label) in sorted(labels.items())
            if insight_id in inputs
        ]
        return rows, len(inputs) - len(rows)


def _collect(
    record: dict[str, Any], inputs: dict[str, dict[str, Any]], labels: dict[str, tuple[datetime, int]]
) -> None:
    """An insight's inputs into ``inputs``; a feedback label into ``labels`` if it is the latest."""
    kind = record.get("kind")
    if kind == INSIGHT_KIND and isinstance(record.get("inputs"), dict):
        inputs[str(record.get("insight_id"))] = record["inputs"]
    elif kind == FEEDBACK_KIND and record.get("label") in (0, 1):
        at = parse_timestamp(str(record.get("recorded_at")), "recorded_at")
        key = str(record.get("insight_id"))
        if key not in labels or labels[key][0] <= at:
            labels[key] = (at, int(record["label"]))


def _json(document: Any) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"
