"""The execution-provider wish list: the pure choice, and the settings that carry it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.execution_providers import (
    CPU_ONLY,
    CPU_PROVIDER,
    ProviderChoiceError,
    choose_providers,
)

CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
OPENVINO = "OpenVINOExecutionProvider"
KNOWN = (TENSORRT, CUDA, OPENVINO, CPU_PROVIDER)
CPU_BUILD = (CPU_PROVIDER,)
GPU_BUILD = (TENSORRT, CUDA, CPU_PROVIDER)


def test_cpu_alone_by_default() -> None:
    assert CPU_ONLY.providers == (CPU_PROVIDER,)
    choice = choose_providers([CPU_PROVIDER], known=KNOWN, available=CPU_BUILD)
    assert choice.providers == (CPU_PROVIDER,)
    assert choice.passed_over == ()


def test_available_ones_keep_their_order_and_cpu_is_appended() -> None:
    choice = choose_providers([TENSORRT, CUDA], known=KNOWN, available=GPU_BUILD)
    assert choice.providers == (TENSORRT, CUDA, CPU_PROVIDER)
    assert choice.passed_over == ()


def test_known_but_missing_ones_are_passed_over_down_the_list() -> None:
    choice = choose_providers([OPENVINO, CUDA, CPU_PROVIDER], known=KNOWN, available=GPU_BUILD)
    assert choice.providers == (CUDA, CPU_PROVIDER)
    assert choice.passed_over == (OPENVINO,)
    on_cpu = choose_providers([CUDA], known=KNOWN, available=CPU_BUILD)
    assert on_cpu.providers == (CPU_PROVIDER,)
    assert on_cpu.passed_over == (CUDA,)


def test_options_follow_their_provider_and_go_with_it_when_it_is_passed_over() -> None:
    options = {CUDA: {"device_id": "1"}, OPENVINO: {"device_type": "GPU"}}
    choice = choose_providers([OPENVINO, CUDA], known=KNOWN, available=GPU_BUILD, options=options)
    assert choice.options_of(CUDA) == {"device_id": "1"}
    assert choice.options_of(OPENVINO) == {}
    assert choice.options_of(CPU_PROVIDER) == {}


@pytest.mark.parametrize(
    ("requested", "options", "words"),
    [
        (["CudaExecutionProvider"], {}, "unknown execution provider 'CudaExecutionProvider'"),
        ([], {}, "empty"),
        ([CUDA, CUDA], {}, f"{CUDA} listed more than once"),
        ([CPU_PROVIDER, CUDA], {}, f"{CPU_PROVIDER} must come last"),
        ([CUDA], {OPENVINO: {"device_type": "GPU"}}, f"options given for {OPENVINO!r}"),
    ],
    ids=["unknown", "empty", "duplicate", "cpu-not-last", "options-for-unlisted"],
)
def test_a_bad_list_is_refused_naming_the_provider(
    requested: list[str], options: dict[str, dict[str, str]], words: str
) -> None:
    with pytest.raises(ProviderChoiceError, match=words):
        choose_providers(requested, known=KNOWN, available=GPU_BUILD, options=options)


def test_an_unknown_name_lists_the_names_onnxruntime_knows() -> None:
    with pytest.raises(ProviderChoiceError) as refused:
        choose_providers(["GPU"], known=KNOWN, available=GPU_BUILD)
    assert all(name in str(refused.value) for name in KNOWN)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in ("SCORING_EXECUTION_PROVIDERS", "SCORING_EXECUTION_PROVIDER_OPTIONS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_default_to_cpu(clean_env: pytest.MonkeyPatch) -> None:
    settings = ScoringSettings()
    assert settings.execution_providers == (CPU_PROVIDER,)
    assert settings.execution_provider_options == {}


def test_settings_read_a_comma_separated_list_and_json_options(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SCORING_EXECUTION_PROVIDERS", f" {TENSORRT},{CUDA} , {CPU_PROVIDER}")
    clean_env.setenv(
        "SCORING_EXECUTION_PROVIDER_OPTIONS",
        '{"CUDAExecutionProvider": {"device_id": 1, "cudnn_conv_use_max_workspace": true}}',
    )
    settings = ScoringSettings()
    assert settings.execution_providers == (TENSORRT, CUDA, CPU_PROVIDER)
    # onnxruntime takes option values as text only.
    assert settings.execution_provider_options == {
        CUDA: {"device_id": "1", "cudnn_conv_use_max_workspace": "1"}
    }


def test_settings_read_the_list_from_local_settings_json(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    local = tmp_path / "local.settings.json"
    local.write_text('{"Values": {"SCORING_EXECUTION_PROVIDERS": "OpenVINOExecutionProvider"}}')
    clean_env.setenv("EDGELOOP_LOCAL_SETTINGS", str(local))
    assert ScoringSettings().execution_providers == (OPENVINO,)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (
            "SCORING_EXECUTION_PROVIDERS",
            f"{CUDA},,{CPU_PROVIDER}",
            "SCORING_EXECUTION_PROVIDERS: an empty name",
        ),
        (
            "SCORING_EXECUTION_PROVIDER_OPTIONS",
            "{device_id: 0}",
            "SCORING_EXECUTION_PROVIDER_OPTIONS: not valid JSON",
        ),
        ("SCORING_EXECUTION_PROVIDER_OPTIONS", '{"CUDAExecutionProvider": 0}', "an object of objects"),
        (
            "SCORING_EXECUTION_PROVIDER_OPTIONS",
            '{"CUDAExecutionProvider": {"device_id": "0"}}',
            "'CUDAExecutionProvider' is not in SCORING_EXECUTION_PROVIDERS",
        ),
    ],
    ids=["empty-name", "bad-json", "not-objects", "options-for-unlisted"],
)
def test_bad_settings_are_refused_naming_the_setting(
    clean_env: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError, match=words):
        ScoringSettings()
