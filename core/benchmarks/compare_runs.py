"""Compare run folders epoch by epoch: did a code change change what training computes?

    python core/benchmarks/compare_runs.py --out results/x.md OLD_RUN NEW_RUN [OLD_RUN NEW_RUN ...]

For each pair: every epoch's training loss, validation accuracy and validation loss of both runs
and their largest absolute difference, and the test metrics of ``final.json``. Writes a Markdown
table (and the same numbers as JSON next to it). Only the standard library: no torch needed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

KEYS = ("train_loss", "val_accuracy", "val_loss")


def _rows(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]


def compare(old: Path, new: Path) -> dict:
    a, b = _rows(old), _rows(new)
    epochs = [
        {
            "epoch": ra["epoch"],
            **{f"old_{k}": ra[k] for k in KEYS},
            **{f"new_{k}": rb[k] for k in KEYS},
        }
        for ra, rb in zip(a, b, strict=True)
    ]
    diff = {k: max(abs(e[f"old_{k}"] - e[f"new_{k}"]) for e in epochs) for k in KEYS}
    test_a = json.loads((old / "final.json").read_text())["test"]
    test_b = json.loads((new / "final.json").read_text())["test"]
    return {
        "old": str(old),
        "new": str(new),
        "epochs": epochs,
        "max_abs_diff": diff,
        "test_old": test_a,
        "test_new": test_b,
    }


def markdown(pairs: list[dict]) -> str:
    lines = [
        "| run | epoch | train_loss old / new | val_accuracy old / new | val_loss old / new |",
        "|---|---:|---|---|---|",
    ]
    for p in pairs:
        for e in p["epochs"]:
            cells = [f"{e['old_' + k]:.6f} / {e['new_' + k]:.6f}" for k in KEYS]
            lines.append(f"| {Path(p['new']).name} | {e['epoch']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| run | max abs diff train_loss | val_accuracy | val_loss | test accuracy old / new |",
    ]
    lines.append("|---|---:|---:|---:|---|")
    for p in pairs:
        d = p["max_abs_diff"]
        acc = f"{p['test_old']['accuracy']:.4f} / {p['test_new']['accuracy']:.4f}"
        lines.append(
            f"| {Path(p['new']).name} | {d['train_loss']:.1e} | {d['val_accuracy']:.1e} | "
            f"{d['val_loss']:.1e} | {acc} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="OLD NEW pairs of run folders")
    parser.add_argument("--out", type=Path, required=True, help="the .md to write (+ .json)")
    args = parser.parse_args()
    if len(args.runs) % 2:
        parser.error("give run folders in OLD NEW pairs")
    pairs = [compare(o, n) for o, n in zip(args.runs[::2], args.runs[1::2], strict=True)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(pairs))
    args.out.with_suffix(".json").write_text(json.dumps(pairs, indent=1) + "\n")
    print(markdown(pairs))


if __name__ == "__main__":
    main()
