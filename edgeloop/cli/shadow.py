"""``edgeloop models shadow``: which challenger sites score in shadow, and how it compares.

``start VERSION --sites a,b`` (a signed shadow pointer naming the version and the sites),
``stop`` (the next pointer names none), ``status`` (the pointer now, its signature checked),
``report`` (per site and version pair: rows, agreement, accuracy against feedback; read from
the global store). Settings: edgeloop.config.retraining (registry, signing), edgeloop.config.cloud
(the global store, for ``report``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from edgeloop.cli.models import ActorOption, ReasonOption, _fail, _names, _settings

if TYPE_CHECKING:
    from edgeloop.adapters.blob_model_registry import BlobModelRegistry
    from edgeloop.adapters.blob_shadow_pointers import BlobShadowPointers
    from edgeloop.config.retraining import RetrainingSettings
    from edgeloop.service_layer.champion_pointers import PointerSigning

shadow_app = typer.Typer(help="Shadow a challenger on named sites: start, stop, status, report.")


def _pointers() -> tuple[RetrainingSettings, BlobModelRegistry, BlobShadowPointers, PointerSigning]:
    from edgeloop.adapters.blob_shadow_pointers import BlobShadowPointers
    from edgeloop.bootstrap.retraining import build_pointer_signing, build_registry

    settings = _settings()
    registry = build_registry(settings)
    return settings, registry, BlobShadowPointers(registry.container), build_pointer_signing(settings)


@shadow_app.command()
def start(
    version: Annotated[str, typer.Argument(help="A registered version of the model")],
    sites: Annotated[str, typer.Option(help="The sites that shadow it, comma-separated")],
    reason: ReasonOption = "shadow test",
    actor: ActorOption = "cli",
) -> None:
    """Shadow VERSION on the named sites (never in their answers)."""
    from edgeloop.domain.signed_pointer import PointerRefused
    from edgeloop.ports import RegistryConflict
    from edgeloop.service_layer.model_publishing import UnknownVersion
    from edgeloop.service_layer.shadow_pointers import start_shadow

    settings, registry, pointers, signing = _pointers()
    try:
        signed = start_shadow(
            pointers,
            registry,
            settings.model_name,
            version,
            _names(sites),
            signing,
            actor=actor,
            reason=reason,
        )
    except (UnknownVersion, ValueError, RegistryConflict, PointerRefused) as exc:
        raise _fail(str(exc)) from None
    pointer = signed.pointer
    typer.echo(f"shadow: {pointer.version} on {', '.join(pointer.sites)} (pointer serial {pointer.serial})")


@shadow_app.command()
def stop(reason: ReasonOption = "shadow test over", actor: ActorOption = "cli") -> None:
    """Stop shadowing: every site drops its shadow model."""
    from edgeloop.domain.signed_pointer import PointerRefused
    from edgeloop.ports import RegistryConflict
    from edgeloop.service_layer.shadow_pointers import stop_shadow

    settings, registry, pointers, signing = _pointers()
    try:
        signed = stop_shadow(pointers, registry, settings.model_name, signing, actor=actor, reason=reason)
    except (RegistryConflict, PointerRefused) as exc:
        raise _fail(str(exc)) from None
    if signed is None:
        raise _fail(f"{settings.model_name}: nothing is shadowed")
    typer.echo(f"shadow: stopped (pointer serial {signed.pointer.serial})")


@shadow_app.command()
def status() -> None:
    """The shadow pointer now (JSON), once its signature verified."""
    from edgeloop.domain.signed_pointer import PointerRefused
    from edgeloop.service_layer.shadow_pointers import current_shadow

    settings, _, pointers, signing = _pointers()
    try:
        found = current_shadow(pointers, settings.model_name, signing)
    except PointerRefused as exc:
        raise _fail(str(exc)) from None
    if found is None:
        raise _fail(f"{settings.model_name}: no shadow pointer yet")
    typer.echo(json.dumps(found[0].pointer.to_dict(), indent=2))


@shadow_app.command()
def report(
    site: Annotated[list[str] | None, typer.Option(help="Only these sites (repeatable)")] = None,
    rows: Annotated[int, typer.Option(min=1, help="Newest shadow insights read per site")] = 10_000,
    tolerance: Annotated[float, typer.Option(min=0.0, help="Regression: agreement within this")] = 0.0,
) -> None:
    """Per site and (served, shadow) version pair: rows, agreement, accuracy (JSON)."""
    from edgeloop.bootstrap.cloud import build_store
    from edgeloop.config.cloud import CloudSettings
    from edgeloop.service_layer.shadow_report import shadow_report

    model = _settings().model_name
    store = build_store(CloudSettings())
    summaries = shadow_report(store, model, site or None, rows=rows, tolerance=tolerance)
    typer.echo(json.dumps({"model": model, "summaries": [s.to_dict() for s in summaries]}, indent=2))
