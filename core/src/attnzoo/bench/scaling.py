"""The scaling sweep: training cost against sequence length, on random tokens.

For each model and each length (doubling), a child process builds the model with
``max_seq_len = length``, runs a warm-up step and a few timed training steps at batch size B,
and reports the median time per step and the memory the steps add (see
:func:`attnzoo.bench.worker.run_scaling_point`). A model's sweep stops at its first length
that fails, runs out of memory or exceeds the time or memory budget. The growth exponent is
the slope of log(cost) against log(length): about 1 for linear-time models, about 2 for
softmax attention once the L² term dominates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.bench.proc import log_tail, read_json, run_worker
from attnzoo.bench.runner import forwarded_plugins
from attnzoo.errors import ConfigError
from attnzoo.io import atomic_write_json, atomic_write_text

DEFAULT_LENGTHS = tuple(256 * 2**i for i in range(7))  # 256 .. 16384


@dataclass(frozen=True)
class ScalingSettings:
    lengths: tuple[int, ...] = DEFAULT_LENGTHS
    batch_size: int = 2
    steps: int = 3
    warmup: int = 1
    time_budget: float = 120.0  # seconds per point, from the end of the child's imports
    memory_budget_mb: float | None = (
        None  # None: 90% of the machine's RAM (CPU); the device's own limit (GPU)
    )

    def check(self) -> None:
        if not self.lengths or any(n < 1 for n in self.lengths):
            raise ConfigError(f"--lengths must be positive integers, got {list(self.lengths)}.")
        if self.batch_size < 1 or self.steps < 1:
            raise ConfigError(
                f"--batch-size and steps must be at least 1 (got {self.batch_size}, {self.steps})."
            )
        if self.time_budget <= 0:
            raise ConfigError(f"--time-budget must be positive seconds, got {self.time_budget}.")


def doubling(start: int, stop: int) -> tuple[int, ...]:
    """``start, 2*start, ... <= stop``."""
    if start < 1 or stop < start:
        raise ConfigError(f"Need 1 <= start <= stop for a length sweep, got {start}..{stop}.")
    return tuple(start * 2**i for i in range(int(math.log2(stop / start)) + 1))


def fit_exponent(lengths: Sequence[float], values: Sequence[float | None]) -> float | None:
    """Slope of log(value) against log(length) by least squares; None below two usable points."""
    pts = [
        (float(n), float(v))
        for n, v in zip(lengths, values, strict=True)
        if v is not None and v > 0 and n > 0
    ]
    if len({n for n, _ in pts}) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def _point_id(model: str, length: int, s: ScalingSettings) -> str:
    return f"{model}__L{length}__b{s.batch_size}"


def _default_memory_budget() -> float | None:
    import psutil

    return 0.9 * psutil.virtual_memory().total / 2**20


def run_scaling(
    models: Sequence[str], out: str | Path, settings: ScalingSettings, *, show_progress: bool = True
) -> dict[str, Any]:
    """Sweep every model over the lengths; write scaling.json/.csv and the plots; return the summary.

    Finished points are kept in ``<out>/points`` and reused on a re-run with the same settings
    (a point that failed is tried again).
    """
    settings.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    memory_budget = (
        settings.memory_budget_mb
        if settings.memory_budget_mb is not None
        else _default_memory_budget()
    )
    plugins = forwarded_plugins()
    console = _console(show_progress)
    points: list[dict[str, Any]] = []
    summary: dict[str, dict[str, Any]] = {}
    for model in models:
        done, stopped = _sweep_model(out, model, settings, memory_budget, plugins, console)
        points.extend(done)
        ok = [p for p in done if p["status"] == "ok"]
        lengths = [p["length"] for p in ok]
        summary[model] = {
            "lengths": lengths,
            "time_exponent": fit_exponent(lengths, [p["seconds_per_sample"] for p in ok]),
            "memory_exponent": fit_exponent(lengths, [p["memory_mb"] for p in ok]),
            "stopped": stopped,
        }
    result = {
        "settings": _settings_dict(settings, memory_budget),
        "models": summary,
        "points": points,
    }
    write_scaling_outputs(out, result)
    if console:
        print_scaling(result, console)
    return result


def _sweep_model(
    out: Path,
    model: str,
    settings: ScalingSettings,
    memory_budget: float | None,
    plugins: Any,
    console: Any,
) -> tuple[list[dict[str, Any]], str | None]:
    """One model's points, shortest length first, up to the first one that did not finish
    (a finished point of the same settings is reused); and why the sweep stopped, if it did."""
    points = []
    for length in settings.lengths:
        record = read_json(out / "points" / f"{_point_id(model, length, settings)}.json")
        if (
            record is None
            or record.get("status") == "failed"
            or record.get("settings") != _settings_dict(settings, memory_budget)
        ):
            if console:
                console.print(f"scaling {model} at length {length} ...")
            record = _run_point(out, model, length, settings, memory_budget, plugins)
        points.append(record)
        if console:
            console.print(f"  {_describe(record)}")
        if record["status"] != "ok":
            return (
                points,
                f"{record['status']} at length {length}: {record.get('error', '')}".strip(),
            )
    return points, None


def _settings_dict(s: ScalingSettings, memory_budget: float | None) -> dict[str, Any]:
    return {
        "batch_size": s.batch_size,
        "steps": s.steps,
        "warmup": s.warmup,
        "time_budget": s.time_budget,
        "memory_budget_mb": memory_budget,
    }


def _run_point(
    out: Path,
    model: str,
    length: int,
    s: ScalingSettings,
    memory_budget: float | None,
    plugins: list[dict[str, str]],
) -> dict[str, Any]:
    pid = _point_id(model, length, s)
    logs = out / "logs"
    result_path, started = logs / f"{pid}.result.json", logs / f"{pid}.started"
    result_path.unlink(missing_ok=True)
    job = {
        "kind": "scaling",
        "model": model,
        "length": length,
        "batch_size": s.batch_size,
        "steps": s.steps,
        "warmup": s.warmup,
        "time_budget": s.time_budget,
        "memory_budget_mb": memory_budget,
        "result_path": str(result_path),
        "started_path": str(started),
        "plugins": plugins,
    }
    child = run_worker(
        job,
        logs / f"{pid}.job.json",
        logs / f"{pid}.log",
        started_path=started,
        time_budget=s.time_budget,
        memory_budget_mb=memory_budget,
    )
    measured = read_json(result_path) or {}
    record = {
        "model": model,
        "length": length,
        "batch_size": s.batch_size,
        **measured,
        "exit_code": child.returncode,
        "wall_seconds": child.wall_seconds,
        "peak_rss_mb": measured.get("peak_rss_mb_child", child.peak_rss_mb),
        "settings": _settings_dict(s, memory_budget),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if child.killed:
        record.update(
            status="timeout" if child.killed == "time budget" else "memory",
            error=f"killed: exceeded the {child.killed}",
        )
    elif not measured:
        record.update(
            status="failed",
            error=f"worker exited with code {child.returncode}",
            log_tail=log_tail(logs / f"{pid}.log"),
        )
    atomic_write_json(out / "points" / f"{pid}.json", record)
    return record


def _describe(p: dict[str, Any]) -> str:
    if p["status"] != "ok":
        return f"[red]{p['status']}[/]: {p.get('error', '')}"
    return f"{p['samples_per_s']:.2f} samples/s, {p['seconds_per_sample'] * 1e3:.1f} ms/sample, +{p['memory_mb']:.0f} MB"


def _console(enabled: bool) -> Any:
    if not enabled:
        return None
    from rich.console import Console

    return Console(stderr=True)


# ---------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------

_CSV = (
    "model",
    "length",
    "batch_size",
    "status",
    "seconds_per_step",
    "seconds_per_sample",
    "samples_per_s",
    "tokens_per_s",
    "memory_mb",
    "memory_kind",
    "peak_rss_mb",
    "gpu_peak_mb",
    "num_parameters",
    "wall_seconds",
    "device",
    "error",
)


def write_scaling_outputs(out: Path, result: dict[str, Any]) -> None:
    atomic_write_json(out / "scaling.json", result)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(_CSV), extrasaction="ignore")
    writer.writeheader()
    writer.writerows([{k: p.get(k) for k in _CSV} for p in result["points"]])
    atomic_write_text(out / "scaling.csv", buf.getvalue())
    _loglog(
        out / "scaling_time.png",
        result,
        "seconds_per_sample",
        "time_exponent",
        "training time per sample (s)",
    )
    kinds = sorted({p.get("memory_kind", "") for p in result["points"] if p["status"] == "ok"})
    _loglog(
        out / "scaling_memory.png",
        result,
        "memory_mb",
        "memory_exponent",
        f"memory of a training step (MB; {', '.join(kinds)})",
    )


def _loglog(path: Path, result: dict[str, Any], key: str, exp_key: str, ylabel: str) -> None:
    from attnzoo.bench.report import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for model, info in result["models"].items():
        pts = [
            (p["length"], p[key])
            for p in result["points"]
            if p["model"] == model and p["status"] == "ok" and p.get(key, 0) > 0
        ]
        if not pts:
            continue
        exp = info[exp_key]
        label = f"{model} (slope {exp:.2f})" if exp is not None else model
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_scaling(result: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    lengths = sorted({p["length"] for p in result["points"]})
    table = Table(
        title="scaling: ms per training sample (memory MB above resting) by sequence length",
        title_justify="left",
    )
    table.add_column("model", no_wrap=True)
    for n in lengths:
        table.add_column(str(n), justify="right", overflow="fold")
    table.add_column("time exp.", justify="right", overflow="fold")
    table.add_column("mem. exp.", justify="right", overflow="fold")
    for model, info in result["models"].items():
        cells = []
        for n in lengths:
            p = next(
                (q for q in result["points"] if q["model"] == model and q["length"] == n), None
            )
            if p is None:
                cells.append("")
            elif p["status"] != "ok":
                cells.append(f"[red]{p['status']}[/]")
            else:
                ms = p["seconds_per_sample"] * 1e3
                cells.append(f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}")
                cells[-1] += f" ({p['memory_mb']:.0f})"
        fmt = lambda v: f"{v:.2f}" if v is not None else "–"  # noqa: E731
        table.add_row(model, *cells, fmt(info["time_exponent"]), fmt(info["memory_exponent"]))
    console.print(table)
