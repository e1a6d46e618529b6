"""Per-cell training curves of an ``attnzoo bench`` folder, summarised into one CSV.

``results.csv`` of a benchmark holds final metrics only; the epoch rows live in each cell's
``runs/<cell-id>/metrics.jsonl``, which is not committed. This writes one row per finished
cell: its model, dataset and seed, the training and validation accuracy after epoch 1 and
after the last epoch, the best validation accuracy, and the mean ``epoch_seconds`` (the
training loop alone, evaluation excluded)::

    python scripts/epoch_summary.py bench-results/atrt5 --out packages/atrt/results/epochs-cpu.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

FIELDS = [
    "cell_id",
    "model",
    "dataset",
    "seed",
    "epochs",
    "train_accuracy_epoch1",
    "val_accuracy_epoch1",
    "train_accuracy_last",
    "val_accuracy_last",
    "val_accuracy_best",
    "mean_epoch_seconds",
]


def summarise(bench_dir: Path) -> list[dict]:
    rows = []
    for cell_file in sorted((bench_dir / "cells").glob("*.json")):
        cell = json.loads(cell_file.read_text())
        if cell.get("status") != "ok":
            continue
        metrics = bench_dir / "runs" / cell["cell_id"] / "metrics.jsonl"
        if not metrics.is_file():
            raise SystemExit(f"{metrics} is missing: was the cell's run folder deleted?")
        epochs = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
        first, last = epochs[0], epochs[-1]
        rows.append(
            {
                "cell_id": cell["cell_id"],
                "model": cell["model"],
                "dataset": cell["dataset"],
                "seed": cell["seed"],
                "epochs": len(epochs),
                "train_accuracy_epoch1": first.get("train_accuracy"),
                "val_accuracy_epoch1": first.get("val_accuracy"),
                "train_accuracy_last": last.get("train_accuracy"),
                "val_accuracy_last": last.get("val_accuracy"),
                "val_accuracy_best": max(e.get("val_accuracy", float("nan")) for e in epochs),
                "mean_epoch_seconds": statistics.fmean(e["epoch_seconds"] for e in epochs),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench_dir", type=Path, help="an `attnzoo bench --out` folder")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")
    args = parser.parse_args(argv)
    rows = summarise(args.bench_dir)
    if not rows:
        print(f"no finished cells in {args.bench_dir}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} cells -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
