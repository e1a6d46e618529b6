"""``attnzoo bench [PRESET]``: the benchmark matrix, or ``--scaling`` for the length sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def _split(values: tuple[str, ...]) -> list[str]:
    """``--models a,b --models c`` -> ``[a, b, c]``."""
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _lengths(raw: str | None) -> tuple[int, ...] | None:
    """``256,512,1024`` or ``256..16384`` (doubling)."""
    from attnzoo.bench.scaling import doubling

    if raw is None:
        return None
    try:
        if ".." in raw:
            lo, hi = raw.split("..", 1)
            return doubling(int(lo), int(hi))
        return tuple(int(v) for v in raw.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(
            f"expected a list like 256,512,1024 or a doubling range like 256..16384, got {raw!r}",
            param_hint="--lengths",
        ) from None


@click.command()
@click.argument("preset", required=False, type=click.Choice(["quick", "full", "ctr"]))
@click.option(
    "--models",
    "-m",
    "models",
    multiple=True,
    metavar="NAMES",
    help="Comma list or repeated; presets allowed (transformer.tiny); 'all' = every installed text model.",
)
@click.option(
    "--datasets",
    "-d",
    "datasets",
    multiple=True,
    metavar="NAMES",
    help="Comma list or repeated: recipes or local files (default: the preset's, else bbc-news).",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    help="Seeds 0..N-1 per model and dataset (default: the preset's, else 1).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a setting of every cell (as in `attnzoo train`).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Output folder (default: bench-results/<preset|custom|scaling>).",
)
@click.option(
    "--no-retry-failed",
    is_flag=True,
    help="Keep failed cells as they are instead of retrying them.",
)
@click.option(
    "--cell-timeout",
    type=click.FloatRange(min=1),
    help="Kill a cell after this many seconds (recorded as a timeout).",
)
@click.option(
    "--dry-run", is_flag=True, help="List the cells (and which are done) without running anything."
)
@click.option(
    "--scaling",
    is_flag=True,
    help="Sweep memory and throughput over sequence length instead (random tokens).",
)
@click.option(
    "--lengths", help="Scaling: 256,512,... or a doubling range 256..16384 (default 256..16384)."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Scaling: batch size of the training steps.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Scaling: timed steps per length (after one warm-up step).",
)
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    help="Scaling: seconds per length before a model's sweep stops.",
)
@click.option(
    "--memory-budget",
    type=click.FloatRange(min=0, min_open=True),
    help="Scaling: MB per length before a model's sweep stops (default: 90% of RAM on a CPU).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray", "slurm"]),
    default="local",
    show_default=True,
    help="Where cells run: here one by one, on Ray (a new local cluster, or --address), or as "
    "Slurm jobs (submitit). Ray and Slurm need --out on a file system every node sees.",
)
@click.option("--address", help="Ray: the cluster to join (auto, ray://head:10001).")
@click.option("--partition", help="Slurm: the partition to submit the cells to.")
@click.option(
    "--tuned",
    type=click.IntRange(min=1),
    metavar="N",
    help="First give every model the same N Optuna trials on validation (seed 0, its plugin's "
    "search space), then run its seeds with the best settings; the leaderboard states N.",
)
def bench(
    preset: str | None,
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    seeds: int | None,
    sets: tuple[str, ...],
    out_dir: Path | None,
    no_retry_failed: bool,
    cell_timeout: float | None,
    dry_run: bool,
    scaling: bool,
    lengths: str | None,
    batch_size: int,
    steps: int,
    time_budget: float,
    memory_budget: float | None,
    executor: str,
    address: str | None,
    partition: str | None,
    tuned: int | None,
) -> None:
    """Benchmark models x datasets x seeds, each run in its own process; re-running resumes.

    \b
    attnzoo bench quick                          every installed text model on bbc-news (~5 min, CPU)
    attnzoo bench ctr                            every installed CTR model on movielens-100k, 3 seeds (CPU)
    attnzoo bench --models transformer,bilstm --seeds 3 --set train.epochs=5
    attnzoo bench --scaling --models transformer,example --lengths 256..4096

    Writes results.csv, results.json, leaderboard.md and PNG plots to --out.
    """
    from rich.console import Console

    console = Console()
    if scaling:
        if preset or datasets or seeds or sets:
            raise click.UsageError(
                "--scaling takes --models and the scaling options only (no preset, --datasets, --seeds or --set)."
            )
        settings = _scaling_settings(lengths, batch_size, steps, time_budget, memory_budget)
        _run_scaling_sweep(console, _split(models), out_dir, settings)
        return
    where = _executor_options(executor, address, partition)
    matrix = _matrix(console, preset, models, datasets, seeds, sets)
    out = out_dir or Path("bench-results") / (preset or "custom")
    if dry_run:
        _print_plan(console, matrix, out, retry_failed=not no_retry_failed, tuned=tuned)
        return
    _run_matrix(
        console,
        matrix,
        out,
        retry_failed=not no_retry_failed,
        cell_timeout=cell_timeout,
        tuned=tuned,
        **where,
    )


def _matrix(
    console: Any,
    preset: str | None,
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    seeds: int | None,
    sets: tuple[str, ...],
) -> Any:
    """The matrix of the options, its notes (variants skipped and why) printed."""
    from attnzoo.bench import build_matrix

    matrix = build_matrix(
        preset, _split(models) or None, _split(datasets) or None, seeds, list(sets)
    )
    for note in matrix.notes:
        console.print(f"[yellow]note:[/] {note}")
    return matrix


def _scaling_settings(
    lengths: str | None,
    batch_size: int,
    steps: int,
    time_budget: float,
    memory_budget: float | None,
) -> Any:
    from attnzoo.bench.scaling import DEFAULT_LENGTHS, ScalingSettings

    return ScalingSettings(
        lengths=_lengths(lengths) or DEFAULT_LENGTHS,
        batch_size=batch_size,
        steps=steps,
        time_budget=time_budget,
        memory_budget_mb=memory_budget,
    )


def _executor_options(executor: str, address: str | None, partition: str | None) -> dict:
    """``--executor`` and the option that belongs to it (``--address`` for Ray, ``--partition``
    for Slurm); the other is a usage error rather than silently ignored."""
    if address and executor != "ray":
        raise click.UsageError("--address is the Ray cluster's: use it with --executor ray.")
    if partition and executor != "slurm":
        raise click.UsageError("--partition is Slurm's: use it with --executor slurm.")
    options: dict[str, Any] = {"executor": executor}
    if address:
        options["address"] = address
    if partition:
        options["partition"] = partition
    return options


def _run_scaling_sweep(
    console: Any, models: list[str], out_dir: Path | None, settings: Any
) -> None:
    """``--scaling``: the named (default: every text) model's length sweep."""
    from attnzoo.bench.scaling import run_scaling
    from attnzoo.registry import get_model_spec, list_models

    names = models or ["all"]
    text_models = list_models(task="text-classification")  # the sweep is over text lengths
    names = [n for n in names if n != "all"] + (text_models if "all" in names else [])
    for n in names:
        get_model_spec(n)
    out = out_dir or Path("bench-results/scaling")
    run_scaling(names, out, settings)
    console.print(f"scaling.csv, scaling.json, scaling_time.png and scaling_memory.png in {out}")


def _print_plan(
    console: Any, matrix: Any, out: Path, *, retry_failed: bool, tuned: int | None = None
) -> None:
    """``--dry-run``: each cell, done or to do, with its settings."""
    from attnzoo.bench.runner import is_done, load_cell

    if tuned:
        console.print(
            f"each model is first tuned with {tuned} trials; its cells then get the best settings "
            "(new cell ids), so the cells below are the untuned plan"
        )

    for cell in matrix.cells:
        done = is_done(load_cell(out, cell), retry_failed)
        console.print(f"{'done ' if done else 'to do'}  {cell.id}  {' '.join(cell.sets)}")


def _run_matrix(
    console: Any,
    matrix: Any,
    out: Path,
    *,
    retry_failed: bool,
    cell_timeout: float | None,
    tuned: int | None = None,
    **executor_options: Any,
) -> None:
    """Tune first (``--tuned``), run the cells still to do, print the leaderboard, fail if a
    cell did not finish."""
    from attnzoo.bench import print_leaderboard, run_bench

    if tuned:
        from attnzoo.bench.tuned import tune_matrix

        matrix = tune_matrix(matrix, out, tuned, echo=console.print)

    try:
        records = run_bench(
            matrix, out, retry_failed=retry_failed, cell_timeout=cell_timeout, **executor_options
        )
    except KeyboardInterrupt:
        console.print(
            "[yellow]interrupted[/]: finished cells are kept; run the same command again to run only the missing ones."
        )
        raise SystemExit(130) from None
    print_leaderboard(records, console)
    console.print(f"results.csv, results.json, leaderboard.md and plots in {out}")
    failed = [r for r in records if r.get("status") != "ok"]
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(records)} cells did not finish; see the table above and their logs. Re-run to retry them."
        )


COMMANDS = [bench]
