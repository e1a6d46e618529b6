"""Run the matrix: one child process per cell, skipping cells already done.

::

    <out>/
      cells/<cell-id>.json     the record of a finished cell (its presence = done)
      runs/<cell-id>/          the cell's run folder (run.yaml, metrics, model ...)
      logs/<cell-id>.log       the child's output; <cell-id>.job.json its input
      results.json, results.csv, leaderboard.md, *.png

Re-running the same command resumes: cells whose record exists are skipped, so killing a
benchmark half-way and starting it again runs only the missing cells. A failed cell is
recorded too (error, exit code, log tail) and retried on the next run unless
``retry_failed=False``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from attnzoo.bench.matrix import Cell, Matrix
from attnzoo.bench.proc import log_tail, read_json, run_worker
from attnzoo.io import atomic_write_json

logger = logging.getLogger(__name__)


def forwarded_plugins() -> list[dict[str, str]]:
    """Plugins registered by hand in this process (not entry points), for the children.

    Entry points load in the child by themselves; a plugin module registered with
    ``get_host().register(module, ...)`` would otherwise be missing there. Only modules can
    be forwarded (they are re-imported by name).
    """
    import importlib.metadata as md
    import types

    from attnzoo.plugins import ENTRY_POINT_GROUP, get_host

    host = get_host()
    entry_names = {ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)}
    out = []
    for name, info in host.plugins.items():
        plugin = host.pm.get_plugin(name)
        if info.builtin or name in entry_names or not info.ok or plugin is None:
            continue
        if not isinstance(plugin, types.ModuleType):
            logger.warning(
                "plugin %r is not a module and is not available to benchmark workers", name
            )
            continue
        out.append(
            {
                "module": plugin.__name__,
                "name": name,
                "distribution": info.distribution,
                "path": _import_root(plugin),
            }
        )
    return out


def _import_root(module: Any) -> str:
    """The sys.path entry ``module`` was imported from (``/x`` for ``/x/a/b.py`` as ``a.b``)."""
    file = getattr(module, "__file__", None)
    if not file:
        return ""
    root = Path(file).resolve().parent
    depth = module.__name__.count(".") + (Path(file).name == "__init__.py")
    for _ in range(depth):
        root = root.parent
    return str(root)


def cell_path(out: Path, cell: Cell) -> Path:
    return out / "cells" / f"{cell.id}.json"


def load_cell(out: Path, cell: Cell) -> dict[str, Any] | None:
    return read_json(cell_path(out, cell))


def is_done(record: dict[str, Any] | None, retry_failed: bool) -> bool:
    return record is not None and (record.get("status") == "ok" or not retry_failed)


def run_cell(
    out: Path,
    cell: Cell,
    *,
    plugins: list[dict[str, str]],
    timeout: float | None = None,
    on_poll: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run one cell in a child process and write its record atomically."""
    logs = out / "logs"
    result_path = logs / f"{cell.id}.result.json"
    result_path.unlink(missing_ok=True)
    job = {
        "kind": "train",
        "cell_id": cell.id,
        "run_config": cell.run_config(str(out / "runs")),
        "result_path": str(result_path),
        "plugins": plugins,
    }
    log_path = logs / f"{cell.id}.log"
    child = run_worker(
        job, logs / f"{cell.id}.job.json", log_path, time_budget=timeout, on_poll=on_poll
    )
    measured = read_json(result_path) or {}
    record: dict[str, Any] = {
        "cell_id": cell.id,
        "model": cell.model,
        "dataset": cell.dataset,
        "seed": cell.seed,
        "sets": list(cell.sets),
        "config_hash": cell.config_hash,
        **measured,
        "exit_code": child.returncode,
        "wall_seconds": child.wall_seconds,
        "cpu_seconds": child.cpu_seconds,
        # the worker's own peak; a killed worker leaves only wait4's (which can include the
        # parent's high-water mark: see worker.rss_peak_mb)
        "peak_rss_mb": measured.get("peak_rss_mb_child", child.peak_rss_mb),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "log": str(log_path),
    }
    if child.killed:
        record.update(status="timeout", error=f"killed: exceeded the {child.killed} ({timeout} s)")
    elif child.returncode != 0 or measured.get("status") != "ok":
        worker_status = measured.get("status")
        record["status"] = worker_status if worker_status not in (None, "ok") else "failed"
        record.setdefault("error", f"worker exited with code {child.returncode}")
        record["log_tail"] = log_tail(log_path)
    if record.get("status") == "ok":
        gpu = record.get("gpu_peak_mb")
        record["peak_memory_mb"] = gpu if gpu is not None else record["peak_rss_mb"]
        record["memory_kind"] = "cuda max allocated" if gpu is not None else "peak RSS (process)"
    atomic_write_json(cell_path(out, cell), record)
    return record


def run_matrix(
    matrix: Matrix,
    out: str | Path,
    *,
    retry_failed: bool = True,
    cell_timeout: float | None = None,
    show_progress: bool = True,
    executor: str = "local",
    **executor_options: Any,
) -> list[dict[str, Any]]:
    """Run every cell not yet done; return the records of all cells, in matrix order.

    ``executor``: ``local`` (here, one cell after another), ``ray`` or ``slurm``
    (:mod:`attnzoo.bench.executors`; ``executor_options``: ``address``, ``partition``).
    """
    from attnzoo.bench.executors import run_cells

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plugins = forwarded_plugins()
    todo = [c for c in matrix.cells if not is_done(load_cell(out, c), retry_failed)]
    with _Progress(len(matrix.cells), len(matrix.cells) - len(todo), show_progress) as progress:
        poll = progress.refresh if executor == "local" else None
        fn = partial(run_cell, out, plugins=plugins, timeout=cell_timeout, on_poll=poll)
        for record in run_cells(
            executor,
            todo,
            fn,
            resources=matrix.resources,
            folder=out,
            on_start=progress.start,
            **executor_options,
        ):
            progress.finish(record)
    return [load_cell(out, c) or {"cell_id": c.id, "status": "missing"} for c in matrix.cells]


class _Progress:
    """cells done / total, the current cell and its elapsed time (rich, on stderr)."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self.enabled = enabled
        self.total, self.done = total, done
        self.failed = 0

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.console = Console(stderr=True)
            self.bar = Progress(
                TextColumn("bench"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("cells"),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=self.console,
            )
            self.task = self.bar.add_task("", total=self.total, completed=self.done)
            self.bar.start()
            if self.done:
                self.console.print(f"resuming: {self.done}/{self.total} cells already done")
        return self

    def start(self, cell: Cell) -> None:
        if self.enabled:
            self.bar.update(
                self.task, description=f"{cell.model} · {cell.dataset} · seed {cell.seed}"
            )

    def refresh(self) -> None:
        if self.enabled:
            self.bar.refresh()

    def finish(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.bar.advance(self.task)
        status = record.get("status")
        if status == "ok":
            acc = record.get("test", {})
            metric = next(iter(acc.items()), ("", float("nan")))
            self.console.print(
                f"[green]done[/] {record['cell_id']}  {metric[0]} {metric[1]:.4f}  {record['wall_seconds']:.0f} s"
            )
        else:
            error = " ".join(str(record.get("error", "")).split())[:200]
            self.console.print(
                f"[red]{status}[/] {record['cell_id']}: {error} (log: {record.get('log')})"
            )

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.update(self.task, description="")
            self.bar.stop()
