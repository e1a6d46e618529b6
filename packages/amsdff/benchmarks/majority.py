"""The test split's class shares (what a constant predictor scores) of the datasets the README
compares on, with attnzoo's default split (seed 42, 80/10/10):

    python packages/amsdff/benchmarks/majority.py bbc-news tweets-sentiment \
        --out packages/amsdff/results/majority-class.json
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path


def shares(dataset: str) -> dict:
    from attnzoo.api import coerce_run_config, prepare_dataset

    ds = prepare_dataset(coerce_run_config({"model": "amsdff", "dataset": dataset}))
    labels = ds.splits["test"][ds.label_column]
    counts = collections.Counter(labels)
    n = sum(counts.values())
    names = list(ds.label_names)
    by_class = {names[k]: v / n for k, v in sorted(counts.items())}
    return {"test_examples": n, "shares": by_class, "majority": max(by_class.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = {d: shares(d) for d in args.datasets}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
