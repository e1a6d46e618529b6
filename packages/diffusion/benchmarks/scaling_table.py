"""The README's diffusion-vs-transformer scaling table, computed from ``results/scaling.csv``.

``results/scaling.csv`` is written by::

    attnzoo bench --scaling --models diffusion,transformer.base256,transformer.base256-eager \
      --lengths 512..4096 --batch-size 16 --steps 2 --memory-budget 12000 --out <dir>

and this script turns it into ``results/scaling-table.md``: ms per training sample and peak MB
per model and length, the transformer/diffusion ratios of memory and time, and the fitted
growth exponents (log-log slopes, as ``attnzoo bench --scaling`` fits them)::

    python benchmarks/scaling_table.py --budget-mb 12000
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from attnzoo.bench.scaling import fit_exponent

HERE = Path(__file__).resolve().parent.parent
BASE = "diffusion"
OTHERS = ("transformer.base256", "transformer.base256-eager")


def load(path: Path) -> dict[str, dict[int, dict]]:
    points: dict[str, dict[int, dict]] = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            points.setdefault(row["model"], {})[int(row["length"])] = row
    return points


def _ok(row: dict | None) -> bool:
    return row is not None and row["status"] == "ok"


def cell(row: dict | None, budget_mb: float) -> str:
    if _ok(row):
        return f"{float(row['seconds_per_sample']) * 1e3:,.0f} ({float(row['memory_mb']):,.0f})"
    if row is not None and row["status"] == "memory":
        return f"stopped: > {budget_mb / 1000:.0f} GB"
    return "–"


def ratio(num: dict | None, den: dict, key: str, budget_mb: float) -> str:
    if _ok(num):
        return f"{float(num[key]) / float(den[key]):.1f}×"
    if num is not None and num["status"] == "memory" and key == "memory_mb":
        return f"> {budget_mb / float(den[key]):.1f}×"
    return "–"


def table(points: dict[str, dict[int, dict]], budget_mb: float) -> str:
    lines = [
        "| length | diffusion ms/sample (MB) | transformer sdpa | transformer eager "
        "| memory ratio sdpa / eager | speed ratio sdpa / eager |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for length in sorted(points[BASE]):
        base = points[BASE][length]
        rows = [points.get(m, {}).get(length) for m in OTHERS]
        mem = " / ".join(ratio(r, base, "memory_mb", budget_mb) for r in rows)
        speed = " / ".join(ratio(r, base, "seconds_per_sample", budget_mb) for r in rows)
        cells = " | ".join(cell(r, budget_mb) for r in [base, *rows])
        lines.append(f"| {length} | {cells} | {mem} | {speed} |")
    lines += ["", "Fitted growth exponents over the completed lengths (log-log slope):", ""]
    lines += ["| model | time | memory |", "|---|---:|---:|"]
    for model in (BASE, *OTHERS):
        done = [r for _, r in sorted(points.get(model, {}).items()) if _ok(r)]
        lengths = [int(r["length"]) for r in done]
        t = fit_exponent(lengths, [float(r["seconds_per_sample"]) for r in done])
        m = fit_exponent(lengths, [float(r["memory_mb"]) for r in done])
        lines.append(f"| {model} | {t:.2f} | {m:.2f} |")
    device = next(iter(points[BASE].values()))["device"]
    return "\n".join(lines) + f"\n\nDevice: {device}. Source: scaling.csv.\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", type=Path, default=HERE / "results" / "scaling.csv")
    p.add_argument("--out", type=Path, default=HERE / "results" / "scaling-table.md")
    p.add_argument(
        "--budget-mb", type=float, default=12000, help="the sweep's --memory-budget (MB)"
    )
    args = p.parse_args()
    text = "# Diffusion vs transformer: memory and time per sample by length\n\n"
    text += table(load(args.csv), args.budget_mb)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
