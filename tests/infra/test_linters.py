"""Static analysis of infra/: checkov (Kubernetes, Dockerfile, Bicep) with no failed check,
every suppression justified inline, and hadolint clean. Offline: checkov runs with
--skip-download. Docker cannot run here, so the images are validated statically only."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_helpers import INFRA, KUSTOMIZATIONS, REPO_ROOT, infra_tool, kustomize_build

DOCKERFILES = sorted((INFRA / "docker").glob("*.Dockerfile"))
# A justification is a sentence, not a token: at least a few words.
MIN_REASON_WORDS = 4


def checkov(target: Path, framework: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            str(infra_tool("checkov")),
            "--directory",
            str(target),
            "--framework",
            framework,
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO_ROOT,
    )
    problem = f"checkov printed nothing (exit {result.returncode}):\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), problem
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    (found,) = [r for r in reports if r.get("check_type") == framework]
    return found


def failures(report: dict[str, Any]) -> list[str]:
    return [
        f"{c['check_id']} {c['check_name']} :: {c['resource']} ({c['file_path']}:{c['file_line_range']})"
        for c in report["results"]["failed_checks"]
    ]


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["kubernetes", "dockerfile", "bicep"])
def test_checkov_passes_on_the_sources(framework: str) -> None:
    report = checkov(INFRA, framework)
    assert report["summary"]["passed"] > 0, "checkov scanned nothing"
    assert failures(report) == []


@pytest.mark.slow
def test_checkov_passes_on_the_rendered_site(tmp_path: Path) -> None:
    """What is applied is the overlay's output, so scan that too (annotations carry the skips)."""
    rendered = kustomize_build(KUSTOMIZATIONS["example-site"])
    (tmp_path / "site.yaml").write_text(yaml.safe_dump_all(rendered), encoding="utf-8")
    report = checkov(tmp_path, "kubernetes")
    assert report["summary"]["passed"] > 0
    assert failures(report) == []


def test_every_suppression_is_justified() -> None:
    inline = re.compile(r"checkov:skip=(CKV2?_[A-Z0-9_]+):?(.*)")
    annotation = re.compile(r"checkov\.io/skip\d+:\s*\"?(CKV2?_[A-Z0-9_]+)=(.*?)\"?$")
    found = 0
    for path in INFRA.rglob("*"):
        if not path.is_file():
            continue
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for pattern in (inline, annotation):
                match = pattern.search(line)
                if match:
                    found += 1
                    reason = match.group(2).strip()
                    assert len(reason.split()) >= MIN_REASON_WORDS, f"{path}:{line_number}: {match.group(1)}"
    assert found > 0


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [str(infra_tool("hadolint")), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_finds_problems_in_a_bad_dockerfile(tmp_path: Path) -> None:
    """Guard against a vacuous lint: hadolint must flag an untagged base and `apt-get` without pins."""
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y curl\n", encoding="utf-8")
    result = subprocess.run(
        [str(infra_tool("hadolint")), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "DL3006" in result.stdout


@pytest.mark.slow
def test_checkov_flags_a_privileged_pod(tmp_path: Path) -> None:
    """Guard against a vacuous scan: the same invocation must fail an obviously unsafe pod."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "unsafe", "namespace": "edgeloop"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
    }
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod), encoding="utf-8")
    report = checkov(tmp_path, "kubernetes")
    assert "CKV_K8S_16" in {c["check_id"] for c in report["results"]["failed_checks"]}
