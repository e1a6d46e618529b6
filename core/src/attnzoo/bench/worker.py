"""The benchmark's child process: ``python -m attnzoo.bench.worker JOB.json``.

A job is either a matrix cell (``kind: train``: train through ``attnzoo.train``, then time
inference on the test split) or a scaling point (``kind: scaling``: a few training steps on
random tokens of one length). The worker writes its measurements to ``job["result_path"]``;
the parent adds what only it can see (peak RSS, wall time, exit code).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata as md
import json
import logging
import os
import platform
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.io import atomic_write_json

logger = logging.getLogger("attnzoo.bench.worker")

_RSS_UNIT = 1024 if sys.platform.startswith("linux") else 1


def rss_peak_mb() -> float:
    """This process's own peak resident set size so far (MiB).

    On Linux, ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` (the fallback elsewhere) keeps
    the high-water mark of the process that spawned this one across fork + exec, so a cell
    started from a large parent (a notebook, pytest with torch loaded) would report the
    parent's memory."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RSS_UNIT / 2**20


def register_forwarded_plugins(plugins: list[dict[str, str]]) -> None:
    """Register plugins that the parent had registered by hand (tests, notebooks)."""
    if not plugins:
        return
    from attnzoo.plugins import get_host

    for p in plugins:
        if p.get("path") and p["path"] not in sys.path:
            sys.path.insert(0, p["path"])
        get_host().register(
            importlib.import_module(p["module"]), p["name"], p.get("distribution", "")
        )


# ---------------------------------------------------------------------------------------
# Environment: device and versions
# ---------------------------------------------------------------------------------------


def cuda_available() -> bool:
    return "torch" in sys.modules and sys.modules["torch"].cuda.is_available()


def tf_gpus() -> list[Any]:
    tf = sys.modules.get("tensorflow")
    return tf.config.list_physical_devices("GPU") if tf is not None else []


def describe_device() -> str:
    if cuda_available():
        return f"cuda ({sys.modules['torch'].cuda.get_device_name(0)})"
    if tf_gpus():
        return f"gpu ({tf_gpus()[0].name})"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


def versions(plugin: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("attnzoo-core", plugin, "numpy", "torch", "tensorflow", "keras", "transformers"):
        if not dist or dist in out:
            continue
        if dist in ("torch", "tensorflow", "keras", "transformers") and dist not in sys.modules:
            continue  # only the frameworks the run actually used
        with contextlib.suppress(md.PackageNotFoundError):
            out[dist] = md.version(dist)
    return out


def gpu_peak_mb(reset: bool = False) -> float | None:
    """Peak accelerator memory allocated by this process (MiB), or None on a CPU."""
    if cuda_available():
        torch = sys.modules["torch"]
        if reset:
            torch.cuda.reset_peak_memory_stats()
        return float(torch.cuda.max_memory_allocated()) / 2**20
    if tf_gpus():
        tf = sys.modules["tensorflow"]
        if reset:
            tf.config.experimental.reset_memory_stats("GPU:0")
        return float(tf.config.experimental.get_memory_info("GPU:0")["peak"]) / 2**20
    return None


# ---------------------------------------------------------------------------------------
# Matrix cells
# ---------------------------------------------------------------------------------------


def run_train_cell(job: dict[str, Any]) -> dict[str, Any]:
    import attnzoo
    from attnzoo.api import coerce_run_config, get_backend
    from attnzoo.registry import get_model_spec

    cfg = coerce_run_config(job["run_config"])
    spec = get_model_spec(cfg.model)
    get_backend(spec.framework)  # import the framework first: the baseline includes its runtime
    baseline_rss = rss_peak_mb()
    gpu_peak_mb(reset=True)
    result = attnzoo.train(cfg, overwrite=True)
    gpu_peak = gpu_peak_mb()
    latency = measure_latency(
        result["run_dir"], job.get("latency_batch_size", 32), job.get("latency_batches", 20)
    )
    return {
        "status": "ok",
        "test": result["test"],
        "val": result["val"],
        "best_epoch": result["best_epoch"],
        "stop_reason": result["stop_reason"],
        "num_parameters": result["num_parameters"],
        "samples_per_s": result["samples_per_s"],
        "tokens_per_s": result["tokens_per_s"],
        "train_seconds": result["train_seconds"],
        "num_examples": result["num_examples"],
        "run_dir": result["run_dir"],
        **latency,
        "gpu_peak_mb": gpu_peak,
        "baseline_rss_mb": baseline_rss,
        "peak_rss_mb_child": rss_peak_mb(),  # the cell's own peak (see rss_peak_mb)
        "device": describe_device(),
        "framework": spec.framework,
        "versions": versions(spec.plugin),
    }


def measure_latency(run_dir: str, batch_size: int, max_batches: int) -> dict[str, Any]:
    """Median wall time of ``predict_proba`` on one test batch of the saved best model.

    One warm-up batch is not timed; batches are padded to their own longest sequence, as in
    evaluation.
    """
    import attnzoo
    from attnzoo.api import prepare_dataset
    from attnzoo.data.prepare import encoded_batches
    from attnzoo.runs import load_run_config

    loaded = attnzoo.load_model(run_dir)
    cfg = load_run_config(run_dir)
    ds = prepare_dataset(cfg)
    table = ds.splits["test"]
    n = min(len(table), batch_size * (max_batches + 1))
    enc = loaded.processor.encode(table.select(range(n)), label_column=None)
    batches = list(encoded_batches(loaded.processor, enc, batch_size))
    if cuda_available() and hasattr(loaded.model, "to"):
        loaded.model.to("cuda")  # torch backends predict on the model's own device
    predict = loaded.backend.predict_proba
    predict(loaded.model, batches[:1])  # warm-up (lazy init, graph tracing, allocator)
    timed = batches[1:] or batches
    times = []
    for batch in timed:
        t0 = time.perf_counter()
        predict(loaded.model, [batch])  # returns numpy: the device has finished
        times.append(time.perf_counter() - t0)
    return {
        "latency_ms_per_batch": 1000 * float(np.median(times)),
        "latency_batch_size": batch_size,
        "latency_batches": len(times),
    }


# ---------------------------------------------------------------------------------------
# Scaling points
# ---------------------------------------------------------------------------------------


class BudgetExceeded(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def run_scaling_point(job: dict[str, Any]) -> dict[str, Any]:
    """Training steps on random tokens at one sequence length: time per step and peak memory.

    The memory figure is what the steps add on top of the resting model: the baseline is
    taken after one step at a short length, so weights, gradients and optimizer state are
    already in it.
    """
    from attnzoo.api import get_backend
    from attnzoo.bench.steps import make_stepper
    from attnzoo.registry import get_model_spec

    name, length, batch = job["model"], int(job["length"]), int(job["batch_size"])
    spec = get_model_spec(name)
    get_backend(spec.framework)
    Path(job["started_path"]).touch()  # the parent's time budget counts from here
    budgets = _Budgets(job.get("time_budget"), job.get("memory_budget_mb"))
    model, sizes = _scaling_model(job, spec, length)
    stepper = make_stepper(spec.framework, model)
    batches = _RandomBatches(batch, sizes["vocab_size"], sizes["num_classes"])
    try:
        stepper.step(batches.make(min(length, 16)))  # materialise grads and optimizer state
    except Exception:  # a model with a fixed length: the baseline then excludes them
        logger.info(
            "short warm-up step failed; the memory baseline excludes optimizer state", exc_info=True
        )
    budgets.check()
    base_rss = rss_peak_mb()
    base_gpu = gpu_peak_mb(reset=True)  # right after a reset, the peak is what is allocated now
    warmup = int(job.get("warmup", 1))
    times = _timed_steps(stepper, batches.make(length), warmup, int(job.get("steps", 3)), budgets)
    step_s = float(np.median(times))
    gpu_peak = gpu_peak_mb()
    if gpu_peak is not None and base_gpu is not None:
        memory, kind = gpu_peak - base_gpu, "accelerator peak allocated above resting"
    else:
        memory, kind = rss_peak_mb() - base_rss, "peak RSS above baseline"
    return {
        "status": "ok",
        "seconds_per_step": step_s,
        "seconds_per_sample": step_s / batch,
        "samples_per_s": batch / step_s,
        "tokens_per_s": batch * length / step_s,
        "memory_mb": memory,
        "memory_kind": kind,
        "peak_rss_mb_child": rss_peak_mb(),
        "gpu_peak_mb": gpu_peak,
        "num_parameters": get_backend(spec.framework).num_parameters(model),
        "device": describe_device(),
        "framework": spec.framework,
    }


def _scaling_model(job: dict[str, Any], spec: Any, length: int) -> tuple[Any, dict[str, int]]:
    """The model built for ``length`` tokens, and the sizes the random batches use."""
    import attnzoo

    sizes = {
        "vocab_size": job.get("vocab_size", 1000),
        "num_classes": job.get("num_classes", 2),
        "max_seq_len": length,
        "pad_token_id": 0,
    }
    fields = spec.load_config_class().model_fields
    model = attnzoo.create_model(job["model"], **{k: v for k, v in sizes.items() if k in fields})
    return model, sizes


class _RandomBatches:
    """Random token batches (seeded once: the warm-up batch, then the timed one)."""

    def __init__(self, batch: int, vocab_size: int, num_classes: int) -> None:
        self.rng = np.random.default_rng(0)
        self.batch, self.vocab_size, self.num_classes = batch, vocab_size, num_classes

    def make(self, n_tokens: int) -> dict[str, np.ndarray]:
        ids = self.rng.integers(2, self.vocab_size, size=(self.batch, n_tokens))
        return {
            "input_ids": ids.astype(np.int64),
            "attention_mask": np.ones((self.batch, n_tokens), dtype=np.int64),
            "labels": self.rng.integers(0, self.num_classes, size=(self.batch,)).astype(np.int64),
        }


class _Budgets:
    """The point's time budget (from its start) and memory budget (peak so far)."""

    def __init__(self, seconds: float | None, memory_mb: float | None) -> None:
        self.t_start = time.perf_counter()
        self.seconds, self.memory_mb = seconds, memory_mb

    def check(self) -> None:
        if self.seconds is not None and time.perf_counter() - self.t_start > self.seconds:
            raise BudgetExceeded("time budget")
        gpu = gpu_peak_mb()
        peak = gpu if gpu is not None else rss_peak_mb()
        if self.memory_mb is not None and peak > self.memory_mb:
            raise BudgetExceeded("memory budget")


def _timed_steps(
    stepper: Any, data: dict[str, np.ndarray], warmup: int, steps: int, budgets: _Budgets
) -> list[float]:
    """Seconds of each step after ``warmup`` untimed ones, checking the budgets after each."""
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        stepper.step(data)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
        budgets.check()
    return times


# ---------------------------------------------------------------------------------------


_KINDS = {"train": run_train_cell, "scaling": run_scaling_point}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: python -m attnzoo.bench.worker JOB.json\n")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    job = json.loads(Path(argv[0]).read_text())
    _die_with_parent(job.get("parent_pid"))
    code = 0
    try:
        register_forwarded_plugins(job.get("plugins", []))
        result = _KINDS[job["kind"]](job)
    except BudgetExceeded as exc:
        result, code = (
            {
                "status": "timeout" if exc.what == "time budget" else "memory",
                "error": f"exceeded the {exc.what}",
            },
            3,
        )
    except Exception as exc:
        oom = _is_oom(exc)
        result = {
            "status": "memory" if oom else "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
        code = 3 if oom else 1
        traceback.print_exc()
    atomic_write_json(job["result_path"], result)
    return code


def _die_with_parent(parent_pid: int | None) -> None:
    """Exit when the benchmark process dies (even by SIGKILL), so no orphan keeps training."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before prctl
        sys.exit(1)


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return "ResourceExhaustedError" in type(exc).__name__ or "out of memory" in str(exc).lower()


if __name__ == "__main__":
    sys.exit(main())
