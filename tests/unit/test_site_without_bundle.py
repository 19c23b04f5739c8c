"""A site with no bundle of its own: an empty model holder, and when such a start is refused.

Real parts: the scoring composition root's loader (onnxruntime) and the delivery settings.
The stand-in model in the first test is a plain object: the holder never looks inside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from pydantic import SecretStr

from edgeloop.adapters.onnx_model import BundleError
from edgeloop.bootstrap.model_delivery import start_site_delivery
from edgeloop.bootstrap.scoring import NO_BUNDLE_YET, first_model, model_loader
from edgeloop.config.model_delivery import ModelDeliverySettings
from edgeloop.config.scoring import ScoringSettings
from edgeloop.ports import ScoringModel
from edgeloop.service_layer.scoring import ModelHolder, NoModelYet


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in ("SCORING_MODEL_SIGNING_PUBLIC_KEY", "SCORING_MODEL_REGISTRY_STORAGE", "SCORING_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_an_empty_holder_says_why_until_its_first_model_arrives() -> None:
    holder = ModelHolder(None, "no model yet: first reason")
    assert not holder.loaded
    with pytest.raises(NoModelYet, match=r"^no model yet: first reason$"):
        _ = holder.current
    holder.waiting_for("no model yet: the registry is unreachable")
    assert holder.waiting_reason == "no model yet: the registry is unreachable"

    model = cast(ScoringModel, object())
    assert holder.swap(model) is None  # the site's first model replaces nothing
    assert holder.loaded
    assert holder.current is model
    assert holder.waiting_reason is None


def test_no_bundle_is_a_new_site_but_a_broken_bundle_stops_the_start(tmp_path: Path) -> None:
    settings = ScoringSettings(model_dir=tmp_path / "seed")
    assert first_model(settings, model_loader(settings)) is None

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    settings = ScoringSettings(model_dir=broken)
    with pytest.raises(BundleError):
        first_model(settings, model_loader(settings))


def test_no_bundle_and_no_model_delivery_refuses_to_start(tmp_path: Path) -> None:
    holder = ModelHolder(None, NO_BUNDLE_YET)
    settings = ModelDeliverySettings(model_cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="SCORING_MODEL_DIR: no model bundle, and model delivery is off"):
        start_site_delivery(holder, lambda path: cast(ScoringModel, object()), settings)


def test_a_new_site_waits_for_the_champion_of_its_model_line(tmp_path: Path) -> None:
    from edgeloop.adapters.ed25519_signing import generate_key_pair

    holder = ModelHolder(None, NO_BUNDLE_YET)
    settings = ModelDeliverySettings(
        model_signing_public_key=generate_key_pair()[1],
        # Nothing listens there: the poller's first look fails fast, which becomes the reason.
        model_registry_storage=SecretStr(
            "BlobEndpoint=http://127.0.0.1:9/cloud;SharedAccessSignature=sv=x&sig=y"
        ),
        model_name="press-defect",
        model_cache_dir=tmp_path / "cache",
        model_poll_seconds=3600,
    )
    started = start_site_delivery(holder, lambda path: cast(ScoringModel, object()), settings)
    assert started is not None
    delivery, poller = started
    try:
        assert delivery.poll_once() == "offline"
        reason = holder.waiting_reason
        assert reason is not None
        assert reason.startswith("no model yet: model registry unreachable")
        assert delivery.status()["serving"] is None
    finally:
        poller.stop()
