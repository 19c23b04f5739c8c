"""A retraining run: data from the sites -> challenger -> evaluation -> decision -> registry.

Steps (each reported through ``on_step``): discard what dead runs left; read the champion and
its training recipe (a setting may replace it; without one the run is *skipped*); read compliant
records (insights joined with their labels of the champion's task) within the lookback (an image
model: the labelled frames the sites let out, service_layer.labelled_frames, under ``frames``);
build the training data (the ChallengerTrainer port); *skipped* if too little new data; run the
recipe, complete its manifest (name, version, created_at, run id, recipe) and sign it with a golden
sample; score both models on the same held-out rows; decide (domain.promotion, with the model's
evaluation spec; a cohort's line: on its sites' held-out rows); judge it on each site's own rows
(service_layer.site_fit); register it with its report, site-fit verdicts, card and plots; if
promoted, move the pointer, or start its staged rollout where the model has a plan (``rollouts``;
sites the site fit excludes keep their version). A report per run: ``runs/<id>.json``.

A run whose recipe raises, times out, returns a graph or manifest that disagree, or outputs
NaN/inf on the held-out rows ends *failed* (why, and the recipe's traceback tail, in the
report): nothing is registered and the champion stays.

Retrying a run is safe: a version is registered all or none, a dead run's leftovers are
discarded by the next, the pointer only moves under the ETag read at the start (a concurrent
promotion wins, this run is *rejected*). One run at a time per service.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from edgeloop.domain.manifest import ManifestError
from edgeloop.domain.metrics import EvaluationSpec
from edgeloop.domain.model_lines import ModelLines
from edgeloop.domain.promotion import PromotionDecision, PromotionPolicy, data_gate, decide_promotion
from edgeloop.domain.recipes import RecipeSpec
from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.domain.retraining_data import complete_manifest_fields
from edgeloop.domain.site_fit import SiteFitPolicy, SiteFitReport
from edgeloop.ports import (
    BlobReader,
    ChallengerTrainer,
    LakeInsights,
    ModelRegistry,
    RetrainRequest,
    ScoringModel,
    TrainingData,
    TrainingFailed,
)
from edgeloop.service_layer.champion_pointers import PointerSigning
from edgeloop.service_layer.labelled_frames import LabelledFrames, frame_rows
from edgeloop.service_layer.labelled_rows import read_labelled_rows
from edgeloop.service_layer.line_champions import LineChampion, line_rows, read_line_champion
from edgeloop.service_layer.model_publishing import GOLDEN_ROWS, LoadModel, signed_bundle
from edgeloop.service_layer.rollouts import ChampionPromotion, Rollouts
from edgeloop.service_layer.signed_bundles import Sign
from edgeloop.service_layer.site_fit import cohort_gate, judge_sites, site_fit_file

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
    recipe: RecipeSpec | None = None  # set: replaces the champion's recipe (a deployment's choice)
    lines: ModelLines | None = None  # champion lines; None: one line learning from every site
    site_fit: SiteFitPolicy = field(default_factory=SiteFitPolicy)


@dataclass(frozen=True)
class RunReport:
    run_id: str
    outcome: str  # promoted | rejected | skipped | failed
    version: str | None
    document: dict[str, Any]
    site_fit: SiteFitReport | None = None  # None: the run ended before judging the sites

    def excluded(self) -> dict[str, str]:
        """Sites the version must not be rolled out to (site id -> why); a rollout's input."""
        return {} if self.site_fit is None else self.site_fit.excluded()


class RetrainingService:
    def __init__(
        self,
        registry: ModelRegistry,
        compliant: BlobReader,
        trainer: ChallengerTrainer,
        sign: Sign,
        load_model: LoadModel,
        config: RetrainingConfig,
        pointers: PointerSigning,
        clock: Callable[[], datetime] = utc_now,
        lake: LakeInsights | None = None,
        frames: LabelledFrames | None = None,  # the cloud's frames container: an image model's data
        rollouts: Rollouts | None = None,  # set: a promotion follows the model's rollout plan, if any
    ) -> None:
        self._registry, self._pointers = registry, pointers  # a promotion signs a new champion pointer
        self._promotion = ChampionPromotion(registry, pointers, rollouts, clock)
        self._compliant, self._trainer, self._sign = compliant, trainer, sign
        self._load_model, self._config, self._clock = load_model, config, clock
        # Set: the insights' inputs come from the lake table, only the labels from the blobs.
        self._lake, self._frames = lake, frames
        self._one_run_at_a_time = threading.Lock()  # a worker's batch, side by side, trained one each

    def run(self, request: RetrainRequest, on_step: OnStep = lambda step: None) -> RunReport:
        with self._one_run_at_a_time:
            return self._run(request, on_step)

    def _run(self, request: RetrainRequest, on_step: OnStep) -> RunReport:
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
        report["champion_version"], manifest = champion.pointer.version, champion.model.manifest
        report["forked_from"] = champion.forked_from
        recipe = self._config.recipe or manifest.recipe
        if recipe is None:
            reason = f"{self._config.model_name} {champion.pointer.version} declares no training recipe"
            return self._finish(report, PromotionDecision("skipped", (reason,)))
        report["recipe"] = recipe.to_dict()
        try:
            evaluation = self._config.policy.evaluation(manifest.evaluation, manifest.task.kind)
        except ValueError as exc:  # a deployment's metric override the model's task lacks
            return self._failed(report, TrainingFailed(f"settings: {exc}"))
        report["evaluation"] = evaluation.to_dict()
        try:
            return self._train_and_decide(request, report, champion, recipe, evaluation, on_step)
        except (TrainingFailed, ManifestError) as exc:
            return self._failed(report, exc)

    def _train_and_decide(
        self,
        request: RetrainRequest,
        report: dict[str, Any],
        champion: LineChampion,
        recipe: RecipeSpec,
        evaluation: EvaluationSpec,
        on_step: OnStep,
    ) -> RunReport:
        """Data, gate, recipe, evaluation, decision, registration (TrainingFailed: nothing registered)."""
        on_step("Reading labelled records from the sites")
        since, manifest = self._clock() - timedelta(days=self._config.lookback_days), champion.model.manifest
        container = self._config.compliant_container
        rows, unlabelled, refused = read_labelled_rows(
            self._compliant, container, since, manifest.task, self._lake
        )
        if refused:  # blobs not signed by the site they are filed under (docs/deployment.md)
            report["refused_site_blobs"] = refused
        if manifest.image_input is not None:  # an image model learns from the frames the sites let out
            on_step("Joining the labelled frames the sites let out")
            rows, report["frames"] = frame_rows(self._frames, rows, since, manifest.inputs[0].name)
        on_step("Building the training set")
        rows = line_rows(self._config.lines, self._config.model_name, rows)
        training = self._trainer.training_data(rows, manifest, recipe, unlabelled)
        report["data"] = training.counts.to_dict()
        gate = data_gate(training.counts, self._config.policy)
        if gate is not None:
            return self._finish(report, gate)
        version = f"{self._clock():%Y%m%d.%H%M%S}-{request.run_id[:6]}"
        report["version"] = version
        files, challenger = self._challenger(request, version, training, champion, recipe, on_step)
        report["description"] = challenger.manifest.description
        on_step("Evaluating challenger and champion on the same held-out rows")
        decision = self._evaluate(report, training, challenger, champion, files, evaluation)
        report["decision"] = decision.to_dict()
        on_step("Judging the challenger on each site's own rows")
        site_fit = judge_sites(training, challenger, champion.model, evaluation, self._config.site_fit)
        report["site_fit"] = site_fit.to_dict()
        files.update(site_fit_file(site_fit))
        on_step(f"Registering {self._config.model_name} {version}")
        files.update(self._trainer.model_card(report, [name for name in files if name.endswith(".png")]))
        files[REPORT_FILE] = _json(report)
        self._registry.register(self._config.model_name, version, files)
        if decision.promote:
            on_step(f"Promoting {version}")
            actor, line = f"retraining run {request.run_id}", self._config.model_name
            decision = self._promotion.promote_line(
                decision, champion, line, version, actor, site_fit.excluded()
            )
        return replace(self._finish(report, decision), site_fit=site_fit)

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

    def _champion(self) -> LineChampion | None:
        name, lines = self._config.model_name, self._config.lines
        parent = None if lines is None else lines.parent(name)
        return read_line_champion(self._registry, name, parent, self._load_model)

    def _challenger(
        self,
        request: RetrainRequest,
        version: str,
        training: TrainingData,
        champion: LineChampion,
        recipe: RecipeSpec,
        on_step: OnStep,
    ) -> tuple[dict[str, bytes], ScoringModel]:
        """Run the recipe, complete its manifest fields, sign the bundle with a golden sample."""
        trained = training.fit(version, on_step)
        on_step("Signing the challenger with its golden sample")
        manifest = champion.model.manifest
        fields = complete_manifest_fields(
            trained.manifest_fields,
            name=self._config.model_name,
            version=version,
            created_at=format_timestamp(self._clock()),
            recipe=recipe.to_dict(),
            training_data={"run_id": request.run_id, "new_labelled_rows": training.counts.usable_new_rows},
            defaults={"evaluation": manifest.evaluation.to_dict(), "description": manifest.description},
        )
        golden, model_file = training.golden_rows(GOLDEN_ROWS), str(fields["model_file"])
        return signed_bundle(fields, model_file, trained.onnx_bytes, golden, self._sign, self._load_model)

    def _evaluate(
        self,
        report: dict[str, Any],
        training: TrainingData,
        challenger: ScoringModel,
        champion: LineChampion,
        files: dict[str, bytes],
        evaluation: EvaluationSpec,
    ) -> PromotionDecision:
        """Score both models, record the metrics in ``report`` and the plots in ``files``; decide."""
        curve_labels = {
            "challenger": f"challenger {report['version']}",
            "champion": f"champion {champion.pointer.version}",
        }
        comparison = training.compare({"challenger": challenger, "champion": champion.model}, curve_labels)
        scores = comparison.scores
        report["metrics"] = {key: dict(value) for key, value in scores.items()}
        all_holdout = comparison.all_holdout_scores
        report["metrics_all_holdout"] = (
            None if all_holdout is None else {key: dict(value) for key, value in all_holdout.items()}
        )
        files.update(comparison.plots)
        cohort = None if self._config.lines is None else self._config.lines.cohort(self._config.model_name)
        if cohort is not None:  # a cohort's line is judged on its own sites' held-out rows
            gate = cohort_gate(training, challenger, champion.model, cohort.sites, self._config.site_fit)
            report["metrics_cohort"], scores = gate.to_dict(), gate.scores
            if gate.problem is not None:
                return PromotionDecision("rejected", (gate.problem,))
        return decide_promotion(
            scores["challenger"], scores["champion"], training.counts, self._config.policy, evaluation
        )

    def _failed(self, report: dict[str, Any], error: TrainingFailed | ManifestError) -> RunReport:
        """No usable challenger: nothing registered, the champion untouched; why, in the report."""
        if isinstance(error, ManifestError):
            error = TrainingFailed(f"the recipe's manifest fields are invalid: {error}")
        report["attempted_version"], report["version"] = report.get("version"), None
        report["failure"] = {"reason": error.reason, "detail": error.detail}
        return self._finish(report, PromotionDecision("failed", (error.reason,)))

    def _finish(self, report: dict[str, Any], decision: PromotionDecision) -> RunReport:
        report["decision"] = decision.to_dict()
        report["outcome"] = decision.outcome
        report["finished_at"] = format_timestamp(self._clock())
        self._registry.write_run_report(self._config.model_name, report["run_id"], _json(report))
        logger.info(
            "retraining run %s: %s (%s)", report["run_id"], decision.outcome, "; ".join(decision.reasons)
        )
        return RunReport(report["run_id"], decision.outcome, report.get("version"), report)


def _json(document: Any) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"
