"""``attnzoo tune``: an equal-budget Optuna search on validation, resumable."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from attnzoo.cli.main import echo_json


@click.command()
@click.option("--model", "-m", required=True, help="Model name, optionally with a preset.")
@click.option("--dataset", "-d", required=True, help="Dataset recipe or local file/folder.")
@click.option("--trials", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Fixed settings of every trial (train.epochs=5 ...); the searched ones are the model's space.",
)
@click.option(
    "--out",
    "tune_dir",
    type=click.Path(path_type=Path),
    help="Tune folder (default: runs/tune-<model>-<dataset>-s<seed>). Re-running it resumes.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampler.")
@click.option(
    "--pruner",
    type=click.Choice(["median", "none"]),
    default="median",
    show_default=True,
    help="Stop trials whose validation curve falls below the median of earlier trials.",
)
@click.option("--overwrite", is_flag=True, help="Delete the tune folder's study and start over.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def tune(
    model: str,
    dataset: str,
    trials: int,
    sets: tuple[str, ...],
    tune_dir: Path | None,
    seed: int,
    pruner: str,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Tune MODEL on DATASET: TRIALS runs, selected on the validation metric the run monitors.

    The study lives in the tune folder (SQLite): run the same command again after a crash or
    Ctrl-C and it continues. The best trial's run.yaml is written to best.yaml.
    """
    from attnzoo.overrides import apply_overrides
    from attnzoo.tune import tune as run_tune

    config = apply_overrides({"model": model, "dataset": dataset}, sets)
    say = (lambda msg: None) if as_json else click.echo
    try:
        result = run_tune(
            config,
            trials=trials,
            tune_dir=tune_dir,
            seed=seed,
            pruner=pruner,
            overwrite=overwrite,
            echo=say,
        )
    except KeyboardInterrupt:
        click.echo("\nInterrupted: run the same command again to continue the study.", err=True)
        sys.exit(130)
    if as_json:
        return echo_json(
            {
                "tune_dir": str(result.tune_dir),
                "monitor": f"val_{result.monitor}",
                "best_trial": result.best_number,
                "best_value": result.best_value,
                "best_settings": result.best_settings,
                "best_run_yaml": str(result.best_run_yaml),
                "trials": result.trials,
            }
        )
    settings = ", ".join(f"{k}={v}" for k, v in result.best_settings.items())
    click.echo(
        f"best: trial #{result.best_number}, val {result.monitor} {result.best_value:.4f} ({settings})\n"
        f"run it again: attnzoo train {result.best_run_yaml}\n"
        f"all trials: {result.tune_dir / 'trials.csv'}, {result.tune_dir / 'history.png'}"
    )


COMMANDS = [tune]
