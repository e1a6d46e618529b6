"""Speed and peak training memory of the diffusion classifier: fused/recompute vs the seed-style reference.

Usage::

    python benchmarks/bench_diffusion.py                 # CPU, D 256, T 4, batch 8, length 4096
    python benchmarks/bench_diffusion.py --device cuda
    python benchmarks/bench_diffusion.py --length 1024 --steps 3   # quicker
    python benchmarks/bench_diffusion.py --rounds 3 --out results/fused-vs-reference-cpu.json

Every configuration runs in a fresh subprocess (``--worker``), so allocator caches and peaks of
one configuration never leak into another; configurations are run ``--rounds`` times, interleaved,
and medians are reported (a shared machine's background load then hits every one alike). A training step is forward + cross-entropy + backward
+ AdamW step; the time is the median over ``--steps`` steps after ``--warmup`` steps.

Memory, measured two ways:

* ``peak MiB``: on CPU, the rise of the process's peak resident set (VmHWM in /proc/self/status)
  during the timed steps above the resident set just before them. The peak is reset with
  ``/proc/self/clear_refs`` after the warm-up, so weights, gradients, AdamW state and inputs
  (allocated in warm-up) are excluded and the number is the transient training memory:
  activations saved for backward plus the largest temporaries. On CUDA:
  ``torch.cuda.max_memory_allocated`` minus the allocated memory before the step.
* ``saved MiB``: bytes of distinct storages that autograd saves for the backward pass
  (``torch.autograd.graph.saved_tensors_hooks``), i.e. activation memory, exact and
  allocator-independent. With recompute only the checkpoint inputs are counted (the tensors
  re-saved during the backward recomputation exist one step at a time).

Before timing, the script checks that fused and reference give the same eval-mode outputs and
hidden states from the same weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CONFIGS = {
    "reference": {"fused": False, "recompute": False},
    "reference+recompute": {"fused": False, "recompute": True},
    "fused": {"fused": True, "recompute": False},
    "fused+recompute": {"fused": True, "recompute": True},
}


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _build(args: argparse.Namespace, overrides: dict, device: str):
    import torch

    from attnzoo_diffusion.config import DiffusionConfig
    from attnzoo_diffusion.model import DiffusionClassifier

    torch.manual_seed(0)
    cfg = DiffusionConfig(
        vocab_size=args.vocab,
        num_classes=4,
        d_model=args.d_model,
        num_iters=args.iters,
        max_seq_len=args.length,
        **overrides,
    )
    model = DiffusionClassifier(cfg).to(device)
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, args.vocab, (args.batch, args.length), generator=gen).to(device)
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 4, (args.batch,), generator=gen).to(device)
    return model, ids, mask, labels


def worker(args: argparse.Namespace) -> None:
    import torch

    device = args.device
    model, ids, mask, labels = _build(args, CONFIGS[args.worker], device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)

    def step() -> None:
        opt.zero_grad(set_to_none=False)
        loss = torch.nn.functional.cross_entropy(model(ids, mask)["logits"], labels)
        loss.backward()
        opt.step()

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()

    # activation bytes saved for backward (distinct storages)
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        seen[st.data_ptr()] = max(seen.get(st.data_ptr(), 0), st.nbytes())
        return t

    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.cross_entropy(model(ids, mask)["logits"], labels)
    saved = sum(n for ptr, n in seen.items() if ptr not in params)
    del loss
    opt.zero_grad(set_to_none=False)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = _rss_kib("VmRSS") * 1024
    times = []
    for _ in range(args.steps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else _rss_kib("VmHWM") * 1024
    print(
        json.dumps(
            {
                "time_s": statistics.median(times),
                "peak_mib": (peak - base) / 2**20,
                "saved_mib": saved / 2**20,
            }
        )
    )


def check_outputs(args: argparse.Namespace) -> dict:
    import torch

    model, ids, mask, _ = _build(args, {"fused": True}, args.device)
    model.eval()
    with torch.no_grad():
        h_fused = model.hidden_states(ids, mask)
        y_fused = model(ids, mask)["logits"]
        model.config.fused = False
        h_ref = model.hidden_states(ids, mask)
        y_ref = model(ids, mask)["logits"]
    return {
        "hidden_max_abs_diff": (h_fused - h_ref).abs().max().item(),
        "logits_max_abs_diff": (y_fused - y_ref).abs().max().item(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--iters", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--length", type=int, default=4096)
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="run every config this many times, interleaved; report medians",
    )
    p.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help="comma-separated subset of " + ", ".join(CONFIGS),
    )
    p.add_argument(
        "--out",
        default=None,
        help="also write the settings, every round and the table as JSON here",
    )
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return

    import torch

    print(
        f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"D={args.d_model} T={args.iters} B={args.batch} L={args.length} V={args.vocab}"
    )
    outputs = check_outputs(args)
    print("fused vs reference, eval mode, same weights:", json.dumps(outputs))
    passthrough = _without_out(sys.argv[1:])
    runs: dict[str, list[dict]] = {}
    for _ in range(
        args.rounds
    ):  # interleaved, so load from other processes hits every config alike
        for name in args.configs.split(","):
            out = subprocess.run(
                [sys.executable, __file__, *passthrough, "--worker", name],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"{name}: failed\n{out.stderr[-2000:]}")
                continue
            runs.setdefault(name, []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    results = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()
    }
    print(
        "per-round step times (s):",
        json.dumps({n: [round(r["time_s"], 3) for r in rs] for n, rs in runs.items()}),
    )
    ref = results.get("reference")
    table = []
    for name, r in results.items():
        row = {"config": name, **r}
        if ref:
            row["speedup"] = ref["time_s"] / r["time_s"]
            row["peak_x_lower"] = ref["peak_mib"] / r["peak_mib"] if r["peak_mib"] > 0 else None
            row["saved_x_lower"] = ref["saved_mib"] / r["saved_mib"] if r["saved_mib"] > 0 else None
        table.append(row)
    print(
        f"\n{'config':<22}{'step s':>9}{'speedup':>9}{'peak MiB':>10}{'peak x':>8}{'saved MiB':>11}{'saved x':>9}"
    )
    nan = float("nan")
    for row in table:
        print(
            f"{row['config']:<22}{row['time_s']:>9.3f}{row.get('speedup', nan):>9.2f}"
            f"{row['peak_mib']:>10.0f}{row.get('peak_x_lower') or nan:>8.2f}"
            f"{row['saved_mib']:>11.0f}{row.get('saved_x_lower') or nan:>9.2f}"
        )
    if args.out:
        import os
        import platform

        record = {
            "command": "python benchmarks/bench_diffusion.py " + " ".join(sys.argv[1:]),
            "device": f"{args.device} ({os.cpu_count()} cores, {platform.machine()})"
            if args.device == "cpu"
            else torch.cuda.get_device_name(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "load_average": os.getloadavg(),
            "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "out")},
            "fused_vs_reference_eval": outputs,
            "rounds": runs,
            "table": table,
        }
        with open(args.out, "w") as f:
            json.dump(record, f, indent=2)
        print(f"wrote {args.out}")


def _without_out(argv: list[str]) -> list[str]:
    """The command line minus ``--out PATH`` (workers only print)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append(a)
    return out


if __name__ == "__main__":
    main()
