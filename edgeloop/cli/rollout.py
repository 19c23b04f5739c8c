"""``edgeloop models rollout``: the staged rollout of a model from the command line (docs/rollouts.md).

``plan FILE`` (set the model's plan; ``plan`` alone prints it), ``status`` (``--json``: the state as
stored), ``start VERSION`` (roll out a registered version over the champion), ``advance``,
``halt``, ``rollback``, ``pin SITE VERSION`` / ``unpin SITE``, ``watch`` (judge the soaking ring once,
as the retraining timer does). Every rollout pointer written is signed. Errors exit 1 with the
reason (a plan's fault names its field); settings: edgeloop.config.retraining.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from edgeloop.domain.rollout import RolloutState
    from edgeloop.service_layer.rollouts import Rollouts

rollout_app = typer.Typer(
    help="Staged rollout: plan, status, advance, halt, roll back, pin.", no_args_is_help=True
)

ReasonOption = Annotated[str, typer.Option(help="Why (recorded in the rollout's history)")]
ActorOption = Annotated[str, typer.Option(help="Who (recorded in the rollout's history)")]


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _rollouts() -> tuple[Rollouts, str]:
    from edgeloop.bootstrap.rollouts import build_rollouts
    from edgeloop.cli.models import _settings

    settings = _settings()
    return build_rollouts(settings), settings.model_name


def _describe(state: RolloutState) -> str:
    lines = [f"{state.name}: {state.previous} -> {state.candidate}, {state.phase}, ring {state.ring}"]
    for index, ring in enumerate(state.rings):
        sites = ", ".join(f"{site}={state.version_for(site)}" for site in ring)
        lines.append(f"  ring {index}{' (current)' if index == state.ring else ''}: {sites}")
    lines += [f"  pinned {site}: {version}" for site, version in sorted(state.pins.items())]
    lines += [f"  excluded {site}: {why}" for site, why in sorted(state.excluded.items())]
    if state.history:
        last = state.history[-1]
        lines.append(f"  last: {last.action} by {last.actor} at {last.at.isoformat()}: {last.reason}")
    return "\n".join(lines)


def _run(change: str, *args: str) -> None:
    """One transition by name, printed; the domain's and the registry's refusals as exit 1."""
    from edgeloop.domain.rollout import RolloutError
    from edgeloop.domain.signed_pointer import PointerRefused
    from edgeloop.ports import RegistryConflict

    rollouts, name = _rollouts()
    try:
        state = getattr(rollouts, change)(name, *args)
    except (RolloutError, PointerRefused, RegistryConflict) as exc:
        raise _fail(str(exc)) from None
    typer.echo(_describe(state))


@rollout_app.command()
def plan(
    file: Annotated[Path | None, typer.Argument(help="A plan (JSON); none: print the current")] = None,
) -> None:
    """Set the model's rollout plan from FILE (validated first), or print it."""
    from edgeloop.domain.rollout import RolloutError
    from edgeloop.domain.rollout_documents import plan_to_dict

    rollouts, name = _rollouts()
    try:
        if file is None:
            current = rollouts.plan(name)
            typer.echo("no plan" if current is None else json.dumps(plan_to_dict(current), indent=2))
            return
        document = json.loads(file.read_text(encoding="utf-8"))
        set_plan = rollouts.set_plan(name, document)
    except OSError as exc:
        raise _fail(f"{file}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise _fail(f"{file}: not JSON ({exc})") from None
    except RolloutError as exc:
        raise _fail(f"{file}: {exc}") from None
    typer.echo(f"{name}: plan set ({len(set_plan.rings) or len(set_plan.percentages)} rings)")


@rollout_app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="The state as stored")] = False) -> None:
    """The current rollout: rings, what each site serves, pins, the last event."""
    from edgeloop.domain.rollout_documents import state_to_dict
    from edgeloop.domain.signed_pointer import PointerRefused

    rollouts, name = _rollouts()
    try:
        state = rollouts.status(name)
    except PointerRefused as exc:
        raise _fail(str(exc)) from None
    if state is None:
        raise _fail(f"{name} has no rollout")
    typer.echo(json.dumps(state_to_dict(state), indent=2) if as_json else _describe(state))


@rollout_app.command()
def start(
    version: Annotated[str, typer.Argument(help="A registered version")],
    reason: ReasonOption = "manual rollout",
    actor: ActorOption = "cli",
) -> None:
    """Roll VERSION out over the current champion, ring by ring, per the model's plan."""
    from edgeloop.domain.rollout import RolloutError
    from edgeloop.domain.signed_pointer import PointerRefused
    from edgeloop.ports import RegistryConflict

    rollouts, name = _rollouts()
    try:
        plan_now, champion = rollouts.plan(name), rollouts.champion(name)
        if plan_now is None:
            raise RolloutError(f"{name} has no rollout plan (edgeloop models rollout plan FILE)")
        state = rollouts.start(plan_now, name, version, champion, actor, reason)
    except (RolloutError, PointerRefused, RegistryConflict) as exc:
        raise _fail(str(exc)) from None
    typer.echo(_describe(state))


@rollout_app.command()
def advance(reason: ReasonOption = "manual advance", actor: ActorOption = "cli") -> None:
    """Move to the next ring now (after the last: complete, and the champion pointer moves)."""
    _run("advance", actor, reason)


@rollout_app.command()
def halt(reason: ReasonOption = "manual halt", actor: ActorOption = "cli") -> None:
    """Stop advancing; every site keeps what it serves (``advance`` resumes)."""
    _run("halt", actor, reason)


@rollout_app.command("rollback")
def roll_back(reason: ReasonOption = "manual rollback", actor: ActorOption = "cli") -> None:
    """Every site returns to the previous version (pinned sites keep their pin)."""
    _run("roll_back", actor, reason)


@rollout_app.command()
def pin(
    site: Annotated[str, typer.Argument(help="A site id (EDGELOOP_SITE_ID)")],
    version: Annotated[str, typer.Argument(help="A registered version")],
    reason: ReasonOption = "manual pin",
    actor: ActorOption = "cli",
) -> None:
    """SITE serves VERSION whatever the rings say."""
    _run("pin", site, version, actor, reason)


@rollout_app.command()
def unpin(
    site: Annotated[str, typer.Argument(help="A pinned site")],
    reason: ReasonOption = "manual unpin",
    actor: ActorOption = "cli",
) -> None:
    """SITE follows the rings again."""
    from edgeloop.domain.rollout import RolloutError

    rollouts, name = _rollouts()
    try:
        state = rollouts.pin(name, site, None, actor, reason)
    except RolloutError as exc:
        raise _fail(str(exc)) from None
    typer.echo(_describe(state))


@rollout_app.command()
def watch() -> None:
    """Judge the soaking ring once from the global store's evidence, as the retraining timer does."""
    from edgeloop.bootstrap.rollouts import build_rollout_watch
    from edgeloop.cli.models import _settings

    settings = _settings()
    report = build_rollout_watch(settings).run(settings.model_name)
    if report is None:
        raise _fail(f"{settings.model_name}: no rollout is soaking")
    typer.echo(f"{report.decision.action}: {'; '.join(report.decision.reasons)} (report {report.blob})")
