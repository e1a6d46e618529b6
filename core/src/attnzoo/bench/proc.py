"""Run one worker in a child process and measure it from outside.

The child is reaped with ``os.wait4``, whose rusage gives the child's peak resident set size
(``ru_maxrss``, KiB on Linux) with no sampling gap, but on Linux that peak starts from the
parent's high-water mark at the fork, so workers also report their own ``VmHWM``
(:func:`attnzoo.bench.worker.rss_peak_mb`), which the records prefer. A time budget
(counted from a "started" marker file the child writes once its imports are done, so the
framework's import time is not charged) and a memory budget (the child's RSS, sampled) kill
the child when exceeded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_POLL_S = 0.05
_RSS_UNIT = (
    1024 if sys.platform.startswith("linux") else 1
)  # ru_maxrss: KiB on Linux, bytes on macOS


@dataclass
class ChildResult:
    returncode: int | None
    wall_seconds: float
    peak_rss_mb: float | None
    cpu_seconds: float | None = None  # user + system time of the child (robust to a busy machine)
    killed: str | None = None  # "time budget" | "memory budget" | None


def run_worker(
    job: dict[str, Any],
    job_path: Path,
    log_path: Path,
    *,
    started_path: Path | None = None,
    time_budget: float | None = None,
    startup_limit: float = 600.0,
    memory_budget_mb: float | None = None,
    on_poll: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> ChildResult:
    """Write ``job`` to ``job_path``, run ``python -m attnzoo.bench.worker job_path``, reap it.

    Output (stdout and stderr) goes to ``log_path``. Without ``started_path`` the time budget
    counts from the launch.
    """
    from attnzoo.io import atomic_write_json

    atomic_write_json(job_path, {**job, "parent_pid": os.getpid()})
    if started_path is not None:
        started_path.unlink(missing_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "attnzoo.bench.worker", str(job_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            return _watch(
                proc, t0, started_path, time_budget, startup_limit, memory_budget_mb, on_poll
            )
        except BaseException:
            _kill(proc)
            raise


def _watch(
    proc: subprocess.Popen[bytes],
    t0: float,
    started_path: Path | None,
    time_budget: float | None,
    startup_limit: float,
    memory_budget_mb: float | None,
    on_poll: Callable[[], None] | None,
) -> ChildResult:
    started_at = None if started_path is not None else t0
    killed: str | None = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            rss = usage.ru_maxrss * _RSS_UNIT / 2**20
            return ChildResult(
                proc.returncode,
                time.perf_counter() - t0,
                rss,
                usage.ru_utime + usage.ru_stime,
                killed,
            )
        now = time.perf_counter()
        if started_at is None and started_path is not None and started_path.exists():
            started_at = now
        if killed is None:
            over_time = (
                time_budget is not None
                and started_at is not None
                and now - started_at > time_budget
            )
            if over_time or (started_at is None and now - t0 > startup_limit):
                killed = "time budget"
            elif memory_budget_mb is not None and _rss_mb(proc.pid) > memory_budget_mb:
                killed = "memory budget"
            if killed:
                _signal(proc, signal.SIGKILL)
        if on_poll is not None:
            on_poll()
        time.sleep(_POLL_S)


def _rss_mb(pid: int) -> float:
    import psutil

    try:
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except psutil.Error:
        return 0.0


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the child leads its own session: its helpers go too


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.returncode is None:
        _signal(proc, signal.SIGKILL)
        try:
            os.wait4(proc.pid, 0)
            proc.returncode = -9
        except ChildProcessError:
            pass


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def log_tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""
