"""``edgeloop models``: the model registry from the command line.

``keygen`` (signing key pair under var/local), ``publish`` (a local bundle, e.g. the demo),
``train`` (a retraining run, here and now), ``submit`` (hand a run to the configured
trainer), ``list``, ``show``, ``promote``, ``rollback``. Settings: edgeloop.config.retraining.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from edgeloop.config.retraining import RetrainingSettings

models_app = typer.Typer(help="Model registry: train, list, show, promote, roll back.", no_args_is_help=True)

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


@models_app.command()
def keygen(
    directory: Annotated[Path, typer.Option("--dir", help="Where the key files go")] = Path("var/local"),
) -> None:
    """Create the local signing key pair (kept if it exists); prints the public key for the sites."""
    from edgeloop.adapters.ed25519_signing import PRIVATE_KEY_FILE, ensure_key_pair

    _, public = ensure_key_pair(directory)
    typer.echo(f"private key: {directory / PRIVATE_KEY_FILE} (never commit it; MODEL_SIGNING_PRIVATE_KEY)")
    typer.echo(f"SCORING_MODEL_SIGNING_PUBLIC_KEY={public}")


@models_app.command()
def publish(
    bundle: Annotated[Path, typer.Option(help="Bundle directory", exists=True, file_okay=False)],
    actor: ActorOption = "cli",
) -> None:
    """Sign and register a local bundle (any time); it becomes champion if its model has none yet."""
    from edgeloop.bootstrap.retraining import publish_local_bundle

    version, promoted = publish_local_bundle(_settings(), bundle, actor)
    typer.echo(f"registered {version}" + (" (now champion)" if promoted else ""))


@models_app.command()
def train(
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a new one)")] = None,
    reason: Annotated[str, typer.Option(help="Why this run")] = "cli",
    base_data: Annotated[Path | None, typer.Option(help="Base dataset (RETRAIN_BASE_DATA)")] = None,
) -> None:
    """Run one retraining run here: build data, train, evaluate, decide, register (progress shown)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from edgeloop.bootstrap.retraining import build_retraining
    from edgeloop.domain.records import utc_now
    from edgeloop.ports import RetrainRequest

    service = build_retraining(_settings(RETRAIN_BASE_DATA=base_data))
    request = RetrainRequest(run_id or uuid.uuid4().hex, utc_now(), reason)
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("Starting", total=None)

        def on_step(step: str) -> None:
            progress.update(task, description=step)
            progress.console.log(step)

        report = service.run(request, on_step=on_step)
        progress.update(task, description="Done", total=1, completed=1)
    colour = {"promoted": "green", "rejected": "red", "skipped": "yellow"}[report.outcome]
    console.print(f"[{colour}]{report.outcome}[/{colour}] {report.version or ''}")
    for reason_text in report.document["decision"]["reasons"]:
        console.print(f"  - {reason_text}")


@models_app.command()
def submit(reason: Annotated[str, typer.Option(help="Why this run")] = "cli") -> None:
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
    from edgeloop.bootstrap.retraining import build_registry
    from edgeloop.ports import RegistryConflict
    from edgeloop.service_layer.model_publishing import UnknownVersion
    from edgeloop.service_layer.model_publishing import promote as promote_version

    settings = _settings()
    try:
        pointer = promote_version(build_registry(settings), settings.model_name, version, actor, reason)
    except (UnknownVersion, RegistryConflict) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"champion: {pointer.version}")


@models_app.command()
def rollback(reason: ReasonOption = "manual rollback", actor: ActorOption = "cli") -> None:
    """Return the champion to the version before it."""
    from edgeloop.bootstrap.retraining import build_registry
    from edgeloop.domain.champion import ChampionError
    from edgeloop.ports import RegistryConflict
    from edgeloop.service_layer.model_publishing import UnknownVersion
    from edgeloop.service_layer.model_publishing import rollback as rollback_champion

    settings = _settings()
    try:
        pointer = rollback_champion(build_registry(settings), settings.model_name, actor, reason)
    except (UnknownVersion, RegistryConflict, ChampionError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"champion: {pointer.version} (rolled back from {pointer.history[-1].previous})")
