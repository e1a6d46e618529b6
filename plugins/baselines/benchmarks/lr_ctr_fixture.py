"""``lr`` on the tiny CTR fixture (attnzoo.testing.make_ctr_table), several seeds, from the
same entry point the CLI uses: validation-selected AUC/log loss and the test figures once.

python plugins/baselines/benchmarks/lr_ctr_fixture.py            # writes results/lr-ctr-fixture.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

import attnzoo
from attnzoo.testing import make_ctr_table

RESULTS = Path(__file__).parent / "results" / "lr-ctr-fixture.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--fmt", choices=["csv", "parquet"], default="parquet")
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        data = make_ctr_table(Path(tmp) / "data", n=args.rows, seed=0, fmt=args.fmt)
        for seed in args.seeds:
            result = attnzoo.train(
                {
                    "model": "lr",
                    "dataset": str(data),
                    "out_dir": str(Path(tmp) / "runs"),
                    "name": f"lr-s{seed}",
                    "data": {"processor": {"exclude": ["timestamp"]}},
                    "train": {"seed": seed, "progress": False},
                }
            )
            runs.append(
                {
                    "seed": seed,
                    "best_epoch": result["best_epoch"],
                    "val": result["val"],
                    "test": result["test"],
                    "num_parameters": result["num_parameters"],
                    "train_seconds": round(result["train_seconds"], 1),
                }
            )
            print(json.dumps(runs[-1]))
    summary = {
        split: {m: round(statistics.mean(r[split][m] for r in runs), 4) for m in ("auc", "logloss")}
        for split in ("val", "test")
    }
    out = {
        "model": "lr",
        "data": f"make_ctr_table(n={args.rows}, seed=0, fmt={args.fmt!r}), random 80/10/10 split",
        "runs": runs,
        "mean": summary,
        "device": f"cpu ({os.cpu_count()} cores, {platform.machine()})",
        "command": "python plugins/baselines/benchmarks/lr_ctr_fixture.py",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(summary), f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
