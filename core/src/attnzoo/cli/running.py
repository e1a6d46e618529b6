"""``attnzoo train | evaluate | predict``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from attnzoo.cli.main import echo_json


@click.command()
@click.argument("run_yaml", required=False, type=click.Path(dir_okay=True, path_type=Path))
@click.option("--model", "-m", help="Model name, optionally with a preset (diffusion.agnews).")
@click.option(
    "--dataset", "-d", help="Dataset recipe, local CSV/JSONL/Parquet file or folder, or hf:<name>."
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a setting: train.lr=1e-3, model.d_model=128, epochs=3 ...",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Parent folder of run folders (default: runs).",
)
@click.option("--name", help="Run folder name (default: <model>-<dataset>-s<seed>).")
@click.option(
    "--resume", is_flag=True, help="Continue the run in its folder from its last saved state."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing run folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the final summary as JSON.")
def train(
    run_yaml: Path | None,
    model: str | None,
    dataset: str | None,
    sets: tuple[str, ...],
    out_dir: Path | None,
    name: str | None,
    resume: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Train a model: from RUN_YAML (a run.yaml or run folder) or from --model and --dataset.

    A run folder's own run.yaml names that folder: `attnzoo train COPY/run.yaml --resume`
    continues the copy. Ctrl-C saves resumable state and exits with status 130.
    """
    from attnzoo.api import train as train_run
    from attnzoo.errors import TrainingInterrupted
    from attnzoo.overrides import apply_overrides
    from attnzoo.runs import check_run_name, read_run_yaml, run_location

    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other.")
    if run_yaml is not None:
        path = run_yaml / "run.yaml" if run_yaml.is_dir() else run_yaml
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist.", param_hint="RUN_YAML")
        config: dict[str, Any] = read_run_yaml(path)
        if out_dir is None and name is None:
            config.update(run_location(path) or {})
        if model:
            config["model"] = model
        if dataset:
            config["dataset"] = dataset
    else:
        if not model or not dataset:
            raise click.UsageError(
                "Give a RUN_YAML, or both --model and --dataset (see `attnzoo models` and `attnzoo datasets`)."
            )
        config = {"model": model, "dataset": dataset}
    apply_overrides(config, sets)
    if out_dir is not None:
        config["out_dir"] = str(out_dir)
    if name is not None:
        config["name"] = name
    if isinstance(config.get("name"), str) and config["name"]:
        check_run_name(config["name"], str(config.get("out_dir", "runs")))  # before data loads
    try:
        result = train_run(config, overwrite=overwrite, resume=resume)
    except TrainingInterrupted as exc:
        click.echo(f"\n{exc}", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        sys.exit(130)
    if as_json:
        return echo_json(result)
    _print_result(result)


def _print_result(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{result['model']} on {result['dataset']} (seed {result['seed']})",
        title_justify="left",
    )
    table.add_column("split")
    metrics = list(result["test"])
    for m in metrics:
        table.add_column(m, justify="right")
    table.add_row(
        f"validation (best, epoch {result['best_epoch']})",
        *[_fmt(result["val"].get(m)) for m in metrics],
    )
    table.add_row("test (once)", *[_fmt(result["test"][m]) for m in metrics])
    console = Console()
    console.print(table)
    console.print(
        f"{result['num_parameters']:,} parameters · {result['train_seconds']:.1f} s · {result['stop_reason']} · run folder: {result['run_dir']}"
    )


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--dataset", "-d", help="Another dataset with the same labels (default: the run's own)."
)
@click.option("--split", default="test", show_default=True, help="Split to evaluate.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
def evaluate(
    run_dir: Path, dataset: str | None, split: str, batch_size: int, as_json: bool
) -> None:
    """Evaluate a trained model (RUN_DIR: a run or model folder) on a dataset split."""
    from attnzoo.api import evaluate as evaluate_model

    metrics = evaluate_model(run_dir, dataset, split, batch_size=batch_size)
    if as_json:
        return echo_json(metrics)
    for k, v in metrics.items():
        click.echo(f"{k:>14}: {_fmt(v)}")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, path_type=Path))
@click.argument("inputs", nargs=-1)
@click.option(
    "--input",
    "input_file",
    type=click.File("r"),
    help="JSON lines, one input each: {'text': ...} for text models, a row of fields for CTR "
    "models, {'image': path} for image models (plain lines: texts or image paths); '-' for stdin.",
)
@click.option("--top-k", type=click.IntRange(min=1), help="Only the k most likely labels.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
def predict(
    run_dir: Path, inputs: tuple[str, ...], input_file: Any, top_k: int | None, batch_size: int
) -> None:
    """Predict for INPUTS (texts or image paths) or --input FILE; one JSON line per input, in order.

    RUN_DIR is a run, model or export folder (`attnzoo export`: ONNX Runtime / LiteRT only)."""
    from attnzoo.api import predict as predict_inputs

    items: list[Any] = list(inputs)
    if input_file is not None:
        items.extend(read_input_lines(input_file))
    if not items:
        raise click.UsageError("Nothing to predict: pass inputs or --input FILE.")
    for row in predict_inputs(run_dir, items, batch_size=batch_size, top_k=top_k):
        sys.stdout.write(json.dumps(row) + "\n")


def read_input_lines(handle: Any) -> list[Any]:
    """Inputs from JSON lines (objects) or plain lines; blank lines are skipped."""
    items: list[Any] = []
    for lineno, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise click.BadParameter(
                    f"line {lineno} is not valid JSON: {exc.msg}", param_hint="--input"
                ) from None
            items.append(obj)
        else:
            items.append(line.rstrip("\n"))
    return items


COMMANDS = [train, evaluate, predict]
