"""Untuned against tuned: the same models from two ``attnzoo bench`` folders, side by side.

    python core/benchmarks/compare_tuned.py UNTUNED_DIR TUNED_DIR --out TUNED_DIR/compare-untuned.md

Per model: test accuracy mean ± std over the seeds both folders ran, the rank of each (1 = best
mean), and the seed-0 validation accuracy that selected the settings. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path


def _rows(folder: Path) -> dict[str, dict[int, dict]]:
    cells: dict[str, dict[int, dict]] = {}
    for row in csv.DictReader((folder / "results.csv").open()):
        if row["status"] == "ok":
            cells.setdefault(row["model"], {})[int(row["seed"])] = row
    return cells


def _val(folder: Path, model: str) -> float | None:
    data = json.loads((folder / "results.json").read_text())
    for cell in data["cells"]:
        if cell["model"] == model and cell["seed"] == 0 and cell.get("status") == "ok":
            return float(cell["val"]["accuracy"])
    return None


def _sd(x: list[float]) -> float:
    return statistics.stdev(x) if len(x) > 1 else 0.0


def _ranks(means: dict[str, float]) -> dict[str, int]:
    order = sorted(means, key=lambda m: -means[m])
    return {m: order.index(m) + 1 for m in means}


def compare(untuned: Path, tuned: Path) -> str:
    a, b = _rows(untuned), _rows(tuned)
    models = [m for m in b if m in a]
    stats = {}
    for m in models:
        seeds = sorted(set(a[m]) & set(b[m]))
        xa = [float(a[m][s]["test_accuracy"]) for s in seeds]
        xb = [float(b[m][s]["test_accuracy"]) for s in seeds]
        stats[m] = (seeds, xa, xb)
    rank_a = _ranks({m: statistics.fmean(v[1]) for m, v in stats.items()})
    rank_b = _ranks({m: statistics.fmean(v[2]) for m, v in stats.items()})
    lines = [
        "| model | seeds | untuned test accuracy | rank | tuned test accuracy | rank | "
        "val accuracy seed 0 untuned / tuned |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m, (seeds, xa, xb) in stats.items():
        va, vb = _val(untuned, m), _val(tuned, m)
        val = f"{va:.4f} / {vb:.4f}" if va is not None and vb is not None else ""
        lines.append(
            f"| {m} | {len(seeds)} | {statistics.fmean(xa):.4f} ± {_sd(xa):.4f} | {rank_a[m]} | "
            f"{statistics.fmean(xb):.4f} ± {_sd(xb):.4f} | {rank_b[m]} | {val} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("untuned", type=Path)
    parser.add_argument("tuned", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    table = compare(args.untuned, args.tuned)
    args.out.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
