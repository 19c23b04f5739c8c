"""The ``edgeloop`` command line (typer). Commands import their dependencies lazily,
so e.g. the edge runtime never needs the training extra installed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeloop.cli.models import models_app
from edgeloop.cli.ops import ops_app
from edgeloop.cli.powerbi import powerbi_app
from edgeloop.cli.replay import replay_command
from edgeloop.cli.shadow import shadow_app
from edgeloop.cli.store import store_app

if TYPE_CHECKING:
    from edgeloop.domain.manifest import ModelManifest

app = typer.Typer(help="Edgeloop: AI at the edge, hybrid with the cloud.", no_args_is_help=True)
app.add_typer(powerbi_app, name="powerbi")
models_app.add_typer(shadow_app, name="shadow")
app.add_typer(models_app, name="models")
app.command("replay")(replay_command)
app.add_typer(ops_app, name="ops")
app.add_typer(store_app, name="store")


@app.callback()
def _root() -> None:
    """Edgeloop command line."""


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Bundle directory to write (replaced atomically)")],
    data: Annotated[
        str | None, typer.Option(help="Base data: a CSV/Parquet file or folder, or blob://container/prefix")
    ] = None,
    manifest_template: Annotated[
        Path | None,
        typer.Option(help="JSON {name, task, recipe, evaluation?, description?} (default: the AI4I demo)"),
    ] = None,
    recipe: Annotated[str | None, typer.Option(help="Entry point package.module:function")] = None,
    version: Annotated[str, typer.Option(help="Model version recorded in the manifest")] = "1.0.0",
    seed: Annotated[int, typer.Option(help="Seed of the base data's split")] = 7,
) -> None:
    """Train a first model bundle (model.onnx + manifest.json) with a recipe on its base data.

    Without --manifest-template: the demo failure model (edgeloop.recipes.ai4i_failure).
    --recipe replaces the template's entry point, --data its base data uri.
    """
    from dataclasses import replace

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from edgeloop.bootstrap.first_bundle import parse_template, template_from_file, train_first_bundle
    from edgeloop.domain.manifest import ManifestError
    from edgeloop.ports import TrainingFailed
    from edgeloop.recipes.ai4i_failure import manifest_template as demo_template
    from edgeloop.training.base_data import BaseDataError
    from edgeloop.training.bundle import BundleWriteError

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("Reading the template", total=None)

        def on_step(step: str) -> None:
            progress.update(task, description=step)
            progress.console.log(step)

        try:
            template = (
                template_from_file(manifest_template)
                if manifest_template
                else parse_template(demo_template())
            )
            spec = template.recipe if recipe is None else replace(template.recipe, entry_point=recipe)
            manifest = train_first_bundle(
                spec, template.name, out, task=template.task, version=version, seed=seed,
                base_data_uri=data, defaults=template.defaults, on_step=on_step,
            )  # fmt: skip
        except (BaseDataError, TrainingFailed, ManifestError, BundleWriteError) as exc:
            detail = getattr(exc, "detail", "")
            if detail:
                console.print(detail, markup=False, highlight=False)
            console.print(f"[red]training failed:[/red] {exc}", soft_wrap=True)
            raise typer.Exit(code=1) from exc
        progress.update(task, description="Done", total=1, completed=1)
    console.print(_summary(manifest, out), soft_wrap=True)


# How the summary line names a task's metrics (edgeloop.domain.metrics.TASK_METRICS).
_METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "average_precision": "AP",
    "f1_at_threshold": "F1",
    "macro_f1": "macro-F1",
    "log_loss": "log loss",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R2",
    "interval_coverage": "interval coverage",
}


def _summary(manifest: ModelManifest, out: Path) -> str:
    """One line: the model, its task and its held-out figures of the task's metrics.

    A recipe reports them as ``test_<metric>`` (the demo's) or ``holdout_<metric>``."""
    from edgeloop.domain.metrics import TASK_METRICS

    figures = []
    for name in TASK_METRICS[manifest.task.kind]:
        value = manifest.metrics.get(f"test_{name}", manifest.metrics.get(f"holdout_{name}"))
        if value is not None:
            figures.append(f"{_METRIC_LABELS.get(name, name)} {value:.3f}")
    held_out = ", ".join(figures) or "no held-out figures in the manifest's metrics"
    return f"[green]{manifest.name} {manifest.version}[/green] ({manifest.task.kind}) -> {out}: {held_out}"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
