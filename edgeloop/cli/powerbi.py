"""``edgeloop powerbi dataset generate|create|update``: the push dataset's definition and lifecycle.

``generate`` writes powerbi/dataset.json from the record schema (a test keeps the
committed file equal to it). ``create`` makes the push dataset in the workspace
``POWERBI_GROUP_ID`` (basicFIFO retention) unless one of that name exists, and
prints its id for ``POWERBI_DATASET_ID``; ``update`` PUTs each table's schema.
Settings: edgeloop.config.powerbi (``POWERBI_*``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from edgeloop.adapters.powerbi_client import PowerBIClient
    from edgeloop.config.powerbi import PowerBISettings

powerbi_app = typer.Typer(help="The Power BI push dataset fed by the cloud.", no_args_is_help=True)
dataset_app = typer.Typer(help="Generate, create or update the push dataset.", no_args_is_help=True)
powerbi_app.add_typer(dataset_app, name="dataset")

DefinitionOption = Annotated[
    Path | None, typer.Option("--definition", help="Dataset definition (default: POWERBI_DATASET_DEFINITION)")
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=code)


def _settings() -> PowerBISettings:
    from pydantic import ValidationError

    from edgeloop.config.powerbi import PowerBISettings

    try:
        return PowerBISettings()
    except ValidationError as exc:
        raise _fail(f"invalid Power BI settings: {exc}", code=2) from None


def _definition(settings: PowerBISettings, path: Path | None) -> dict[str, Any]:
    path = path or settings.dataset_definition
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(f"{path}: cannot read the dataset definition ({exc})", code=2) from None
    if not isinstance(definition, dict) or not isinstance(definition.get("tables"), list):
        raise _fail(f"{path}: not a dataset definition (no 'tables')", code=2)
    definition["name"] = settings.dataset_name
    return definition


def _client(settings: PowerBISettings) -> PowerBIClient:
    from edgeloop.bootstrap.powerbi import build_client

    try:
        return build_client(settings)
    except ValueError as exc:
        raise _fail(str(exc), code=2) from None


@dataset_app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Where to write the definition")] = Path("powerbi/dataset.json"),
) -> None:
    """Write the dataset definition generated from the record schema."""
    from edgeloop.domain.powerbi_schema import dataset_definition

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dataset_definition(), indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@dataset_app.command()
def create(definition: DefinitionOption = None) -> None:
    """Create the push dataset (if absent) and print its id."""
    from edgeloop.adapters.powerbi_client import PowerBIError

    settings = _settings()
    body = _definition(settings, definition)
    client = _client(settings)
    try:
        existing = client.find_dataset(settings.dataset_name)
        if existing is not None:
            typer.echo(
                f"dataset {settings.dataset_name!r} already exists; `update` changes its tables", err=True
            )
            typer.echo(existing)
            return
        dataset_id = client.create_dataset(body)
    except PowerBIError as exc:
        raise _fail(f"create failed: {exc}") from None
    finally:
        client.close()
    typer.echo(f"created {settings.dataset_name!r}; set POWERBI_DATASET_ID={dataset_id}", err=True)
    typer.echo(dataset_id)


@dataset_app.command()
def update(definition: DefinitionOption = None) -> None:
    """Replace the schema of every table of the dataset with the definition's."""
    from edgeloop.adapters.powerbi_client import PowerBIError

    settings = _settings()
    body = _definition(settings, definition)
    client = _client(settings)
    try:
        dataset_id = settings.dataset_id or client.find_dataset(settings.dataset_name)
        if dataset_id is None:
            raise _fail(f"no dataset {settings.dataset_name!r}: run `edgeloop powerbi dataset create` first")
        for table in body["tables"]:
            client.put_table(dataset_id, table)
            typer.echo(f"updated table {table['name']}", err=True)
    except PowerBIError as exc:
        raise _fail(f"update failed: {exc}") from None
    finally:
        client.close()
    typer.echo(dataset_id)
