"""``edgeloop store``: one-off upkeep of the cloud's global insight store (settings: CLOUD_STORE, ...).

``backfill-model-rollups``: a Cosmos DB store written before the per-model rollup
(``adapters.cosmos_model_rollup``) gets every site's missing ``site_model`` documents from its
counters; safe beside a running ingest, and running it again creates nothing. A SQLite store
needs none: it is upgraded when it is opened (``adapters.sqlite_model_tables``).
"""

from __future__ import annotations

import typer

store_app = typer.Typer(help="The global insight store's upkeep.", no_args_is_help=True)


@store_app.command("backfill-model-rollups")
def backfill_model_rollups() -> None:
    """Create the per-model rollup of every site that has none yet (a store from before it)."""
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
        typer.echo(f"created {store.backfill_model_rollups()} per-model rollup documents")
    elif isinstance(store, SqliteInsightStore):
        store.close()  # opened: upgraded, if it was from before the rollups
        typer.echo("SQLite: the per-model rollups are summed from the counters when the store is opened")
