"""Paired per-seed comparison of two models from an ``attnzoo bench`` output folder.

    python packages/amsdff/benchmarks/paired.py RESULTS_DIR amsdff hf-encoder.minilm [DATASET]
    python packages/amsdff/benchmarks/paired.py RESULTS_DIR amsdff.lr-groups amsdff bbc-news --b-dir OTHER_DIR

reads ``RESULTS_DIR/results.csv`` (test metrics, one row per cell) and each cell's
``final.json`` (validation metrics of the selected epoch), and writes ``paired.json`` and
``paired.md`` next to them (``--b-dir``: B's cells come from another bench folder, for a
variant that needed its own ``--set`` items): per seed, both models and the difference A - B, then mean ± std
(the JSON also keeps each run's per-epoch metrics, since run folders are not committed).
Only the standard library: it runs without torch.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

METRICS = ("val_accuracy", "test_accuracy", "test_macro_f1")


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _cells(results_dir: Path, model: str, dataset: str | None) -> dict[int, dict[str, float]]:
    rows = list(csv.DictReader((results_dir / "results.csv").open()))
    cells = {}
    for row in rows:
        if row["model"] != model or row["status"] != "ok" or dataset not in (None, row["dataset"]):
            continue
        final = Path(row["run_dir"]) / "final.json"
        if not final.is_absolute():
            final = Path.cwd() / final
        val = json.loads(final.read_text())["val"]["accuracy"] if final.exists() else float("nan")
        history = final.with_name("metrics.jsonl")
        epochs = (
            [json.loads(x) for x in history.read_text().splitlines()] if history.exists() else []
        )
        cells[int(row["seed"])] = {
            "val_accuracy": val,
            "test_accuracy": float(row["test_accuracy"]),
            "test_macro_f1": float(row["test_macro_f1"]),
            "samples_per_s": float(row["samples_per_s"]),
            "num_parameters": float(row["num_parameters"]),
            "epochs": epochs,
        }
    return cells


def compare(
    results_dir: Path, a: str, b: str, dataset: str | None = None, b_dir: Path | None = None
) -> dict:
    ca, cb = _cells(results_dir, a, dataset), _cells(b_dir or results_dir, b, dataset)
    seeds = sorted(set(ca) & set(cb))
    if not seeds:
        raise SystemExit(f"no seed has finished cells of both {a!r} and {b!r} in {results_dir}")
    per_seed = [{"seed": s, a: ca[s], b: cb[s]} for s in seeds]
    summary = {}
    for m in (*METRICS, "samples_per_s"):
        xa, xb = [ca[s][m] for s in seeds], [cb[s][m] for s in seeds]
        summary[m] = {
            a: _mean_std(xa),
            b: _mean_std(xb),
            "diff": _mean_std([p - q for p, q in zip(xa, xb, strict=True)]),
            "a_wins": sum(p > q for p, q in zip(xa, xb, strict=True)),
        }
    return {
        "a": a,
        "b": b,
        "dataset": dataset,
        "seeds": seeds,
        "per_seed": per_seed,
        "summary": summary,
    }


def to_markdown(res: dict) -> str:
    a, b = res["a"], res["b"]
    lines = [
        f"# {a} vs {b}" + (f" on {res['dataset']}" if res["dataset"] else ""),
        "",
        "| seed | " + " | ".join(f"{m} {a} | {m} {b} | diff" for m in METRICS) + " |",
        "|---:|" + "---:|---:|---:|" * len(METRICS),
    ]
    for row in res["per_seed"]:
        cols = [
            f"{row[a][m]:.4f} | {row[b][m]:.4f} | {row[a][m] - row[b][m]:+.4f}" for m in METRICS
        ]
        lines.append(f"| {row['seed']} | " + " | ".join(cols) + " |")
    lines += [
        "",
        f"| metric | {a} | {b} | paired diff ({a} - {b}) | seeds {a} better |",
        "|---|---:|---:|---:|---:|",
    ]
    for m, s in res["summary"].items():
        fmt = "{:.4f} ± {:.4f}" if m != "samples_per_s" else "{:.2f} ± {:.2f}"
        lines.append(
            f"| {m} | {fmt.format(*s[a])} | {fmt.format(*s[b])} | {fmt.format(*s['diff'])} | "
            f"{s['a_wins']}/{len(res['seeds'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    b_dir = None
    if "--b-dir" in argv:
        i = argv.index("--b-dir")
        b_dir, argv = Path(argv[i + 1]), argv[:i] + argv[i + 2 :]
    if len(argv) not in (3, 4):
        raise SystemExit(__doc__)
    results_dir = Path(argv[0])
    res = compare(results_dir, argv[1], argv[2], argv[3] if len(argv) == 4 else None, b_dir)
    stem = f"paired-{argv[1]}-vs-{argv[2]}".replace("/", "_")
    (results_dir / f"{stem}.json").write_text(json.dumps(res, indent=2) + "\n")
    (results_dir / f"{stem}.md").write_text(to_markdown(res))
    print(to_markdown(res))


if __name__ == "__main__":
    main(sys.argv[1:])
