"""``attnzoo bench --tuned N``: every model gets the same N tuning trials before it is compared.

For each (model variant, dataset) of the matrix, :func:`attnzoo.tune.tune` searches the
model's declared space on the *validation* split with seed 0's data and settings; every seed's
cell then runs with the best settings appended to its ``--set`` items (so the cell ids change
with the tuned values, and re-running the bench reuses both the studies and the cells).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from attnzoo.bench.matrix import Cell, Matrix


def tune_matrix(
    matrix: Matrix,
    out: str | Path,
    trials: int,
    *,
    seed: int = 0,
    echo: Callable[[str], Any] | None = None,
) -> Matrix:
    """The matrix with each model's tuned settings; studies live in ``out/tune/<model>__<dataset>``."""
    from attnzoo.tune import tune

    say = echo or (lambda msg: None)
    tuned: dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]] = {}
    notes = list(matrix.notes)
    for cell in matrix.cells:
        key = (cell.model, cell.dataset, cell.sets)
        if key in tuned:
            continue
        first = replace(cell, seed=0)
        base = first.run_config("unused")
        for field in ("name", "out_dir"):
            base.pop(field)
        say(f"tuning {cell.model} on {cell.dataset}: {trials} trials")
        folder = Path(out) / "tune" / first.id.replace("__s0__", "__")
        result = tune(base, trials=trials, tune_dir=folder, seed=seed, echo=say)
        tuned[key] = tuple(f"{k}={json.dumps(v)}" for k, v in result.best_settings.items())
        settings = ", ".join(f"{k}={_fmt(v)}" for k, v in result.best_settings.items())
        notes.append(
            f"tuned {cell.model} on {cell.dataset}: best of {trials} trials "
            f"(val {result.monitor} {result.best_value:.4f}): {settings}"
        )
    cells = [
        Cell(c.model, c.dataset, c.seed, (*c.sets, *tuned[(c.model, c.dataset, c.sets)]))
        for c in matrix.cells
    ]
    notes.insert(
        len(matrix.notes),
        f"every model had the same tuning budget: {trials} Optuna trials (TPE, median pruning) "
        "on the validation split, seed 0, before its seeds ran; test was not used to select",
    )
    return replace(matrix, cells=cells, notes=notes, tuned_trials=trials)


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
