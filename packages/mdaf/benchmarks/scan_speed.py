"""Forward+backward time of the PyTorch selective scans (and mamba-ssm's kernel on CUDA).

    uv run python packages/mdaf/benchmarks/scan_speed.py   # -> benchmarks/results/scan_speed_<device>.json

Median of ``--repeats`` runs per history length, batch 32, 128 channels, 16 states, one CPU thread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from attnzoo_mdaf.scan import mamba_ssm_available, selective_scan


def _inputs(batch: int, length: int, channels: int, n: int, device: str) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, length, channels, generator=g)
    delta = torch.nn.functional.softplus(torch.randn(batch, length, channels, generator=g))
    A = -torch.arange(1.0, n + 1).repeat(channels, 1)
    B = torch.randn(batch, length, n, generator=g)
    C = torch.randn(batch, length, n, generator=g)
    D = torch.ones(channels)
    return [t.to(device).requires_grad_() for t in (x, delta, A, B, C, D)]


def _time(impl: str, args: list[torch.Tensor], repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        if args[0].is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        selective_scan(*args, impl=impl).sum().backward()
        if args[0].is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--states", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ns = parser.parse_args()
    torch.set_num_threads(1)
    impls = ["sequential", "chunked"] + (
        ["cuda"] if ns.device == "cuda" and mamba_ssm_available() else []
    )
    rows = []
    for length in ns.lengths:
        args = _inputs(ns.batch, length, ns.channels, ns.states, ns.device)
        row: dict[str, float | int] = {"length": length}
        for impl in impls:
            row[f"{impl}_s"] = round(_time(impl, args, ns.repeats), 4)
        row["speedup_chunked_over_sequential"] = round(row["sequential_s"] / row["chunked_s"], 2)
        rows.append(row)
        print(row, flush=True)
    device = (
        torch.cuda.get_device_name()
        if ns.device == "cuda"
        else f"cpu ({os.cpu_count()} cores, {platform.machine()}), 1 thread"
    )
    out = Path(__file__).parent / "results" / f"scan_speed_{ns.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "what": "selective scan forward+backward, median seconds",
                "device": device,
                "torch": torch.__version__,
                "batch": ns.batch,
                "channels": ns.channels,
                "states": ns.states,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
