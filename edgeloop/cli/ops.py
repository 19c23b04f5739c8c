"""``edgeloop ops``: inspect, replay and purge held messages (poison, quarantine, dead letters).

``places`` (what this machine's settings reach), ``list PLACE``, ``show PLACE ID``,
``replay PLACE ID... | --all`` and ``purge PLACE ID... | --all`` (asks first unless ``--yes``).
Replays and purges write an audit document to container ``operations-audit``.
Settings: edgeloop.config.edge_functions (EdgeStorage, CloudStorage, ServiceBusConnection).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import getpass
import json
import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from edgeloop.domain.held_messages import HeldMessage
    from edgeloop.service_layer.operations import HeldMessageOperations, Outcome

ops_app = typer.Typer(help="Held messages: list, show, replay, purge.", no_args_is_help=True)

PlaceArgument = Annotated[str, typer.Argument(help="Holding place (see `edgeloop ops places`)")]
IdsArgument = Annotated[list[str] | None, typer.Argument(help="Message ids (see `list`)", show_default=False)]
AllOption = Annotated[bool, typer.Option("--all", help="Every held message (up to --limit)")]
LimitOption = Annotated[int, typer.Option(min=1, max=10_000, help="At most this many messages")]
ActorOption = Annotated[
    str | None, typer.Option(help="Who (recorded in the audit); default: EDGELOOP_ACTOR or the login")
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON output")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=code)


def _operations() -> HeldMessageOperations:
    from pydantic import ValidationError

    from edgeloop.bootstrap.operations import build_operations
    from edgeloop.config.edge_functions import EdgeFunctionSettings

    try:
        operations = build_operations(EdgeFunctionSettings())
    except (ValidationError, ValueError) as exc:
        raise _fail(f"invalid settings: {exc}", 2) from None
    if not operations.place_names():
        raise _fail(
            "no holding place reachable: set EdgeStorage and/or CloudStorage and ServiceBusConnection", 2
        )
    return operations


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("EDGELOOP_ACTOR") or getpass.getuser()


def _check_selection(ids: list[str] | None, every: bool) -> None:
    if bool(ids) == every:
        raise _fail("name the message ids, or pass --all (not both)", 2)


def _run(
    action: str,
    operations: HeldMessageOperations,
    place: str,
    ids: list[str] | None,
    every: bool,
    limit: int,
    actor: str,
) -> Outcome:
    from edgeloop.domain.held_messages import HeldMessageError
    from edgeloop.service_layer.operations import UnknownPlace

    _check_selection(ids, every)
    method = operations.replay if action == "replay" else operations.purge
    try:
        return method(place, None if every else ids, limit, actor)
    except UnknownPlace as exc:
        raise _fail(str(exc), 2) from None
    except HeldMessageError as exc:
        raise _fail(f"{action} stopped: {exc} (what was done is in the audit)") from None


def _report(outcome: Outcome) -> None:
    verb = "replayed" if outcome.action == "replay" else "purged"
    typer.echo(f"{verb} {len(outcome.done)} from {outcome.place}: {' '.join(outcome.done) or '-'}")
    if outcome.missing:
        typer.secho(f"not held: {' '.join(outcome.missing)}", err=True, fg=typer.colors.YELLOW)
    typer.echo(f"audit: operations-audit/{outcome.audit_blob}")


@ops_app.command()
def places() -> None:
    """The holding places these settings reach, and where each replays to."""
    operations = _operations()
    for name in operations.place_names():
        typer.echo(f"{name}\t-> {operations.source_of(name)}")


@ops_app.command("list")
def list_held(place: PlaceArgument, limit: LimitOption = 32, as_json: JsonOption = False) -> None:
    """The held messages of a place, oldest first (a queue shows at most 32)."""
    from edgeloop.domain.held_messages import HeldMessageError
    from edgeloop.service_layer.operations import UnknownPlace

    try:
        messages = _operations().list(place, limit)
    except UnknownPlace as exc:
        raise _fail(str(exc), 2) from None
    except HeldMessageError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([m.summary() for m in messages], indent=2))
        return
    for m in messages:
        since = m.held_since.isoformat() if m.held_since else "-"
        typer.echo(f"{m.message_id}\t{since}\t{len(m.body)} B\t{m.reason or '-'}")
    typer.echo(f"{len(messages)} held in {place}", err=True)


def readable_body(message: HeldMessage) -> str:
    """The body for a person: a queue message's base64 decoded, an edgeloop pack unpacked."""
    from edgeloop.wire.packing import PackError, unpack_message

    body = message.body
    with contextlib.suppress(binascii.Error, ValueError):
        body = base64.b64decode(body, validate=True)
    try:
        return "\n".join(json.dumps(record, sort_keys=True) for record in unpack_message(body))
    except PackError:
        return body.decode("utf-8", "replace")


@ops_app.command()
def show(
    place: PlaceArgument,
    message_id: Annotated[str, typer.Argument(help="Message id")],
    as_json: JsonOption = False,
) -> None:
    """One held message: its metadata, then its content (records one per line)."""
    from edgeloop.domain.held_messages import HeldMessageError
    from edgeloop.service_layer.operations import MessageNotHeld, UnknownPlace

    try:
        message = _operations().show(place, message_id)
    except (UnknownPlace, MessageNotHeld) as exc:
        raise _fail(str(exc), 2) from None
    except HeldMessageError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(message.summary() | {"content": readable_body(message)}, indent=2))
        return
    for key, value in message.summary().items():
        typer.echo(f"{key}: {value}")
    typer.echo("")
    typer.echo(readable_body(message))


@ops_app.command()
def replay(
    place: PlaceArgument,
    ids: IdsArgument = None,
    every: AllOption = False,
    limit: LimitOption = 1000,
    actor: ActorOption = None,
) -> None:
    """Put held messages back on their source, then delete them from the place (at least once)."""
    operations = _operations()
    _report(_run("replay", operations, place, ids, every, limit, _actor(actor)))


@ops_app.command()
def purge(
    place: PlaceArgument,
    ids: IdsArgument = None,
    every: AllOption = False,
    limit: LimitOption = 1000,
    actor: ActorOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Delete held messages for good (asks first unless --yes)."""
    _check_selection(ids, every)
    operations = _operations()
    what = f"up to {limit} messages" if every else f"{len(ids or [])} message(s)"
    if not yes and not typer.confirm(f"Delete {what} from {place} for good?"):
        raise _fail("nothing purged", 1)
    _report(_run("purge", operations, place, ids, every, limit, _actor(actor)))
