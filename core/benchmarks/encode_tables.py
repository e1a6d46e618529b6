"""Tabular encoding throughput (rows/s) and peak memory on synthetic CTR rows.

One million rows (default) with five categorical fields (four integer ids, one string), a
50-long ``item_history`` list sharing ``item_id``'s vocabulary (500,000 items), and a click
label, as an in-memory ``datasets.Dataset``. Ids are drawn twice, each in a fresh process:
Zipf-like (a few popular items, as in real click logs) and uniform (every lookup a cache
miss: the worst case). The tabular processor is fitted once, then ``encode`` (inputs and
labels, in blocks of rows) is timed ``--repeats`` times; rows/s is given for the median
and the fastest run (on a shared machine the median carries other processes' load).

Peak memory is the process's peak resident set (``VmHWM``, reset through
``/proc/self/clear_refs`` before encoding; Linux) above the resident set measured before the
table was built, so it holds the table itself plus everything encoding needs at once,
including its output; it is compared with the Arrow table's ``nbytes``.

    python core/benchmarks/encode_tables.py                # writes results/encode_tables.json
    python core/benchmarks/encode_tables.py --rows 100000 --no-save
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "encode_tables.json"


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS


def _ids(rng: np.random.Generator, vocab: int, size: int, dist: str) -> np.ndarray:
    """Ids in ``[1, vocab]``: uniform, or Zipf-like (p(rank k) ~ 1/k, ranks shuffled over ids)."""
    if dist == "uniform":
        return rng.integers(1, vocab + 1, size)
    cdf = np.cumsum(1.0 / np.arange(1, vocab + 1))
    ranks = np.searchsorted(cdf, rng.random(size) * cdf[-1])
    return (rng.permutation(vocab) + 1)[np.minimum(ranks, vocab - 1)]


def make_table(n: int, history: int, seed: int, dist: str = "zipf"):
    """Synthetic CTR rows as an Arrow table (numpy-backed, zero-copy where Arrow allows)."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    cities = np.array([f"city_{i}" for i in range(300)], dtype=object)
    columns = {
        "user_id": pa.array(_ids(rng, 100_000, n, dist)),
        "item_id": pa.array(_ids(rng, 500_000, n, dist)),
        "category_id": pa.array(_ids(rng, 1_000, n, dist)),
        "brand_id": pa.array(_ids(rng, 20_000, n, dist)),
        "city": pa.array(cities[_ids(rng, len(cities), n, dist) - 1], pa.string()),
        "item_history": pa.ListArray.from_arrays(
            pa.array(np.arange(0, (n + 1) * history, history, dtype=np.int32)),
            pa.array(_ids(rng, 500_000, n * history, dist)),
        ),
        "label": pa.array(rng.integers(0, 2, n)),
    }
    return pa.table(columns)


def measure(rows: int, history: int, repeats: int, seed: int, dist: str) -> dict:
    """Fit once, encode ``repeats`` times; figures of one id distribution (run in a fresh process)."""
    import datasets
    from datasets.table import InMemoryTable

    from attnzoo.data import Dataset
    from attnzoo.data.processors.tabular import BLOCK_ROWS, TabularProcessor, TabularSettings

    rss_start = _status_kib("VmRSS")
    table = make_table(rows, history, seed, dist)
    rss_table = _status_kib("VmRSS")
    split = datasets.Dataset(InMemoryTable(table))
    ds = Dataset({"train": split}, ["0", "1"], input_kind="tabular", task="ctr")
    proc = TabularProcessor(TabularSettings(exclude=["label"]), max_history=history)
    t0 = time.perf_counter()
    proc.fit(ds)
    fit_s = time.perf_counter() - t0
    rss_fitted = _status_kib("VmRSS")
    fields = proc.config_fields()
    assert len(fields["categorical_sizes"]) == 5, fields["categorical_sizes"]
    assert fields["sequence_fields"] == {"item_history": "item_id"}

    times, peaks, extras = [], [], []
    for _ in range(repeats):
        rss_before = _status_kib("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        enc = proc.encode(split)
        times.append(time.perf_counter() - t0)
        peak = _status_kib("VmHWM")
        peaks.append(peak - rss_start)
        extras.append(peak - rss_before)
        encoded_bytes = sum(a.nbytes for a in enc.arrays.values()) + enc.labels.nbytes
        del enc
    table_mib = table.nbytes / 2**20
    return {
        "ids": dist,
        "rows": rows,
        "categorical_fields": 5,
        "history_length": history,
        "block_rows": BLOCK_ROWS,
        "table_mib": round(table_mib, 1),
        "encoded_mib": round(encoded_bytes / 2**20, 1),
        "fit_seconds": round(fit_s, 3),
        "encode_seconds": [round(t, 3) for t in times],
        "rows_per_s": round(rows / statistics.median(times)),
        "rows_per_s_best": round(rows / min(times)),
        "rss_table_mib": round((rss_table - rss_start) / 1024, 1),
        "rss_after_fit_mib": round((rss_fitted - rss_start) / 1024, 1),
        "peak_rss_mib": round(max(peaks) / 1024, 1),
        "peak_vs_table": round(max(peaks) / 1024 / table_mib, 2),
        "encode_extra_peak_mib": round(max(extras) / 1024, 1),
        "encode_extra_vs_table": round(max(extras) / 1024 / table_mib, 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def report(r: dict) -> None:
    print(
        f"{r['rows']:,} rows ({r['ids']} ids), 5 categorical fields, history {r['history_length']}: "
        f"Arrow table {r['table_mib']:.0f} MiB, encoded {r['encoded_mib']:.0f} MiB"
    )
    print(f"  fit (vocabularies)  {r['fit_seconds']:7.2f} s")
    print(
        f"  encode              {statistics.median(r['encode_seconds']):7.2f} s = "
        f"{r['rows_per_s']:,} rows/s median, {r['rows_per_s_best']:,} best "
        f"(runs: {r['encode_seconds']})"
    )
    print(
        f"  peak RSS encoding   {r['peak_rss_mib']:7.0f} MiB = {r['peak_vs_table']:.2f}x the table "
        f"(table included; encoding adds {r['encode_extra_peak_mib']:.0f} MiB = "
        f"{r['encode_extra_vs_table']:.2f}x); 1-min load average {r['load_average_1min']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--history", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ids", choices=["zipf", "uniform"], help="Only this distribution, as JSON.")
    ap.add_argument("--no-save", action="store_true", help="Print only; do not write results/.")
    args = ap.parse_args()
    if args.ids:  # one measurement in this (fresh) process
        r = measure(args.rows, args.history, args.repeats, args.seed, args.ids)
        print(json.dumps(r))
        return
    runs = []
    for dist in ("zipf", "uniform"):
        cmd = [sys.executable, __file__, "--ids", dist, "--rows", str(args.rows)]
        cmd += ["--history", str(args.history), "--repeats", str(args.repeats)]
        cmd += ["--seed", str(args.seed)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        report(runs[-1])
    result = {
        "runs": runs,
        "goals": {"rows_per_s": ">= 1,000,000", "peak_vs_table": "<= 2.0"},
        "device": f"cpu ({os.cpu_count()} cores, {platform.machine()}), shared",
        "command": "python core/benchmarks/encode_tables.py",
    }
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
