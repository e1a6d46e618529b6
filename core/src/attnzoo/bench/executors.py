"""Where the cells of a benchmark run: here (one after another), on Ray, or on Slurm.

Every executor runs the same function, :func:`attnzoo.bench.runner.run_cell`, which starts the
cell's worker process and writes its record into ``<out>/cells``; so cell ids, records, resume
(a cell whose record exists is skipped) and the leaderboard are the same whichever executor ran
them. Ray and Slurm need ``<out>`` on a file system every node sees.

A cell's resources come from the bench preset (``BenchPreset.resources``: ``cpus``, ``gpus``,
``memory_gb``, ``timeout_min``), so a GPU preset asks the cluster for a GPU per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from attnzoo.bench.matrix import Cell
from attnzoo.errors import ConfigError, MissingDependencyError

EXECUTORS = ("local", "ray", "slurm")
DEFAULT_RESOURCES: Mapping[str, float] = {"cpus": 1, "gpus": 0}

CellFn = Callable[[Cell], dict[str, Any]]


def run_cells(
    executor: str,
    cells: Sequence[Cell],
    fn: CellFn,
    *,
    resources: Mapping[str, float] | None = None,
    address: str | None = None,
    partition: str | None = None,
    folder: str | Path = ".",
    on_start: Callable[[Cell], None] | None = None,
    slurm_cluster: str = "slurm",
) -> Iterator[dict[str, Any]]:
    """Run ``fn(cell)`` for every cell with ``executor``; yield the records as cells finish.

    ``address``: the Ray cluster (``auto``, ``ray://head:10001``; default a local cluster).
    ``partition``: the Slurm partition. ``slurm_cluster="local"`` runs the Slurm path's jobs as
    local processes (submitit's local executor: tests, a laptop).
    """
    res = {**DEFAULT_RESOURCES, **(resources or {})}
    if executor == "local":
        for cell in cells:
            if on_start:
                on_start(cell)
            yield fn(cell)
    elif executor == "ray":
        yield from _ray(cells, fn, res, address)
    elif executor == "slurm":
        yield from _slurm(cells, fn, res, Path(folder), partition, slurm_cluster)
    else:
        raise ConfigError(f"Unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}.")


def _ray(
    cells: Sequence[Cell], fn: CellFn, res: Mapping[str, float], address: str | None
) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError as err:
        raise MissingDependencyError(
            "--executor ray needs Ray: pip install 'attnzoo-core[ray]'."
        ) from err
    started_here = not ray.is_initialized()
    if started_here:  # a local cluster, or the one at --address (e.g. ray://head:10001, auto)
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    options: dict[str, Any] = {"num_cpus": res["cpus"], "num_gpus": res["gpus"]}
    if res.get("memory_gb"):
        options["memory"] = int(res["memory_gb"] * 2**30)
    remote = ray.remote(**options)(_call)  # Ray takes functions, not the partial ``fn``
    try:
        pending = [remote.remote(fn, cell) for cell in cells]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started_here:
            ray.shutdown()


def _call(fn: CellFn, cell: Cell) -> dict[str, Any]:
    """One cell on a Ray worker."""
    return fn(cell)


def _slurm(
    cells: Sequence[Cell],
    fn: CellFn,
    res: Mapping[str, float],
    folder: Path,
    partition: str | None,
    cluster: str,
) -> Iterator[dict[str, Any]]:
    """submitit: one Slurm job per cell, its stdout/stderr under ``<out>/slurm/<job id>``."""
    import time

    try:
        import submitit
    except ImportError as err:
        raise MissingDependencyError(
            "--executor slurm needs submitit: pip install 'attnzoo-core[slurm]'."
        ) from err
    if cluster == "slurm" and not submitit.SlurmExecutor.affinity() > 0:
        raise ConfigError(
            "--executor slurm: no Slurm on this machine (sbatch not found). Run the bench on a "
            "Slurm login node, or use --executor local or ray."
        )
    executor = submitit.AutoExecutor(folder=str(folder / "slurm" / "%j"), cluster=cluster)
    params: dict[str, Any] = {
        "timeout_min": int(res.get("timeout_min", 24 * 60)),
        "cpus_per_task": int(res["cpus"]),
        "gpus_per_node": int(res["gpus"]),
    }
    if res.get("memory_gb"):
        params["mem_gb"] = res["memory_gb"]
    if partition:
        params["slurm_partition"] = partition
    executor.update_parameters(name="attnzoo-bench", **params)
    remaining = [executor.submit(fn, cell) for cell in cells]
    while remaining:
        for job in [j for j in remaining if j.done()]:
            remaining.remove(job)
            yield job.result()
        time.sleep(0.5)
