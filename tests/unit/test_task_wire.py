"""Insights of multiclass and regression models on the wire: scored by onnxruntime, recorded as
column documents, packed, filtered by the demo compliance policy on Azurite, read back as records.

Binary insights stay as they were: no ``prediction``, no ``model.task`` (the tests that pin
their bytes are test_insight_columns.py and test_insight_wire.py).
"""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from support.bundles import demo_bundle, valid_rows
from support.task_bundles import (
    build_multiclass_bundle,
    build_regression_bundle,
    multiclass_predicted,
    regression_reference,
)

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.domain.records import InsightRecord, RecordError, record_from_wire
from edgeloop.domain.tasks import MulticlassTask, RegressionTask
from edgeloop.service_layer.scoring import Evaluation, evaluate
from edgeloop.wire.insight_columns import expand_columns
from edgeloop.wire.insight_wire import output_texts, prediction_texts
from edgeloop.wire.packing import MAX_ITEM_BYTES, pack_items, unpack_message
from localdev.azurite import Azurite
from scoring_app.decoding.score_body import validated_columns

REPO_ROOT = Path(__file__).resolve().parents[2]
SCORED_AT = datetime(2026, 11, 21, 8, 30, 15, tzinfo=UTC)
BATCH = "e" * 32


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, OnnxModel]:
    tmp = tmp_path_factory.mktemp("task-bundles")
    return {
        "binary": OnnxModel.load(demo_bundle(tmp)),
        "multiclass": OnnxModel.load(build_multiclass_bundle(tmp / "multiclass")),
        "regression": OnnxModel.load(build_regression_bundle(tmp / "regression")),
    }


def rows_for(model: OnnxModel, n_rows: int = 6) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = valid_rows(model.manifest, n_rows, seed=5)
    rows[0]["torque_nm"] = 77.0  # OSF for the multiclass model, out of band for the regression
    rows[1]["tool_wear_min"] = 379.5  # TWF
    return rows


def scored(model: OnnxModel, rows: list[dict[str, Any]]) -> Evaluation:
    return evaluate(model, validated_columns(model.manifest, rows))


def records_of(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The wire records of an evaluation's insights, through packed queue messages."""
    insights = evaluation.insights("site-t", SCORED_AT, BATCH, traceparent=None)
    documents = [document for document, _ in insights.documents(MAX_ITEM_BYTES)]
    return [record for body, _ in pack_items(documents) for record in unpack_message(body)]


def test_multiclass_insights_carry_the_task_and_the_predicted_class(models: dict[str, OnnxModel]) -> None:
    model = models["multiclass"]
    rows = rows_for(model)
    expected = multiclass_predicted(rows)
    assert expected[:2] == ["OSF", "TWF"]

    raws = records_of(scored(model, rows))

    assert [raw["prediction"] for raw in raws] == expected
    assert all(raw["model"]["task"] == "multiclass" for raw in raws)
    assert list(raws[0]).index("prediction") == list(raws[0]).index("anomaly_kinds") + 1
    records = [record_from_wire(raw) for raw in raws]
    assert all(isinstance(r, InsightRecord) and r.model.task == "multiclass" for r in records)
    assert [r.to_wire() for r in records] == raws  # same keys, same order, same values
    assert "alert_class" in raws[0]["anomaly_kinds"]
    assert "alert_class" not in raws[1]["anomaly_kinds"]  # TWF is not an alert class


def test_regression_insights_carry_the_value_as_the_prediction(models: dict[str, OnnxModel]) -> None:
    model = models["regression"]
    rows = rows_for(model)
    raws = records_of(scored(model, rows))
    values = regression_reference(rows)[:, 0]
    assert np.allclose([raw["prediction"] for raw in raws], values, rtol=1e-6)
    assert [raw["prediction"] for raw in raws] == [raw["outputs"]["wear_rate"] for raw in raws]
    assert all(raw["model"]["task"] == "regression" for raw in raws)
    assert raws[0]["anomaly_kinds"] == ["out_of_band"]  # 77 Nm / 30 > 2.0 mm/h
    assert [record_from_wire(raw).to_wire() for raw in raws] == raws


def test_binary_insights_have_neither_prediction_nor_task(models: dict[str, OnnxModel]) -> None:
    evaluation = scored(models["binary"], rows_for(models["binary"], 3))
    assert evaluation.prediction is None
    document = orjson.loads(evaluation.insights("s", SCORED_AT, BATCH).document())
    assert "prediction" not in document
    assert set(document["model"]) == {"name", "version", "sha256"}
    for raw in expand_columns(document) or []:
        assert "prediction" not in raw
        assert "task" not in raw["model"]
        assert record_from_wire(raw).to_wire() == raw


def test_a_non_finite_output_predicts_nothing() -> None:
    multiclass = MulticlassTask(("a", "b"), ("pa", "pb"))
    outputs = {"pa": np.array([0.2, np.nan, 0.9]), "pb": np.array([0.8, 0.5, 0.1])}
    texts = {name: output_texts(values) for name, values in outputs.items()}
    assert prediction_texts(multiclass, outputs, texts) == [b'"b"', b"null", b'"a"']
    regression = RegressionTask("v")
    values = {"v": np.array([1.5, np.inf])}
    assert prediction_texts(regression, values, {"v": output_texts(values["v"])}) == [b"1.5", b"null"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": {"task": "ranking"}}, "model.task"),
        ({"prediction": 3}, "prediction"),  # a multiclass prediction is a class name
        ({"model": {"task": "regression"}, "prediction": "TWF"}, "prediction"),
        ({"model": {"task": "binary"}, "prediction": "TWF"}, "prediction"),
    ],
)
def test_a_prediction_of_the_wrong_type_is_refused_naming_the_field(
    models: dict[str, OnnxModel], change: dict[str, Any], field: str
) -> None:
    raw = records_of(scored(models["multiclass"], rows_for(models["multiclass"], 2)))[0]
    raw = raw | change
    if "model" in change:
        raw["model"] = {"name": "m", "version": "1", "sha256": "ab" * 32, **change["model"]}
    with pytest.raises(RecordError) as caught:
        record_from_wire(raw)
    assert caught.value.field == field


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_the_compliance_filter_keeps_the_task_and_the_prediction(
    azurite: Azurite, tmp_path: Path, models: dict[str, OnnxModel], task: str
) -> None:
    """The demo policy allows ``model.task`` and ``prediction``: they reach the cloud's compliant
    blobs, which read back as the very records (context pseudonymized as for any model)."""
    site = f"site-{uuid.uuid4().hex[:8]}"
    rows = rows_for(models[task])
    rows[2]["product_id"], rows[2]["operator"] = "M14860", "op-7"
    evaluation = scored(models[task], rows)
    insights = evaluation.insights(site, SCORED_AT, BATCH)
    body = pack_items([document for document, _ in insights.documents(MAX_ITEM_BYTES)])[0][0]
    values: dict[str, Any] = {
        "EdgeStorage": azurite.connection_string("edge"),
        "CloudStorage": azurite.connection_string("cloud"),
        "ServiceBusConnection": azurite.connection_string("cloud"),
        "EDGELOOP_SITE_HMAC_KEY": "unit-test-site-key-0123456789",
        "EDGELOOP_COMPLIANCE_POLICY": str(REPO_ROOT / "policies" / "compliance.yaml"),
        "EDGELOOP_INSIGHTS_TOPIC": f"t{uuid.uuid4().hex[:12]}",
    }
    settings = EdgeFunctionSettings(**values)  # by setting name, as the environment gives them

    result = build_insight_filter(settings).process_message(body)

    assert (result.compliant, result.quarantined) == (len(rows), 0)
    cloud = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    [name] = cloud.list_names("compliant", prefix=f"site={site}/")
    compliant = [orjson.loads(line) for line in gzip.decompress(cloud.get("compliant", name)).splitlines()]
    sent = unpack_message(body)
    assert [r["prediction"] for r in compliant] == [r["prediction"] for r in sent]
    assert all(r["model"]["task"] == task for r in compliant)
    assert set(compliant[2]["context"]) == {"product_id"}  # operator dropped, product pseudonymized
    assert [record_from_wire(r).to_wire()["prediction"] for r in compliant] == [r["prediction"] for r in sent]
