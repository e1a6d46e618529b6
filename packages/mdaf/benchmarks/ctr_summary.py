"""Summarise `attnzoo bench ctr` folders: per-model test metrics, MDAF vs its branches, the gate.

    uv run python packages/mdaf/benchmarks/ctr_summary.py \\
        --bench DIR [DIR ...] --baselines results/ctr-movielens-100k-3seeds/results.json \\
        --out packages/mdaf/results/ctr-movielens-100k

Reads each bench folder's ``results.json`` (and, for MDAF cells, the run's ``metrics.jsonl``,
or its copy ``epochs/<run>.metrics.jsonl`` in the folder, for the validation gate at the best
epoch), and writes ``summary.json`` (records for
``scripts/check_results.py``) and ``summary.md``. Mean ± std over seeds (std with ddof 1).
The "best branch" of an MDAF recipe is the branch with the higher mean validation AUC (so the
comparison selects on validation); the paired difference is per seed, test metrics.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

METRICS = ("auc", "gauc", "logloss")
#: MDAF recipe -> its standalone branches
BRANCHES = {"mdaf.mamba": ("dcnv3", "mamba4rec"), "mdaf.bst": ("dcnv3", "bst")}
GATE = "g = share of the static (DCNv3) branch in h = g*h_static + (1-g)*h_seq"


def load_cells(path: Path) -> list[dict[str, Any]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c.get("status") == "ok"]


def mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def gate_at_best(cell: dict[str, Any], bench_dir: Path) -> dict[str, float] | None:
    """The validation gate statistics of the cell's best epoch (None without them)."""
    name = Path(cell["run_dir"]).name
    path = bench_dir / "epochs" / f"{name}.metrics.jsonl"  # the committed copy
    if not path.exists():
        path = Path(cell["run_dir"]) / "metrics.jsonl"
    if not path.exists():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    best = [r for r in rows if r.get("epoch") == cell["best_epoch"]]
    if not best or "val_gate_mean" not in best[0]:
        return None
    r = best[0]
    first = rows[0]
    return {
        "mean": r["val_gate_mean"],
        "std": r["val_gate_std"],
        "min": r["val_gate_min"],
        "max": r["val_gate_max"],
        "epoch1_mean": first["val_gate_mean"],
    }


def model_record(model: str, cells: list[dict[str, Any]], source: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"model": model, "dataset": "movielens-100k", "source": source}
    rec["seeds"] = sorted(c["seed"] for c in cells)
    for m in METRICS:
        rec[f"test_{m}_mean"], rec[f"test_{m}_std"] = mean_std([c["test"][m] for c in cells])
    rec["val_auc_mean"], rec["val_auc_std"] = mean_std([c["val"]["auc"] for c in cells])
    rec["params"] = cells[0]["num_parameters"]
    rec["best_epochs"] = [c["best_epoch"] for c in sorted(cells, key=lambda c: c["seed"])]
    rec["samples_per_s_mean"] = statistics.fmean(c["samples_per_s"] for c in cells)
    return rec


def paired(
    mdaf: list[dict[str, Any]], branch: list[dict[str, Any]], mdaf_name: str, branch_name: str
) -> dict[str, Any]:
    by_seed = {c["seed"]: c for c in branch}
    common = sorted(c["seed"] for c in mdaf if c["seed"] in by_seed)
    mine = {c["seed"]: c for c in mdaf}
    rec: dict[str, Any] = {"comparison": f"{mdaf_name} - {branch_name}", "seeds": common}
    for m in METRICS:
        diffs = [mine[s]["test"][m] - by_seed[s]["test"][m] for s in common]
        rec[f"{m}_diffs"] = diffs
        rec[f"{m}_diff_mean"], rec[f"{m}_diff_std"] = mean_std(diffs)
        # wins: higher AUC/gAUC, lower log loss
        rec[f"{m}_wins"] = sum((d > 0) if m != "logloss" else (d < 0) for d in diffs)
    return rec


def fmt(mean: float, std: float, digits: int = 4) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", nargs="+", type=Path, required=True)
    ap.add_argument("--baselines", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    by_model: dict[str, list[dict[str, Any]]] = {}
    source: dict[str, str] = {}
    gates: dict[str, list[dict[str, Any]]] = {}
    for folder in args.bench:
        for c in load_cells(folder / "results.json"):
            by_model.setdefault(c["model"], []).append(c)
            source[c["model"]] = "this package's run"
            g = gate_at_best(c, folder)
            if g is not None:
                gates.setdefault(c["model"], []).append({"seed": c["seed"], **g})
    if args.baselines is not None:
        for c in load_cells(args.baselines):
            by_model.setdefault(c["model"], []).append(c)
            source[c["model"]] = "committed yardstick (results/ctr-movielens-100k-3seeds)"

    models = sorted(
        by_model, key=lambda m: -statistics.fmean(c["test"]["auc"] for c in by_model[m])
    )
    records = [model_record(m, by_model[m], source[m]) for m in models]
    val_auc = {r["model"]: r["val_auc_mean"] for r in records}
    comparisons = []
    for mdaf, branches in BRANCHES.items():
        have = [b for b in branches if b in by_model]
        if mdaf not in by_model or not have:
            continue
        best = max(have, key=lambda b: val_auc[b])
        for b in sorted(have, key=lambda b: b != best):  # the best branch first
            comparisons.append(
                {**paired(by_model[mdaf], by_model[b], mdaf, b), "best_branch": b == best}
            )
    gate_records = []
    for model, rows in sorted(gates.items()):
        rows.sort(key=lambda r: r["seed"])
        rec: dict[str, Any] = {"model": model, "meaning": GATE, "per_seed": rows}
        for k in ("mean", "std", "epoch1_mean"):
            rec[f"gate_{k}_mean"], rec[f"gate_{k}_sd"] = mean_std([r[k] for r in rows])
        gate_records.append(rec)

    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"models": records, "comparisons": comparisons, "gates": gate_records}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

    lines = [
        "| model | seeds | test AUC | test gAUC | test log loss | params | source |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['model']} | {len(r['seeds'])} | {fmt(r['test_auc_mean'], r['test_auc_std'])} | "
            f"{fmt(r['test_gauc_mean'], r['test_gauc_std'])} | "
            f"{fmt(r['test_logloss_mean'], r['test_logloss_std'])} | {r['params']:,} | {r['source']} |"
        )
    lines += [
        "",
        "| MDAF - branch (* = best branch on val AUC) | seeds | Δ test AUC | Δ gAUC | Δ log loss | AUC wins |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in comparisons:
        lines.append(
            f"| {c['comparison']}{' *' if c['best_branch'] else ''} | {len(c['seeds'])} | {fmt(c['auc_diff_mean'], c['auc_diff_std'])} | "
            f"{fmt(c['gauc_diff_mean'], c['gauc_diff_std'])} | "
            f"{fmt(c['logloss_diff_mean'], c['logloss_diff_std'])} | {c['auc_wins']}/{len(c['seeds'])} |"
        )
    lines += [
        "",
        f"Gate ({GATE}), validation, best epoch:",
        "",
        "| model | gate mean | gate std | epoch-1 mean |",
        "|---|---:|---:|---:|",
    ]
    for g in gate_records:
        lines.append(
            f"| {g['model']} | {fmt(g['gate_mean_mean'], g['gate_mean_sd'], 3)} | "
            f"{fmt(g['gate_std_mean'], g['gate_std_sd'], 3)} | "
            f"{fmt(g['gate_epoch1_mean_mean'], g['gate_epoch1_mean_sd'], 3)} |"
        )
    (args.out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
