"""Head overhead: parameters and training-step time of amsdff over hf-encoder, same encoder.

    python packages/amsdff/benchmarks/overhead.py --out packages/amsdff/results/overhead-minilm-cpu.json

Both models wrap all-MiniLM-L6-v2 (the packaged default). Steps (forward, backward, AdamW)
on random tokens at batch 16 and length 256 alternate between the two models (A B A B ...), so
a load change on a shared machine hits both alike; the median step time is reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import attnzoo


def _step(model: torch.nn.Module, opt: torch.optim.Optimizer, batch: dict) -> float:
    start = time.perf_counter()
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    F.cross_entropy(out["logits"], batch["labels"]).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--steps", type=int, default=6, help="timed steps per model (after one warm-up)")
    args = p.parse_args()

    torch.manual_seed(0)
    names = {"amsdff": "amsdff.minilm", "hf-encoder": "hf-encoder.minilm"}
    models = {
        k: attnzoo.create_model(n, num_classes=5, max_seq_len=args.length) for k, n in names.items()
    }
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-5) for k, m in models.items()}
    g = torch.Generator().manual_seed(0)
    batch = {
        "input_ids": torch.randint(1000, 30000, (args.batch_size, args.length), generator=g),
        "attention_mask": torch.ones(args.batch_size, args.length, dtype=torch.long),
        "labels": torch.randint(0, 5, (args.batch_size,), generator=g),
    }
    for k, m in models.items():
        m.train()
        _step(m, opts[k], batch)  # warm-up
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(args.steps):
        for k, m in models.items():
            times[k].append(_step(m, opts[k], batch))

    params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "device": f"cpu ({torch.get_num_threads()} threads, {platform.machine()})",
        "batch_size": args.batch_size,
        "length": args.length,
        "steps": args.steps,
        "models": names,
        "parameters": params,
        "extra_parameters": params["amsdff"] - params["hf-encoder"],
        "step_seconds": times,
        "median_step_seconds": median,
        "step_time_overhead": median["amsdff"] / median["hf-encoder"] - 1,
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {k: result[k] for k in ("parameters", "median_step_seconds", "step_time_overhead")},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
