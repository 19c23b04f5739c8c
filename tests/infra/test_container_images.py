"""The container images, checked statically: Docker cannot run here, so nothing is built;
these tests read the Dockerfiles and .dockerignore files (hadolint and checkov run in
test_linters.py)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
from infra_helpers import INFRA, REPO_ROOT

from tools.locks import LOCKS, read_lock

DOCKER = INFRA / "docker"
FUNCTIONS_BASE = "mcr.microsoft.com/azure-functions/python:4-python3.11"
Instruction = tuple[str, str]


def instructions(dockerfile: Path) -> list[Instruction]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "a dangling line continuation"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def env_of(steps: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, args in steps:
        if name == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", args))
    return env


def final_stage(steps: list[Instruction]) -> list[Instruction]:
    starts = [i for i, (name, _) in enumerate(steps) if name == "FROM"]
    return steps[starts[-1] :]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: the last matching pattern wins; a pattern also matches the
    path's parent folders; `!` re-includes."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/").replace("**/", "*")
        if any(fnmatch.fnmatch(candidate, glob) for candidate in candidates):
            verdict = not negated
    return verdict


def dockerignore(dockerfile: Path) -> list[str]:
    text = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("image", ["scoring", "functions"])
def test_build_context_keeps_what_the_image_copies_and_drops_secrets(image: str) -> None:
    dockerfile = DOCKER / f"{image}.Dockerfile"
    patterns = dockerignore(dockerfile)
    copied = [
        source
        for name, args in instructions(dockerfile)
        if name == "COPY" and "--from=" not in args
        for source in args.split()[:-1]
    ]
    assert copied
    for source in copied:
        assert (REPO_ROOT / source).exists(), f"COPY {source}: no such path in the repository"
        assert not ignored(source.rstrip("/"), patterns), f"COPY {source} is excluded by .dockerignore"
        if (REPO_ROOT / source).is_dir():
            assert not ignored(source.rstrip("/") + "/module.py", patterns)
    for private in ("local.settings.json", ".venv", "var", ".git", "tests", "edgeloop/__pycache__"):
        assert ignored(private, patterns), f"{private} would be sent to the Docker daemon"


@pytest.mark.parametrize("image", ["scoring", "functions"])
def test_images_install_every_dependency_from_the_hashed_lock(image: str) -> None:
    """Two builds a month apart get the same versions: the lock first, then the project alone."""
    runs = [args for name, args in instructions(DOCKER / f"{image}.Dockerfile") if name == "RUN"]
    installs = [args for args in runs if "pip install" in args]
    assert any("--require-hashes -r requirements/images.lock" in args for args in installs), installs
    project = [args for args in installs if "requirements/images.lock" not in args]
    assert project
    assert all("--no-deps" in args for args in project), project


def locked_versions(lock: str) -> dict[str, str]:
    return {package.name: package.version for package in read_lock((REPO_ROOT / lock).read_text())}


def test_scoring_image_swaps_in_the_onnxruntime_build_its_build_arg_names() -> None:
    """CPU by default; each other build replaces the CPU one from its own hashed lock, which keeps
    every other version of images.lock, so its --no-deps install adds that build and nothing else."""
    steps = instructions(DOCKER / "scoring.Dockerfile")
    assert ("ARG", "ONNXRUNTIME=cpu") in steps
    (swap,) = [" ".join(args.split()) for name, args in steps if name == "RUN" and "$ONNXRUNTIME" in args]
    assert "cpu) ;;" in swap
    arm = re.search(r"([\w|]+)\) /opt/venv/bin/pip uninstall --yes onnxruntime", swap)
    assert arm is not None, swap
    assert '--no-deps --require-hashes -r "requirements/images-$ONNXRUNTIME.lock"' in swap
    (copied,) = [args for name, args in steps if name == "COPY" and "requirements/images.lock" in args]
    cpu_image = locked_versions("requirements/images.lock")
    builds = {"gpu": "onnxruntime-gpu", "openvino": "onnxruntime-openvino"}
    assert set(arm.group(1).split("|")) == set(builds)
    for variant, package in builds.items():
        lock = f"requirements/images-{variant}.lock"
        assert lock in copied.split()
        assert lock in {entry.path for entry in LOCKS}, f"{lock}: not made by tools/locks.py"
        image = locked_versions(lock)
        assert package in image
        assert "onnxruntime" not in image, "two builds of the same module"
        shared = {name: version for name, version in cpu_image.items() if name != "onnxruntime"}
        assert {name: image.get(name) for name in shared} == shared


def test_scoring_image_is_slim_multi_stage_and_non_root() -> None:
    steps = instructions(DOCKER / "scoring.Dockerfile")
    bases = [args for name, args in steps if name == "FROM"]
    assert len(bases) == 2, "a build stage and a runtime stage"
    for base in bases:
        assert re.match(r"python:3\.11[\w.-]*-slim", base), base
    runtime = final_stage(steps)
    (user,) = [args for name, args in runtime if name == "USER"]
    assert int(user.split(":")[0]) >= 10000, "a fixed non-root uid"
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    assert not [args for name, args in runtime if name == "RUN" and "pip install" in args]
    env = env_of(steps)
    assert env["SCORING_PORT"] == "8000"
    assert ("EXPOSE", "8000") in runtime
    (volumes,) = [args for name, args in runtime if name == "VOLUME"]
    for setting in ("SCORING_MODEL_DIR", "SCORING_OUTBOX_PATH"):
        path = Path(env[setting])
        assert any(f'"{parent}"' in volumes for parent in path.parents), f"{setting} is not on a volume"
    (healthcheck,) = [args for name, args in runtime if name == "HEALTHCHECK"]
    assert '"python"' in healthcheck
    assert "/healthz" in healthcheck
    assert "curl" not in healthcheck
    (command,) = [args for name, args in runtime if name == "CMD"]
    assert command == '["python", "-m", "scoring_app"]'


def test_functions_image_uses_the_official_base_and_sets_the_role() -> None:
    steps = instructions(DOCKER / "functions.Dockerfile")
    bases = [args for name, args in steps if name == "FROM"]
    assert bases == [FUNCTIONS_BASE], "the official Functions image, pinned by tag"
    env = env_of(steps)
    assert env["EDGELOOP_ROLE"] == "${EDGELOOP_ROLE}"
    assert ("ARG", "EDGELOOP_ROLE=edge") in steps
    assert env["AzureWebJobsScriptRoot"] == "/home/site/wwwroot"
    assert ("COPY", "function_app.py host.json ./") in steps
    assert any(name == "RUN" and "pip install" in args and " ." in args for name, args in steps)
    (user,) = [args for name, args in steps if name == "USER"]
    assert int(user.split(":")[0]) >= 10000
    policy = env["EDGELOOP_COMPLIANCE_POLICY"]
    assert policy.startswith(env["AzureWebJobsScriptRoot"] + "/")
    assert (REPO_ROOT / Path(policy).relative_to(env["AzureWebJobsScriptRoot"])).is_file()
