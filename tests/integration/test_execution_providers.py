"""Execution providers on real onnxruntime (the CPU package): the setting, the fallback, /readyz.

The CPU package has no CUDA, TensorRT or OpenVINO, so asking for them shows the fallback. It
does have ``AzureExecutionProvider`` (it runs only Azure-invoker nodes, so every node of the
demo graph still runs on the CPU): a non-default provider whose presence in a session shows
that the site's list, not a default, built that session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import test_model_delivery
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from support.bundles import valid_rows
from support.model_loop import register_variant
from support.scoring_settings import scoring_settings
from test_model_delivery import Site, promote_now

from edgeloop.adapters.onnx_model import OnnxModel, execution_providers
from edgeloop.bootstrap.scoring import model_loader
from edgeloop.domain.execution_providers import CPU_PROVIDER
from edgeloop.domain.validation import validate_rows
from localdev.azurite import Azurite
from scoring_app import create_app

CUDA = "CUDAExecutionProvider"
AZURE = "AzureExecutionProvider"

site_factory = test_model_delivery.site_factory  # the delivery tests' site, as a fixture here too
needs_cpu_package = pytest.mark.skipif(
    CUDA in ort.get_available_providers(), reason="this onnxruntime build has CUDA: no fallback to show"
)


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "is not in this onnxruntime build" in record.getMessage()
    ]


def test_a_model_loads_on_the_cpu_provider_by_default(demo_bundle_dir: Path) -> None:
    assert OnnxModel.load(demo_bundle_dir).execution_providers == (CPU_PROVIDER,)


def test_the_site_setting_builds_the_session(demo_bundle_dir: Path, tmp_path: Path) -> None:
    """Explicit CPU, then a list led by another provider this build has: the session runs both,
    in that order, and scores exactly as the CPU alone does."""
    cpu = model_loader(scoring_settings(tmp_path, demo_bundle_dir, execution_providers=CPU_PROVIDER))
    listed = model_loader(
        scoring_settings(tmp_path, demo_bundle_dir, execution_providers=f"{AZURE},{CPU_PROVIDER}")
    )
    cpu_model, listed_model = cpu(demo_bundle_dir), listed(demo_bundle_dir)
    assert cpu_model.execution_providers == (CPU_PROVIDER,)
    assert listed_model.execution_providers == (AZURE, CPU_PROVIDER)
    columns = validate_rows(cpu_model.manifest, valid_rows(cpu_model.manifest, 200, seed=3))
    for name, values in cpu_model.predict(columns).items():
        np.testing.assert_array_equal(listed_model.predict(columns)[name], values)


@needs_cpu_package
def test_an_unavailable_provider_falls_back_down_the_list_with_a_warning(
    demo_bundle_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        choice = execution_providers([CUDA, AZURE, CPU_PROVIDER])
    assert choice.providers == (AZURE, CPU_PROVIDER)
    (warning,) = fallback_warnings(caplog)
    assert CUDA in warning
    assert f"falling back to {AZURE}" in warning
    assert OnnxModel.load(demo_bundle_dir, providers=choice).execution_providers == (AZURE, CPU_PROVIDER)


def test_an_unknown_provider_stops_the_start_naming_the_setting(
    demo_bundle_dir: Path, tmp_path: Path
) -> None:
    settings = scoring_settings(tmp_path, demo_bundle_dir, execution_providers="CudaExecutionProvider")
    refused = "SCORING_EXECUTION_PROVIDERS: unknown execution provider 'CudaExecutionProvider'"
    with pytest.raises(ValueError, match=refused), TestClient(create_app(settings)):
        pass
    assert not settings.outbox_path.exists(), "refused before the outbox opened"


@needs_cpu_package
def test_readyz_and_metrics_name_the_providers_the_session_runs_on(
    demo_bundle_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = scoring_settings(tmp_path, demo_bundle_dir, execution_providers=f"{CUDA},{AZURE}")
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        metrics = client.get("/metrics").text
    assert ready.status_code == 200
    model = ready.json()["checks"]["model"]
    assert model["execution_providers"] == [AZURE, CPU_PROVIDER]
    assert model["execution_providers_requested"] == [CUDA, AZURE]
    assert len(fallback_warnings(caplog)) == 1
    (family,) = [
        f for f in text_string_to_metric_families(metrics) if f.name == "edgeloop_model_execution_provider"
    ]
    assert {(s.labels["provider"], s.labels["rank"], s.value) for s in family.samples} == {
        (AZURE, "0", 1.0),
        (CPU_PROVIDER, "1", 1.0),
    }


def test_readyz_shows_the_cpu_provider_by_default(demo_bundle_dir: Path, tmp_path: Path) -> None:
    with TestClient(create_app(scoring_settings(tmp_path, demo_bundle_dir))) as client:
        model = client.get("/readyz").json()["checks"]["model"]
    assert model["execution_providers"] == [CPU_PROVIDER]
    assert model["execution_providers_requested"] == [CPU_PROVIDER]


@needs_cpu_package
def test_a_delivered_model_is_checked_and_served_on_the_sites_providers(
    azurite: Azurite, site_factory: Callable[..., Site], demo_bundle_dir: Path
) -> None:
    """Swaps build their sessions (golden check included) from the list the site started with."""
    site = site_factory(azurite, SCORING_EXECUTION_PROVIDERS=f"{CUDA},{AZURE},{CPU_PROVIDER}")
    register_variant(site.registry, demo_bundle_dir, "1.1.0", site.signer)
    promote_now(site, "1.1.0")
    site.wait_for(lambda: site.delivery()["serving"] == "1.1.0", "the new champion")
    with site.client() as client:
        model = client.get("/readyz").json()["checks"]["model"]
    assert (model["version"], model["execution_providers"]) == ("1.1.0", [AZURE, CPU_PROVIDER])
    fallbacks = [
        line for line in site.log.read_text().splitlines() if "is not in this onnxruntime build" in line
    ]
    assert len(fallbacks) == 1, "the list is checked once, at start-up"
    assert CUDA in fallbacks[0]
