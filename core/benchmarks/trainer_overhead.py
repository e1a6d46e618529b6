"""Trainer overhead: samples/s of the attnzoo torch trainer against a plain hand-written loop.

Same model, same encoded data, same batch order, same optimizer, scheduler and clipping; the
plain loop has no accelerate, no progress bar, no hooks, no checkpoints. Both are timed over the
training epochs only (validation excluded), median over epochs after the first (warm-up).

    python core/benchmarks/trainer_overhead.py --model example.wide --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import attnzoo
from attnzoo.api import (
    build_config,
    coerce_run_config,
    get_backend,
    model_config_for,
    prepare_dataset,
    resolve_run_config,
)
from attnzoo.data import prepare_data, processor_class
from attnzoo.registry import get_model_spec
from attnzoo.trainers.optim import build_scheduler, param_groups


def plain_loop(model_name: str, model_cfg, data, cfg, epochs: int) -> list[float]:
    spec = get_model_spec(model_name)
    torch.manual_seed(cfg.seed)
    model = get_backend("torch").build_model(spec, model_cfg)
    opt = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr)
    steps = epochs * int(np.ceil(data.num_examples("train") / cfg.batch_size))
    sched = build_scheduler(opt, cfg, steps)
    rates = []
    for epoch in range(1, epochs + 1):
        model.train()
        n, t0 = 0, time.perf_counter()
        for batch in data.batches(
            "train", cfg.batch_size, shuffle=True, seed=cfg.seed, epoch=epoch
        ):
            b = {k: torch.from_numpy(v) for k, v in batch.items()}
            labels = b.pop("labels")
            loss = F.cross_entropy(model(**b)["logits"], labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
            n += len(labels)
        rates.append(n / (time.perf_counter() - t0))
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="example.wide")
    ap.add_argument("--dataset", default="bbc-news")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    with tempfile.TemporaryDirectory() as out:
        run_cfg = {
            "model": args.model,
            "dataset": args.dataset,
            "out_dir": out,
            "name": "overhead",
            "data": {"max_length": args.max_length},
            "train": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "early_stopping_patience": None,
                "deterministic": False,
            },
        }
        requested = coerce_run_config(run_cfg)
        spec = get_model_spec(args.model)
        ds = prepare_dataset(requested, training=True)
        cfg = resolve_run_config(requested, ds)
        # the processor a run fits: its tokenizer is cached by content, so the run gets the same
        processor = processor_class(spec.input_kind).from_run(
            cfg.data, ds, build_config(cfg.model, None, **cfg.model_args)
        )
        processor.fit(ds)
        data = prepare_data(ds, processor)
        model_cfg = model_config_for(cfg, spec, data)
        # plain, attnzoo, plain again: load on a shared machine drifts, so bracket the trainer
        plain = plain_loop(args.model, model_cfg, data, cfg.train, args.epochs)
        attnzoo.train(run_cfg)
        plain_after = plain_loop(args.model, model_cfg, data, cfg.train, args.epochs)
        rows = [
            json.loads(x)
            for x in (Path(out) / "overhead" / "metrics.jsonl").read_text().splitlines()
        ]
        ours = [r["samples_per_s"] for r in rows]
    p, a = statistics.median(plain[1:] + plain_after[1:]), statistics.median(ours[1:])
    print(
        f"model {args.model}, dataset {args.dataset}, batch {args.batch_size}, max_length {args.max_length}, torch threads {torch.get_num_threads()}"
    )
    print(
        f"plain loop  samples/s per epoch: {[round(x, 1) for x in plain]} then {[round(x, 1) for x in plain_after]}  median(after warm-up) {p:.1f}"
    )
    print(
        f"attnzoo     samples/s per epoch: {[round(x, 1) for x in ours]}  median(after warm-up) {a:.1f}"
    )
    print(f"attnzoo / plain = {a / p:.3f}  (overhead {100 * (1 - a / p):+.1f}%)")
    out = Path(__file__).parent / "results" / "trainer_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "command": "python core/benchmarks/trainer_overhead.py "
        f"--model {args.model} --dataset {args.dataset} --epochs {args.epochs} "
        f"--batch-size {args.batch_size} --max-length {args.max_length}",
        "device": f"cpu ({os.cpu_count()} cores, {platform.machine()})",
        "torch_threads": torch.get_num_threads(),
        "plain_samples_per_s": [*plain, *plain_after],
        "attnzoo_samples_per_s": ours,
        "plain_median_after_warmup": p,
        "attnzoo_median_after_warmup": a,
        "ratio": a / p,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
