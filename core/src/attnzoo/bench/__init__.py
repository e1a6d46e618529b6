"""``attnzoo bench``: the models x datasets x seeds matrix, and the sequence-length sweep.

Each cell (and each scaling point) runs in its own child process
(``python -m attnzoo.bench.worker``), so memory is measured per run and one crash costs one
cell. See ``core/docs/bench.md`` for what is measured and how.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attnzoo.bench.matrix import Cell, Matrix, build_matrix
from attnzoo.bench.presets import PRESETS, BenchPreset, Recipe
from attnzoo.bench.report import leaderboard_markdown, print_leaderboard, write_outputs
from attnzoo.bench.runner import run_matrix
from attnzoo.bench.scaling import ScalingSettings, fit_exponent, run_scaling

__all__ = [
    "PRESETS",
    "BenchPreset",
    "Cell",
    "Matrix",
    "Recipe",
    "ScalingSettings",
    "build_matrix",
    "fit_exponent",
    "leaderboard_markdown",
    "print_leaderboard",
    "run_bench",
    "run_matrix",
    "run_scaling",
]


def run_bench(
    matrix: Matrix,
    out: str | Path,
    *,
    retry_failed: bool = True,
    cell_timeout: float | None = None,
    show_progress: bool = True,
    executor: str = "local",
    **executor_options: Any,
) -> list[dict[str, Any]]:
    """Run the missing cells of ``matrix`` (with ``executor``: local, ray or slurm) and
    (re)write every output in ``out``."""
    out = Path(out)
    records = run_matrix(
        matrix,
        out,
        retry_failed=retry_failed,
        cell_timeout=cell_timeout,
        show_progress=show_progress,
        executor=executor,
        **executor_options,
    )
    meta = {
        "preset": matrix.preset,
        "models": matrix.models,
        "datasets": matrix.datasets,
        "seeds": matrix.seeds,
        "tuned_trials": matrix.tuned_trials,
        "executor": executor,
    }
    write_outputs(out, records, meta, matrix.notes)
    return records
