"""Atomic file writes: write to a temporary name in the same folder, fsync, then rename.

A crash therefore never leaves a half-written file under its final name.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attnzoo.errors import DiskFullError


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(
        path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n"
    )


def atomic_write(path: str | Path, writer: Callable[[str], Any], *, suffix: str = ".tmp") -> Path:
    """Call ``writer(tmp_path)`` then move the temp file onto ``path`` (``suffix``: of the temp name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        full = disk_full(exc, path.parent)
        Path(tmp).unlink(missing_ok=True)
        if full:
            raise DiskFullError(_disk_full_message(path)) from exc
        raise
    return path


def atomic_dir(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Write a whole folder: ``writer(tmp_dir)``, then swap it in place of ``path``.

    The old folder (if any) is moved aside first and deleted only after the new one is in
    place, so at every moment either the old or the new folder is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        writer(tmp)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        full = disk_full(exc, path.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        if full:
            raise DiskFullError(_disk_full_message(path)) from exc
        raise
    return path


_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
# how libraries that do their own I/O report ENOSPC: safetensors (Rust), h5py, C++ streams
_FULL_WORDS = ("no space left", "storagefull", "disk quota", "errno = 28", "error code 28")
_LOW_SPACE = 1 << 20  # bytes: below this, a write error that gives no reason means "disk full"


def disk_full(exc: BaseException, where: Path) -> bool:
    """Whether ``exc`` (raised while writing into ``where``) means the disk is full."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return True
        if any(w in str(e).lower() for w in _FULL_WORDS):
            return True
    if isinstance(exc, Exception) and not isinstance(exc, DiskFullError):
        try:  # e.g. torch/TF's "basic_ios::clear: iostream error" says nothing about why
            return shutil.disk_usage(where).free < _LOW_SPACE
        except OSError:
            return False
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(out) < 8:
        out.append(e)
        e = e.__cause__ or e.__context__
    return out


def _disk_full_message(path: Path) -> str:
    return (
        f"Disk full at {path}: nothing was written there (the previous complete version, if any, "
        "is kept, so a run stays resumable from its last complete state). Free some space on "
        "that disk, or choose another --out, then resume with --resume."
    )


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
