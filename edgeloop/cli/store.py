"""``edgeloop store``: one-off upkeep of the cloud's global insight store (settings: CLOUD_STORE, ...).

``backfill-rollups``: a Cosmos DB store written before its rollups gets every site's missing
documents from its counters: the per-site hourly rollup (``adapters.cosmos_rollup``; an hour not
written to since it exists) and the per-model rollup (``adapters.cosmos_model_rollup``); safe
beside a running ingest (``adapters.cosmos_backfill``), and running it again creates nothing.
``backfill-model-rollups`` is its former name (it now does both). A SQLite store needs none: it
is upgraded when it is opened (``adapters.sqlite_store_tables``).
"""

from __future__ import annotations

import typer

store_app = typer.Typer(help="The global insight store's upkeep.", no_args_is_help=True)


@store_app.command("backfill-rollups")
def backfill_rollups() -> None:
    """Create the rollups (per site and hour, per site and model) missing from a store from before them."""
    from pydantic import ValidationError

    from edgeloop.adapters.cosmos_store import CosmosInsightStore
    from edgeloop.adapters.sqlite_store import SqliteInsightStore
    from edgeloop.bootstrap.cloud import build_store
    from edgeloop.config.cloud import CloudSettings

    try:
        store = build_store(CloudSettings())
    except (ValidationError, ValueError) as exc:
        typer.secho(f"invalid settings: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
    if isinstance(store, CosmosInsightStore):
        hours, models = store.backfill_rollups()
        typer.echo(f"created {hours} per-site hourly and {models} per-model rollup documents")
    elif isinstance(store, SqliteInsightStore):
        store.close()  # opened: upgraded, if it was from before the rollups
        typer.echo("SQLite: the rollups are summed from the counters when the store is opened")


store_app.command("backfill-model-rollups", hidden=True)(backfill_rollups)  # its name before the hourly one
