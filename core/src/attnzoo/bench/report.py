"""Benchmark outputs: results.json/.csv (one row per cell), the leaderboard, the plots."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.io import atomic_write_json, atomic_write_text

_METRIC_ORDER = ("accuracy", "macro_f1", "auc", "gauc", "logloss")
_METRIC_TITLES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "auc": "AUC",
    "gauc": "gAUC",
    "logloss": "log loss",
    "weighted_f1": "weighted-F1",
}
_CSV_FIRST = ("cell_id", "model", "dataset", "seed", "status")
_CSV_FIELDS = (
    "num_parameters",
    "samples_per_s",
    "tokens_per_s",
    "latency_ms_per_batch",
    "latency_batch_size",
    "peak_memory_mb",
    "memory_kind",
    "peak_rss_mb",
    "baseline_rss_mb",
    "gpu_peak_mb",
    "train_seconds",
    "wall_seconds",
    "cpu_seconds",
    "best_epoch",
    "stop_reason",
    "device",
    "framework",
    "versions",
    "config_hash",
    "sets",
    "exit_code",
    "error",
    "run_dir",
)


# ---------------------------------------------------------------------------------------
# results.json / results.csv
# ---------------------------------------------------------------------------------------


def flat_row(record: dict[str, Any], metrics: Sequence[str]) -> dict[str, Any]:
    row = {k: record.get(k) for k in _CSV_FIRST}
    for m in metrics:
        row[f"test_{m}"] = (record.get("test") or {}).get(m)
    for k in _CSV_FIELDS:
        v = record.get(k)
        if k == "versions" and isinstance(v, dict):
            v = ";".join(f"{a}={b}" for a, b in v.items())
        elif k == "sets" and isinstance(v, list):
            v = " ".join(v)
        row[k] = v
    return row


def test_metrics(records: Sequence[dict[str, Any]]) -> list[str]:
    names = {m for r in records for m in (r.get("test") or {})}
    return [m for m in _METRIC_ORDER if m in names] + sorted(names - set(_METRIC_ORDER))


def write_results(out: Path, records: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    atomic_write_json(out / "results.json", {**meta, "cells": records})
    metrics = test_metrics(records)
    buf = io.StringIO()
    rows = [flat_row(r, metrics) for r in records]
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else list(_CSV_FIRST))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "results.csv", buf.getvalue())


# ---------------------------------------------------------------------------------------
# Leaderboard
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    title: str
    get: Callable[[dict[str, Any]], Any]
    higher_is_better: bool
    fmt: Callable[[float], str]


@dataclass
class Entry:
    """One model on one dataset: mean and std over its successful seeds."""

    model: str
    n: int
    stats: list[tuple[float, float | None] | None]  # per column: (mean, std) or None
    best: list[bool]


def _metric_direction(name: str) -> bool:
    try:
        from attnzoo.registry import get_metric_spec

        return bool(get_metric_spec(name).higher_is_better)
    except Exception:  # an unregistered metric: loss-like names are minimised
        return "loss" not in name


def _fmt_params(v: float) -> str:
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.1f}k" if v >= 1e3 else f"{v:.0f}"


def _test_metric(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: (r.get("test") or {}).get(name)


def columns_for(records: Sequence[dict[str, Any]]) -> list[Column]:
    """The test metrics (but the cross-entropy "loss", kept in results.csv), then the costs."""
    metrics = [
        Column(
            _METRIC_TITLES.get(m, m), _test_metric(m), _metric_direction(m), lambda v: f"{v:.4f}"
        )
        for m in test_metrics(records)
        if m != "loss"
    ]
    return [
        *metrics,
        Column("params", lambda r: r.get("num_parameters"), False, _fmt_params),
        Column("samples/s", lambda r: r.get("samples_per_s"), True, lambda v: f"{v:,.0f}"),
        Column("ms/batch", lambda r: r.get("latency_ms_per_batch"), False, lambda v: f"{v:.1f}"),
        Column("peak MB", lambda r: r.get("peak_memory_mb"), False, lambda v: f"{v:,.0f}"),
    ]


def leaderboard(records: Sequence[dict[str, Any]]) -> tuple[list[Column], dict[str, list[Entry]]]:
    """Per dataset, one entry per model (successful cells only), with the best per column."""
    ok = [r for r in records if r.get("status") == "ok"]
    cols = columns_for(ok)
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in ok:
        groups.setdefault(r["dataset"], {}).setdefault(r["model"], []).append(r)
    tables: dict[str, list[Entry]] = {}
    for dataset, by_model in groups.items():
        entries = []
        for model, rows in by_model.items():
            stats: list[tuple[float, float | None] | None] = []
            for c in cols:
                vals = [
                    float(v) for v in (c.get(r) for r in rows) if v is not None and np.isfinite(v)
                ]
                stats.append(
                    (float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else None)
                    if vals
                    else None
                )
            entries.append(Entry(model, len(rows), stats, [False] * len(cols)))
        for j, c in enumerate(cols):
            means = [e.stats[j][0] for e in entries if e.stats[j] is not None]  # type: ignore[index]
            if not means:
                continue
            best = max(means) if c.higher_is_better else min(means)
            for e in entries:
                stat = e.stats[j]
                e.best[j] = stat is not None and bool(np.isclose(stat[0], best))
        tables[dataset] = entries
    return cols, tables


def shown_columns(entries: Sequence[Entry], n_cols: int) -> list[int]:
    """Columns with a value in this table: a CTR table has no accuracy, a text table no AUC."""
    return [j for j in range(n_cols) if any(e.stats[j] is not None for e in entries)]


def cell_text(c: Column, stat: tuple[float, float | None] | None) -> str:
    if stat is None:
        return "–"
    mean, std = stat
    return c.fmt(mean) + (f" ± {c.fmt(std)}" if std is not None else "")


def leaderboard_markdown(
    records: Sequence[dict[str, Any]], title: str = "attnzoo benchmark", notes: Sequence[str] = ()
) -> str:
    cols, tables = leaderboard(records)
    lines = [
        f"# {title}",
        "",
        "Mean ± std over seeds: test metrics (evaluated once, after model selection on validation), "
        "parameters (trainable ones, which receive gradient), "
        "training samples/s, inference latency per batch, peak memory during training. Best per column in **bold**.",
        "",
    ]
    for dataset, entries in tables.items():
        keep = shown_columns(entries, len(cols))
        lines += [
            f"## {dataset}",
            "",
            "| model | seeds | " + " | ".join(cols[j].title for j in keep) + " |",
        ]
        lines.append("|---|---:|" + "---:|" * len(keep))
        for e in entries:
            cells = [
                f"**{cell_text(cols[j], e.stats[j])}**"
                if e.best[j]
                else cell_text(cols[j], e.stats[j])
                for j in keep
            ]
            lines.append(f"| {e.model} | {e.n} | " + " | ".join(cells) + " |")
        lines.append("")
    failed = [r for r in records if r.get("status") != "ok"]
    if failed:
        lines += ["## Cells that did not finish", ""]
        lines += [
            f"- `{r.get('cell_id')}`: {r.get('status')}: {_one_line(r.get('error'))}"
            for r in failed
        ]
        lines.append("")
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    devices = sorted({str(r.get("device")) for r in records if r.get("device")})
    if devices:
        lines += [
            f"Device: {', '.join(devices)}. Peak memory: CUDA max allocated on a GPU, the process's peak RSS on a CPU.",
            "",
        ]
    return "\n".join(lines)


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())[:300]


def print_leaderboard(records: Sequence[dict[str, Any]], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cols, tables = leaderboard(records)
    for dataset, entries in tables.items():
        seeds = {e.n for e in entries}
        per_row = len(seeds) > 1  # else the seed count goes in the title (the table stays narrow)
        note = "over seeds" if per_row else f"over {seeds.pop()} seed(s)"
        table = Table(
            title=f"leaderboard: {dataset} (mean ± std {note}; best in bold)", title_justify="left"
        )
        table.add_column("model", no_wrap=True)
        if per_row:
            table.add_column("seeds", justify="right")
        keep = shown_columns(entries, len(cols))
        for j in keep:
            table.add_column(cols[j].title, justify="right", overflow="fold")
        for e in entries:
            cells = [
                f"[bold green]{cell_text(cols[j], e.stats[j])}[/]"
                if e.best[j]
                else cell_text(cols[j], e.stats[j])
                for j in keep
            ]
            table.add_row(e.model, *([str(e.n)] if per_row else []), *cells)
        console.print(table)
    for r in records:
        if r.get("status") != "ok":
            console.print(
                f"[red]{r.get('status')}[/] {r.get('cell_id')}: {_one_line(r.get('error'))}"
            )


# ---------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------


def plot_tradeoffs(out: Path, records: Sequence[dict[str, Any]]) -> list[Path]:
    """accuracy_vs_throughput.png and accuracy_vs_memory.png (mean ± std per model and dataset)."""
    cols, tables = leaderboard(records)
    if not tables:
        return []
    titles = [c.title for c in cols]
    y_col = 0  # the first test metric (accuracy; AUC for ctr)
    paths = []
    for x_title, name, xlabel in (
        ("samples/s", "accuracy_vs_throughput.png", "training throughput (samples/s, log scale)"),
        ("peak MB", "accuracy_vs_memory.png", "peak memory during training (MB, log scale)"),
    ):
        paths.append(
            _scatter(
                out / name, tables, titles.index(x_title), y_col, xlabel, f"test {titles[y_col]}"
            )
        )
    return paths


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scatter(
    path: Path, tables: dict[str, list[Entry]], xi: int, yi: int, xlabel: str, ylabel: str
) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for dataset, entries in tables.items():
        pts = [
            (e.model, e.stats[xi], e.stats[yi])
            for e in entries
            if e.stats[xi] is not None and e.stats[yi] is not None
        ]
        if not pts:
            continue
        xs = [p[1][0] for p in pts]  # type: ignore[index]
        ys = [p[2][0] for p in pts]  # type: ignore[index]
        yerr = [p[2][1] or 0.0 for p in pts]  # type: ignore[index]
        ax.errorbar(xs, ys, yerr=yerr, fmt="o", capsize=3, label=dataset)
        for (model, *_), x, y in zip(pts, xs, ys, strict=True):
            ax.annotate(model, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if len(tables) > 1:
        ax.legend(title="dataset")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_outputs(
    out: Path, records: list[dict[str, Any]], meta: dict[str, Any], notes: Sequence[str] = ()
) -> None:
    write_results(out, records, {**meta, "notes": list(notes)})
    title = f"attnzoo benchmark: {meta.get('preset', 'custom')}"
    atomic_write_text(out / "leaderboard.md", leaderboard_markdown(records, title, notes))
    plot_tradeoffs(out, records)
