"""Training memory and throughput of the baseline transformer: eager vs sdpa attention.

For each (sequence length, attention implementation) a fresh subprocess builds the
``transformer.base256`` model (width 256, 4 heads, 4 layers, MLP 1024, dropout 0.1, no
attention dropout), runs ``--warmup`` training steps (forward, cross-entropy, backward, AdamW
step) on random tokens, then ``--steps`` measured steps, and reports:

* peak memory of a training step above the steady state between steps (weights and AdamW
  state resident, gradients freed). On CUDA: ``torch.cuda.max_memory_allocated()`` minus the
  allocated memory before the measured steps. On CPU: the process's peak resident set
  (``ru_maxrss``, the kernel's high-water mark, so no sampling can miss the peak) minus the
  resident set before the measured steps. The worker runs with ``MALLOC_MMAP_THRESHOLD_=65536``
  so glibc returns every buffer over 64 KiB to the OS as soon as torch frees it; otherwise
  cached heap would hide part of a step's memory in the baseline.
* training throughput: samples/s from the median wall time of the measured steps, and the
  median CPU time per step (all threads), which is less sensitive to other load on the machine.

A config that passes the memory budget (resident set, polled by the parent) or the time budget
is stopped and reported as such. Usage::

    python benchmarks/bench_attention.py --device cpu --lengths 512 1024 2048 4096 --steps 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_RESULT = "BENCH_RESULT "


# ---------------------------------------------------------------------------------------
# worker: one config, one process
# ---------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(args: argparse.Namespace) -> dict:
    import gc
    import resource

    import torch

    from attnzoo_baselines.config import TransformerConfig
    from attnzoo_baselines.plugin import TRANSFORMER
    from attnzoo_baselines.transformer import TransformerClassifier

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    overrides = dict(TRANSFORMER.preset(args.preset).model)
    overrides.update(
        attn_impl=args.impl, max_seq_len=args.length, vocab_size=args.vocab_size, num_classes=4
    )
    model = TransformerClassifier(TransformerConfig(**overrides)).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(1, args.vocab_size, (args.batch_size, args.length), device=device)
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 4, (args.batch_size,), device=device)

    def step() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        loss = torch.nn.functional.cross_entropy(model(ids, mask)["logits"], labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0, time.process_time() - c0

    for _ in range(args.warmup):
        step()
    gc.collect()
    if device.type == "cuda":
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        base = _rss_bytes()
    wall: list[float] = []
    cpu: list[float] = []
    start = time.perf_counter()
    while len(wall) < args.steps and (
        not wall or time.perf_counter() - start < args.time_budget_s / 2
    ):
        w, c = step()
        wall.append(w)
        cpu.append(c)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        # ru_maxrss is the lifetime high-water mark; after a warm-up step with the same shapes it
        # is set by the measured steps (which also hold the AdamW state the warm-up created).
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    step_s = statistics.median(wall)
    return {
        "length": args.length,
        "impl": args.impl,
        "device": args.device,
        "peak_step_bytes": peak - base,
        "baseline_bytes": base,
        "step_s": step_s,
        "cpu_s": statistics.median(cpu),
        "samples_per_s": args.batch_size / step_s,
        "steps_measured": len(wall),
        "loadavg_1m": os.getloadavg()[0],
    }


# ---------------------------------------------------------------------------------------
# parent: fresh subprocess per config, budgets enforced from outside
# ---------------------------------------------------------------------------------------


def _child_rss(pid: int) -> int:
    """Current resident set of process ``pid`` in bytes (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_config(args: argparse.Namespace, length: int, impl: str) -> dict:
    cmd = [
        sys.executable, __file__, "--worker", "--impl", impl,
        "--length", str(length), "--device", args.device, "--batch-size", str(args.batch_size),
        "--steps", str(args.steps), "--warmup", str(args.warmup), "--preset", args.preset,
        "--vocab-size", str(args.vocab_size), "--time-budget-s", str(args.time_budget_s),
        "--threads", str(args.threads),
    ]  # fmt: skip
    env = dict(os.environ)
    if args.device == "cpu":
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    budget = int(args.mem_budget_gb * 2**30)
    # Output goes to temporary files, not pipes: a chatty child can never block on a full pipe.
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True, env=env)
        start, max_rss, stopped = time.perf_counter(), 0, None
        while proc.poll() is None:
            max_rss = max(max_rss, _child_rss(proc.pid))
            if args.device == "cpu" and max_rss > budget:
                stopped = f"stopped: RSS > {args.mem_budget_gb:g} GiB"
            elif time.perf_counter() - start > args.time_budget_s:
                stopped = f"stopped: > {args.time_budget_s:g} s"
            if stopped:
                proc.kill()
                proc.wait()
                return {"length": length, "impl": impl, "error": stopped}
            time.sleep(0.02)
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    for line in stdout.splitlines():
        if line.startswith(_RESULT):
            return json.loads(line[len(_RESULT) :])
    tail = (stderr.strip().splitlines() or ["no output"])[-1]
    if "OutOfMemory" in stderr or "out of memory" in stderr:
        tail = "out of memory"
    return {"length": length, "impl": impl, "error": f"failed: {tail}"}


def _fmt_mem(row: dict) -> str:
    if "error" in row:
        return row["error"]
    return f"{row['peak_step_bytes'] / 2**20:,.0f} MiB"


def _fmt_speed(row: dict) -> str:
    if "error" in row:
        return row["error"]
    return f"{row['samples_per_s']:.2f} ({row['step_s']:.2f} s/step, n={row['steps_measured']})"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    p.add_argument("--impls", nargs="+", default=["eager", "sdpa"], choices=["eager", "sdpa"])
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=5, help="measured steps (median time)")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured steps first")
    p.add_argument("--preset", default="base256", help="transformer preset")
    p.add_argument("--vocab-size", type=int, default=16000)
    p.add_argument(
        "--mem-budget-gb", type=float, default=12.0, help="CPU: stop a config above this RSS"
    )
    p.add_argument(
        "--time-budget-s", type=float, default=600.0, help="stop a config after this long"
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", type=Path, help="also write the rows here")
    # worker-only
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--impl", help=argparse.SUPPRESS)
    p.add_argument("--length", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        print(_RESULT + json.dumps(worker(args)), flush=True)
        return

    import torch

    threads = args.threads or torch.get_num_threads()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    print(
        f"transformer.{args.preset}, batch {args.batch_size}, device {args.device}, torch "
        f"{torch.__version__}, {threads} threads, {os.cpu_count()} CPUs",
        flush=True,
    )
    rows = []
    for length in args.lengths:
        for impl in args.impls:
            row = run_config(args, length, impl)
            rows.append(row)
            summary = row["error"] if "error" in row else f"{_fmt_mem(row)}, {_fmt_speed(row)}"
            print(f"  L={length:>5} {impl:>5}: {summary}", flush=True)
    print(
        "\n| length | impl | peak training-step memory | samples/s (wall) | CPU s/step "
        "| samples per CPU-second |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    for r in rows:
        cpu = f"{r['cpu_s']:.1f} | {args.batch_size / r['cpu_s']:.2f}" if "cpu_s" in r else "- | -"
        print(f"| {r['length']} | {r['impl']} | {_fmt_mem(r)} | {_fmt_speed(r)} | {cpu} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
