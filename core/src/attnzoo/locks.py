"""An exclusive lock on a run folder, so two processes never train into the same run.

``fcntl.flock`` on ``<run>/.lock``: the kernel drops the lock when the holder exits (even by
``kill -9``), so a lock is never stale. The file records who holds it, for the error message.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from attnzoo.errors import RunInUseError

LOCK_NAME = ".lock"

# locks this process holds, by folder: a run left unreleased by an earlier failed call in the
# same process (a notebook) is taken over instead of blocking its own retry
_HELD: dict[str, RunLock] = {}


class RunLock:
    """Hold ``directory/.lock`` exclusively; :meth:`release` (or process exit) frees it."""

    def __init__(self, directory: Path, fh: IO[str], key: str) -> None:
        self.directory = directory
        self._fh: IO[str] | None = fh
        self._key = key

    @classmethod
    def acquire(cls, directory: str | Path) -> RunLock:
        directory = Path(directory)
        key = str(directory.resolve())
        held = _HELD.pop(key, None)
        if held is not None:
            held.release()
        path = directory / LOCK_NAME
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        try:
            _lock(fh)
        except BlockingIOError:
            fh.seek(0)
            holder = _describe(fh.read())
            fh.close()
            raise RunInUseError(
                f"Run folder {directory} is in use by {holder}. Wait for it to finish or stop it "
                f"before starting or resuming this run again."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200],
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
        )
        fh.flush()
        lock = cls(directory, fh, key)
        _HELD[key] = lock
        return lock

    def release(self) -> None:
        if self._fh is None:
            return
        if _HELD.get(self._key) is self:
            del _HELD[self._key]
        self._fh.close()  # closing the descriptor drops the flock
        self._fh = None


def holder_of(directory: str | Path) -> dict[str, Any] | None:
    """Who holds the lock of ``directory`` (as recorded), or None when nobody does."""
    path = Path(directory) / LOCK_NAME
    if not path.exists():
        return None
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            _lock(fh)
        except BlockingIOError:
            fh.seek(0)
            try:
                info: dict[str, Any] = json.loads(fh.read() or "{}")
            except json.JSONDecodeError:
                info = {}
            return info
        _unlock(fh)
    return None


def _describe(text: str) -> str:
    try:
        info = json.loads(text or "{}")
    except json.JSONDecodeError:
        info = {}
    if not info.get("pid"):
        return "another process"
    command = f" ({info['command']})" if info.get("command") else ""
    since = f", since {info['since']}" if info.get("since") else ""
    return f"process {info['pid']}{command}{since}"


if sys.platform == "win32":  # pragma: no cover
    import msvcrt

    def _lock(fh: IO[str]) -> None:
        fh.seek(0)
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            raise BlockingIOError from None

    def _unlock(fh: IO[str]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
