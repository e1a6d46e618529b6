"""Text encoding and batching throughput (documents/s) with the text processor, per tokenizer.

For each tokenizer kind: train it on the training split, then encode every split through
``prepare_data(ds, TextProcessor(...))`` (what a run does) and, for comparison, with the
encoder core used before processors (``encode_batch`` of every whole text, offsets and all).
Both give the same token ids (checked). Each figure is the median of ``--repeats`` passes,
the two encoders taking turns; the machine is shared, so the range and the load average are
recorded too. Writes the figures as JSON.

    python core/benchmarks/data_throughput.py --dataset bbc-news --max-length 512
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.data import SPLITS, build_tokenizer, prepare_data, resolve_dataset
from attnzoo.data.processors.text import TextProcessor

RESULTS = Path(__file__).parent / "results"


def encode_before(tokenizer: Any, texts: list[str], max_length: int) -> list[np.ndarray]:
    """Core's encoder before processors: ``encode_batch`` of whole texts, 1,024 at a time."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    out = []
    for start in range(0, len(texts), 1024):
        for enc in tokenizer.encode_batch(texts[start : start + 1024]):
            out.append(np.asarray(enc.ids, dtype=np.int64))
    return out


def timed(fn: Any, repeats: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def device() -> str:
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", default="bbc-news")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--vocab-size", type=int, default=16000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--kinds", nargs="+", default=["wordpiece", "bpe", "word"])
    ap.add_argument("--out", type=Path, default=RESULTS / "data_throughput.json")
    args = ap.parse_args()
    load_before = os.getloadavg()
    ds = resolve_dataset(args.dataset).ensure_splits(0.1, 0.1, 42)
    texts = [t for s in SPLITS if s in ds.splits for t in ds.splits[s][ds.text_column]]
    n_docs = len(texts)
    chars = sum(len(t) for t in texts)
    print(
        f"{args.dataset}: {n_docs} documents ({chars / n_docs:.0f} characters on average), "
        f"max_length {args.max_length}, batch {args.batch_size}, {args.repeats} repeats, {device()}"
    )
    header = (
        f"{'tokenizer':<10} {'train (s)':>9} {'before docs/s':>14} {'processor docs/s':>17} "
        f"{'speed-up':>8} {'batching docs/s':>16} {'same ids':>8}"
    )
    print(header)
    rows = []
    for kind in args.kinds:
        t0 = time.perf_counter()
        tok = build_tokenizer(kind, ds.splits["train"][ds.text_column], vocab_size=args.vocab_size)
        t_train = time.perf_counter() - t0
        processor = TextProcessor(tok, max_length=args.max_length, text_column=ds.text_column)
        # interleaved, so that the load of the shared machine drifts over both alike
        before_t, proc_t = [], []
        for _ in range(args.repeats):
            t, before_ids = timed(lambda tok=tok: encode_before(tok, texts, args.max_length), 1)
            before_t += t
            t, data = timed(lambda p=processor: prepare_data(ds, p), 1)
            proc_t += t
        ours = [
            enc.arrays["ids"][enc.arrays["offsets"][i] : enc.arrays["offsets"][i + 1]]
            for enc in data.encoded.values()
            for i in range(enc.n)
        ]
        same = len(ours) == len(before_ids) and all(
            np.array_equal(a, b) or (len(b) == 0 and len(a) == 1)
            for a, b in zip(ours, before_ids, strict=True)
        )
        batch_t, n_batched = timed(
            lambda d=data: sum(
                len(b["labels"])
                for split in d.encoded
                for b in d.batches(split, args.batch_size, shuffle=True)
            ),
            args.repeats,
        )
        row = {
            "tokenizer": kind,
            "train_seconds": t_train,
            "before_docs_per_s": n_docs / statistics.median(before_t),
            "processor_docs_per_s": n_docs / statistics.median(proc_t),
            "processor_docs_per_s_range": [n_docs / max(proc_t), n_docs / min(proc_t)],
            "before_docs_per_s_range": [n_docs / max(before_t), n_docs / min(before_t)],
            "batching_docs_per_s": n_batched / statistics.median(batch_t),
            "same_ids": same,
        }
        row["speedup"] = row["processor_docs_per_s"] / row["before_docs_per_s"]
        rows.append(row)
        print(
            f"{kind:<10} {t_train:>9.2f} {row['before_docs_per_s']:>14,.0f} "
            f"{row['processor_docs_per_s']:>17,.0f} {row['speedup']:>7.1f}x "
            f"{row['batching_docs_per_s']:>16,.0f} {same!s:>8}"
        )
    result = {
        "command": "python core/benchmarks/data_throughput.py "
        f"--dataset {args.dataset} --max-length {args.max_length} --repeats {args.repeats}",
        "dataset": args.dataset,
        "documents": n_docs,
        "mean_characters": chars / n_docs,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "vocab_size": args.vocab_size,
        "repeats": args.repeats,
        "device": device(),
        "tokenizers_parallelism": os.environ.get("TOKENIZERS_PARALLELISM", "default"),
        # the machine is shared: its 1-minute load average before and after the passes
        "load_average": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
