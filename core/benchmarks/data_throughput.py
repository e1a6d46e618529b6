"""Tokenization and batching throughput (documents/s) on a dataset, for each tokenizer kind.

python core/benchmarks/data_throughput.py --dataset bbc-news --max-length 512
"""

from __future__ import annotations

import argparse
import time

from attnzoo.data import build_tokenizer, prepare_data, resolve_dataset


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", default="bbc-news")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    ds = resolve_dataset(args.dataset).ensure_splits(0.1, 0.1, 42)
    n_docs = sum(len(s) for s in ds.splits.values())
    print(
        f"{args.dataset}: {n_docs} documents, max_length {args.max_length}, batch {args.batch_size}"
    )
    print(f"{'tokenizer':<10} {'train tok (s)':>13} {'encode docs/s':>14} {'batching docs/s':>16}")
    for kind in ("wordpiece", "bpe", "word"):
        t0 = time.perf_counter()
        tok = build_tokenizer(kind, ds.splits["train"]["text"], vocab_size=16000)
        t_train = time.perf_counter() - t0
        data = prepare_data(ds, tok, args.max_length)
        t0 = time.perf_counter()
        n = sum(
            len(b["labels"])
            for split in data.labels
            for b in data.batches(split, args.batch_size, shuffle=True)
        )
        t_batch = time.perf_counter() - t0
        print(
            f"{kind:<10} {t_train:>13.2f} {n_docs / data.encode_seconds:>14.0f} {n / t_batch:>16.0f}"
        )


if __name__ == "__main__":
    main()
