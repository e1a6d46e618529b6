"""Speed and activation memory of one attention layer against sequence length: linear vs softmax.

    python packages/dsp/benchmarks/bench_attention.py                       # 256 .. 16384, CPU
    python packages/dsp/benchmarks/bench_attention.py --lengths 256,1024 --device cuda

For each length N, one layer (width C, h heads, batch B) runs a training step on random input:
forward, a scalar loss, backward. Reported: the median seconds of ``--reps`` steps after one
warm-up; ``saved MiB``, the distinct storages autograd keeps for the backward pass (counted
with ``saved_tensors_hooks``, so it is deterministic and excludes weights); on CUDA also the
peak allocated memory of the step. Layers: PolaFormer (``pola``), DSP-Attention with the
linear context (``dsp``), softmax attention through torch's fused ``sdpa`` and the textbook
``eager`` form that materialises the (B, h, N, N) matrix. A layer stops at the first length
whose step exceeds ``--time-budget`` seconds or whose eager score matrix would exceed
``--memory-budget`` MiB. Writes CSV and a Markdown table (with log-log growth exponents).
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from attnzoo_dsp.dsp_layers import DSPAttention
from attnzoo_dsp.layers import PolaLinearAttention


class SoftmaxAttention(nn.Module):
    """qkv projection, multi-head softmax attention (sdpa or eager), output projection."""

    def __init__(self, dim: int, heads: int, impl: str) -> None:
        super().__init__()
        self.heads, self.impl = heads, impl
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.impl == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(c // self.heads)  # (B, h, N, N)
            y = scores.softmax(-1) @ v
        return self.out(y.transpose(1, 2).reshape(b, n, c))


def build(kind: str, dim: int, heads: int, n: int) -> nn.Module:
    if kind == "pola":
        return PolaLinearAttention(dim, heads, n)
    if kind == "dsp":
        return DSPAttention(dim, heads, context="mean")
    return SoftmaxAttention(dim, heads, kind)


def saved_mib(fn) -> float:  # type: ignore[no-untyped-def]
    """MiB of the distinct storages autograd saves while ``fn()`` builds the graph."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    out.square().mean().backward()
    return sum(storages.values()) / 2**20


def step_seconds(layer: nn.Module, x: torch.Tensor, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    layer(x).square().mean().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def measure(kind: str, n: int, args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    layer = build(kind, args.dim, args.heads, n).to(args.device)
    x = torch.randn(args.batch, n, args.dim, device=args.device, requires_grad=True)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    saved = saved_mib(lambda: layer(x))  # also the warm-up step
    times = [step_seconds(layer, x, args.device) for _ in range(args.reps)]
    row = {"layer": kind, "length": n, "seconds": statistics.median(times), "saved_mib": saved}
    if args.device == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def exponent(rows: list[dict], key: str) -> float | None:
    pts = [(r["length"], r[key]) for r in rows if r.get(key)]
    if len(pts) < 2:
        return None
    return float(np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0])


def crossover(rows: list[dict], kind: str, ref: str) -> int | None:
    """Shortest length from which ``kind`` is faster than ``ref`` at every measured length."""
    t = {(r["layer"], r["length"]): r["seconds"] for r in rows}
    common = sorted(n for (k, n) in t if k == kind and (ref, n) in t)
    for i, n in enumerate(common):
        if all(t[(kind, m)] < t[(ref, m)] for m in common[i:]):
            return n
    return None


def markdown(rows: list[dict], args: argparse.Namespace, kinds: list[str]) -> str:
    lengths = sorted({r["length"] for r in rows})
    by = {(r["layer"], r["length"]): r for r in rows}
    mem = "peak_mib" if args.device == "cuda" else "saved_mib"
    head = f"| length | {' | '.join(kinds)} |"
    lines = [
        f"One attention layer, C {args.dim}, {args.heads} heads, batch {args.batch}, training step "
        f"(forward + backward), median of {args.reps}; device {args.device_name}.",
        f"Cells: ms per step ({mem.replace('_mib', '')} MiB); '-' = not run (over a budget).",
        "",
        head,
        "|---:|" + "---:|" * len(kinds),
    ]
    for n in lengths:
        cells = []
        for k in kinds:
            r = by.get((k, n))
            cells.append("-" if r is None else f"{1000 * r['seconds']:,.0f} ({r[mem]:,.1f})")
        lines.append(f"| {n:,} | {' | '.join(cells)} |")
    lines += [
        "",
        "| layer | time exponent | memory exponent | faster than sdpa from |",
        "|---|---:|---:|---:|",
    ]
    for k in kinds:
        mine = [r for r in rows if r["layer"] == k]
        te, me = exponent(mine, "seconds"), exponent(mine, mem)
        cross = crossover(rows, k, "sdpa") if k != "sdpa" else None
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        lines.append(f"| {k} | {fmt(te)} | {fmt(me)} | {cross if cross else '-'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lengths", default="256,512,1024,2048,4096,8192,16384")
    ap.add_argument("--layers", default="pola,dsp,sdpa,eager")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--time-budget", type=float, default=30.0, help="seconds per step")
    ap.add_argument("--memory-budget", type=float, default=8000.0, help="MiB (eager N x N matrix)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "results")
    args = ap.parse_args()
    args.device_name = (
        torch.cuda.get_device_name()
        if args.device == "cuda"
        else f"cpu ({torch.get_num_threads()} threads, {platform.machine()})"
    )
    kinds = args.layers.split(",")
    rows: list[dict] = []
    stopped: set[str] = set()
    for n in (int(v) for v in args.lengths.split(",")):
        for kind in kinds:
            scores_mib = 4 * args.batch * args.heads * n * n * 4 / 2**20  # scores, probs + grads
            if kind in stopped or (kind == "eager" and scores_mib > args.memory_budget):
                continue
            row = measure(kind, n, args)
            rows.append(row)
            print(
                f"{kind:6s} N={n:6d}  {1000 * row['seconds']:9.1f} ms  saved {row['saved_mib']:8.1f} MiB",
                flush=True,
            )
            if row["seconds"] > args.time_budget:
                stopped.add(kind)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "cuda" if args.device == "cuda" else "cpu"
    with (args.out / f"attention_scaling_{tag}.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
        w.writeheader()
        w.writerows(rows)
    table = markdown(rows, args, kinds)
    (args.out / f"attention_scaling_{tag}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
