"""``edgeloop powerbi dataset generate|create|update``: the push dataset's definition and lifecycle.

``generate`` writes a model's definition (edgeloop.domain.powerbi_dataset) from its
manifest (``--manifest``) or from the registry's champion (``--champion``, registry
settings: edgeloop.config.retraining); powerbi/dataset.json is the demo model's (a test
keeps it equal to the generated one). ``create`` makes the push dataset in the workspace
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
    from edgeloop.domain.manifest import ModelManifest

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
    from edgeloop.domain.powerbi_dataset import service_body

    body = service_body(definition)  # the edgeloop block is the feed's, not Power BI's
    body["name"] = settings.dataset_name
    return body


def _client(settings: PowerBISettings) -> PowerBIClient:
    from edgeloop.bootstrap.powerbi import build_client

    try:
        return build_client(settings)
    except ValueError as exc:
        raise _fail(str(exc), code=2) from None


def _manifest_file(path: Path) -> ModelManifest:
    from edgeloop.domain.manifest import ManifestError, load_manifest

    try:
        return load_manifest(path)
    except ManifestError as exc:
        raise _fail(f"{path}: {exc}", code=2) from None


def _champion_manifest() -> ModelManifest:
    """The registry's champion's manifest (MODEL_NAME, CloudStorage: edgeloop.config.retraining)."""
    from azure.core.exceptions import AzureError
    from pydantic import ValidationError

    from edgeloop.bootstrap.retraining import build_registry
    from edgeloop.config.connections import ConnectionSettingError
    from edgeloop.config.retraining import RetrainingSettings
    from edgeloop.domain.manifest import MANIFEST_FILE, ManifestError, ModelManifest

    try:
        settings = RetrainingSettings()
        settings.resolve_cloud_storage("blob")
    except (ValidationError, ConnectionSettingError) as exc:
        raise _fail(
            f"the model registry is not reachable with this configuration ({exc}); "
            "set CloudStorage, or give --manifest PATH",
            code=2,
        ) from None
    try:
        registry = build_registry(settings)
        found = registry.champion(settings.model_name)
        if found is None:
            raise _fail(f"{settings.model_name} has no champion in the registry yet; give --manifest PATH")
        document = json.loads(registry.read(settings.model_name, found[0].version, MANIFEST_FILE))
        return ModelManifest.from_dict(document)
    except (AzureError, OSError) as exc:
        raise _fail(f"the model registry is not reachable: {exc}") from None
    except (ManifestError, json.JSONDecodeError) as exc:
        raise _fail(f"{settings.model_name}'s champion has an unreadable manifest: {exc}") from None


@dataset_app.command()
def generate(
    manifest: Annotated[
        Path | None, typer.Option(help="The model's manifest.json (or its bundle directory)")
    ] = None,
    champion: Annotated[bool, typer.Option(help="The model registry's champion (MODEL_NAME)")] = False,
    out: Annotated[Path, typer.Option(help="Where to write the definition")] = Path("powerbi/dataset.json"),
) -> None:
    """Write the dataset definition generated from a model's manifest (its task's columns)."""
    from edgeloop.domain.powerbi_dataset import PowerBIDataset
    from edgeloop.domain.powerbi_schema import SchemaError

    if (manifest is not None) == champion:  # neither or both
        raise _fail("give one of --manifest PATH or --champion", code=2)
    model = _manifest_file(manifest) if manifest is not None else _champion_manifest()
    try:
        definition = PowerBIDataset.for_manifest(model).definition()
    except SchemaError as exc:
        raise _fail(f"{model.name}: {exc}", code=2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(definition, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote {out} ({model.name} {model.version}, a {model.task.kind} model)", err=True)


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
