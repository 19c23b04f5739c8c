"""``edgeloop models``: the model registry from the command line.

``init`` (a new model's recipe and manifest template), ``keygen`` (signing key pair under
var/local), ``publish`` (a local bundle, e.g. the demo),
``train`` (a retraining run, here and now), ``submit`` (hand a run to the configured
trainer), ``list``, ``show``, ``promote``, ``rollback``, ``resign`` (the champion pointer, now),
``rollout ...`` (the staged rollout: edgeloop.cli.rollout).
Every pointer written is signed (edgeloop.domain.signed_pointer). Settings: edgeloop.config.retraining.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgeloop.cli.rollout import rollout_app

if TYPE_CHECKING:
    from edgeloop.config.retraining import RetrainingSettings

models_app = typer.Typer(help="Model registry: train, list, show, promote, roll back.", no_args_is_help=True)
models_app.add_typer(rollout_app, name="rollout")


class TaskOption(StrEnum):
    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


ReasonOption = Annotated[str, typer.Option(help="Why (recorded in the champion's history)")]
ActorOption = Annotated[str, typer.Option(help="Who (recorded in the champion's history)")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=code)


def _settings(**overrides: Any) -> RetrainingSettings:
    """The settings, with the registry's connection resolvable (exit 2 naming the setting if not)."""
    from pydantic import ValidationError

    from edgeloop.config.connections import ConnectionSettingError
    from edgeloop.config.retraining import RetrainingSettings

    try:
        settings = RetrainingSettings(**{k: v for k, v in overrides.items() if v is not None})
        settings.resolve_cloud_storage("blob")
    except (ValidationError, ConnectionSettingError) as exc:
        # Locally: CloudStorage=UseDevelopmentStorage=true is the Azurite `make run` starts.
        raise _fail(f"invalid settings: {exc}", 2) from None
    return settings


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",")) if text.strip() else ()


@models_app.command()
def init(
    name: Annotated[str, typer.Argument(help="The model's name: lowercase letters, digits, -")],
    task: Annotated[TaskOption, typer.Option(help="What it predicts", case_sensitive=False)],
    out: Annotated[Path, typer.Option(help="Folder to write (new or empty)")],
    features: Annotated[str, typer.Option(help="Numeric features, comma-separated")] = "x1,x2,x3",
    label: Annotated[str, typer.Option(help="The base data's column with the outcome")] = "label",
    classes: Annotated[
        str, typer.Option(help="multiclass: the classes; binary: what 0 and 1 mean (comma-separated)")
    ] = "",
) -> None:
    """Scaffold a new model: a recipe (scikit-learn + skl2onnx), a manifest template, a README."""
    from edgeloop.training.scaffold import ScaffoldError, ScaffoldSpec, write_scaffold

    spec = ScaffoldSpec(name, task.value, _names(features), label, _names(classes))
    try:
        written = write_scaffold(spec, out)
    except ScaffoldError as exc:
        raise _fail(str(exc), 2) from None
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: edit {out / 'model.json'} and the recipe, then see {out / 'README.md'}")


@models_app.command()
def keygen(
    directory: Annotated[Path, typer.Option("--dir", help="Where the key files go")] = Path("var/local"),
) -> None:
    """Create the local signing key pair (kept if it exists); prints the public key for the sites."""
    from edgeloop.adapters.ed25519_signing import PRIVATE_KEY_FILE, ensure_key_pair

    _, public = ensure_key_pair(directory)
    typer.echo(f"private key: {directory / PRIVATE_KEY_FILE} (never commit it; MODEL_SIGNING_PRIVATE_KEY)")
    typer.echo(f"SCORING_MODEL_SIGNING_PUBLIC_KEY={public}")


@models_app.command("site-keygen")
def site_keygen(site: Annotated[str, typer.Option(help="The site id (EDGELOOP_SITE_ID)")]) -> None:
    """A site's signing key pair: the private key for the site's secret, the public one for the cloud."""
    import json

    from edgeloop.adapters.ed25519_signing import generate_key_pair

    private, public = generate_key_pair()
    typer.echo(f"EDGELOOP_SITE_SIGNING_KEY={private}  (the site's secret, never commit it)")
    typer.echo(f"EDGELOOP_SITE_PUBLIC_KEYS entry: {json.dumps({site: [public]})}")


@models_app.command()
def publish(
    bundle: Annotated[Path, typer.Option(help="Bundle directory", exists=True, file_okay=False)],
    actor: ActorOption = "cli",
) -> None:
    """Sign and register a local bundle (any time); it becomes champion if its model has none yet.

    The manifest is checked first (docs/manifest.schema.json, then the parser's rules across
    fields): each fault is printed naming its field, and nothing is registered."""
    from edgeloop.bootstrap.retraining import publish_local_bundle
    from edgeloop.domain.manifest import manifest_file_problems
    from edgeloop.ports import VersionExists

    problems = manifest_file_problems(bundle)
    for problem in problems:
        typer.secho(str(problem), err=True, fg=typer.colors.RED)
    if problems:
        raise _fail(f"{bundle}: invalid manifest ({len(problems)} problem(s)), nothing registered")
    try:
        version, promoted = publish_local_bundle(_settings(), bundle, actor)
    except VersionExists as exc:
        raise _fail(f"{bundle}: {exc}; nothing registered") from None
    typer.echo(f"registered {version}" + (" (now champion)" if promoted else ""))


@models_app.command()
def train(
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a new one)")] = None,
    reason: Annotated[str, typer.Option(help="Why this run")] = "manual",
    base_data: Annotated[
        str | None,
        typer.Option(help="Base data uri: file, folder or blob://container/prefix (RETRAIN_BASE_DATA)"),
    ] = None,
    line: Annotated[str | None, typer.Option(help="A RETRAIN_COHORTS line (default: MODEL_NAME's)")] = None,
) -> None:
    """Run one retraining run here: build data, run the recipe, evaluate, decide, register (progress shown).

    The recipe is the champion manifest's (or RETRAIN_RECIPE); its output is shown as it runs.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from edgeloop.bootstrap.retraining import build_retraining
    from edgeloop.domain.records import utc_now
    from edgeloop.ports import RetrainRequest

    try:
        service = build_retraining(_settings(RETRAIN_BASE_DATA=base_data), line=line)
    except ValueError as exc:  # a line RETRAIN_COHORTS does not name
        raise _fail(str(exc)) from None
    request = RetrainRequest(run_id or uuid.uuid4().hex, utc_now(), reason, line)
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("Starting", total=None)

        def on_step(step: str) -> None:
            progress.update(task, description=step)
            progress.console.log(step)

        report = service.run(request, on_step=on_step)
        progress.update(task, description="Done", total=1, completed=1)
    colour = {"promoted": "green", "rejected": "red", "skipped": "yellow", "failed": "red"}[report.outcome]
    console.print(f"[{colour}]{report.outcome}[/{colour}] {report.version or ''}")
    for reason_text in report.document["decision"]["reasons"]:
        console.print(f"  - {reason_text}")
    for site, why in report.excluded().items():
        console.print(f"  not for site {site}: {why}", markup=False)
    detail = (report.document.get("failure") or {}).get("detail")
    if detail:
        console.print(detail, markup=False, highlight=False)
    if report.outcome == "failed":
        raise typer.Exit(code=1)


@models_app.command()
def submit(reason: Annotated[str, typer.Option(help="Why this run")] = "manual") -> None:
    """Hand a run to the configured trainer (RETRAIN_TRAINER) and return at once."""
    from edgeloop.bootstrap.retraining import build_trainer
    from edgeloop.domain.records import utc_now
    from edgeloop.ports import RetrainRequest

    request = RetrainRequest(uuid.uuid4().hex, utc_now(), reason)
    typer.echo(build_trainer(_settings()).submit(request))


@models_app.command("list")
def list_versions() -> None:
    """Registered versions, oldest first; the champion is marked."""
    from edgeloop.bootstrap.retraining import build_registry

    settings = _settings()
    registry = build_registry(settings)
    found = registry.champion(settings.model_name)
    champion = found[0].version if found else None
    for version in registry.versions(settings.model_name):
        typer.echo(f"{'*' if version == champion else ' '} {version}")


@models_app.command()
def show(version: Annotated[str, typer.Argument(help="Version, or 'champion'")] = "champion") -> None:
    """A version's report (data counts, metrics, decision) or the champion's history."""
    from edgeloop.adapters.blob_model_registry import RegistryError
    from edgeloop.bootstrap.retraining import build_registry

    settings = _settings()
    registry = build_registry(settings)
    if version == "champion":
        found = registry.champion(settings.model_name)
        if found is None:
            raise _fail(f"{settings.model_name} has no champion yet")
        typer.echo(json.dumps(found[0].to_dict(), indent=2))
        return
    if version not in registry.versions(settings.model_name):
        raise _fail(f"{settings.model_name} {version} is not registered")
    try:
        typer.echo(registry.read(settings.model_name, version, "report.json").decode())
    except RegistryError:
        typer.echo(registry.read(settings.model_name, version, "manifest.json").decode())


@models_app.command()
def promote(
    version: Annotated[str, typer.Argument(help="A registered version")],
    reason: ReasonOption = "manual promotion",
    actor: ActorOption = "cli",
) -> None:
    """Make a registered version the champion (refused if the pointer changed meanwhile)."""
    from edgeloop.bootstrap.retraining import build_pointer_signing, build_registry
    from edgeloop.ports import RegistryConflict
    from edgeloop.service_layer.model_publishing import UnknownVersion
    from edgeloop.service_layer.model_publishing import promote as promote_version

    settings = _settings()
    registry, signing = build_registry(settings), build_pointer_signing(settings)
    try:
        pointer = promote_version(registry, settings.model_name, version, actor, reason, signing)
    except (UnknownVersion, RegistryConflict) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"champion: {pointer.version} (pointer serial {pointer.serial})")


@models_app.command()
def rollback(reason: ReasonOption = "manual rollback", actor: ActorOption = "cli") -> None:
    """Return the champion to the version before it."""
    from edgeloop.bootstrap.retraining import build_pointer_signing, build_registry
    from edgeloop.domain.champion import ChampionError
    from edgeloop.domain.signed_pointer import PointerRefused
    from edgeloop.ports import RegistryConflict
    from edgeloop.service_layer.model_publishing import UnknownVersion
    from edgeloop.service_layer.model_publishing import rollback as rollback_champion

    settings = _settings()
    registry, signing = build_registry(settings), build_pointer_signing(settings)
    try:
        pointer = rollback_champion(registry, settings.model_name, actor, reason, signing)
    except (UnknownVersion, RegistryConflict, ChampionError, PointerRefused) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"champion: {pointer.version} (rolled back from {pointer.history[-1].previous})")


@models_app.command()
def resign() -> None:
    """Re-sign the champion pointer now (next serial, a new expiry): after switching signing keys."""
    from edgeloop.bootstrap.retraining import build_pointer_signing, build_registry
    from edgeloop.domain.signed_pointer import PointerRefused
    from edgeloop.ports import RegistryConflict
    from edgeloop.service_layer.champion_pointers import refresh_pointer

    settings = _settings()
    registry, signing = build_registry(settings), build_pointer_signing(settings)
    try:
        signed = refresh_pointer(registry, settings.model_name, signing, now=True)
    except (RegistryConflict, PointerRefused) as exc:
        raise _fail(str(exc)) from None
    if signed is None:
        raise _fail(f"{settings.model_name} has no champion yet")
    pointer = signed.pointer
    typer.echo(f"champion: {pointer.version} (pointer serial {pointer.serial}, expires {pointer.expires})")
