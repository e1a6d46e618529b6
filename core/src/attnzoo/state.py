"""Resume state (``<run>/state/``) is data, never code: only safetensors, JSON and npz.

A run folder can come from anyone (shared, downloaded), so ``--resume`` checks every file in
``state/`` before reading any of them and refuses a pickle (or anything it does not parse
itself) instead of loading it: unpickling runs code.
"""

from __future__ import annotations

from pathlib import Path

from attnzoo.errors import UnsafeStateError

SAFE_SUFFIXES = (".safetensors", ".json", ".npz")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt", ".joblib")


def check_state_dir(state_dir: str | Path) -> None:
    """Raise :class:`UnsafeStateError` naming the first file that is not safetensors/JSON/npz."""
    state_dir = Path(state_dir)
    for path in sorted(state_dir.rglob("*")):
        if path.is_dir():
            continue
        if path.is_symlink():
            raise UnsafeStateError(
                f"{path} is a symbolic link; resume state must be plain files inside {state_dir}. "
                "Nothing was loaded. Remove the state folder to retrain (--overwrite)."
            )
        if path.suffix in SAFE_SUFFIXES and not _looks_like_pickle(path):
            continue
        kind = (
            "a pickle"
            if path.suffix in _PICKLE_SUFFIXES or _looks_like_pickle(path)
            else "not a safetensors, JSON or npz file"
        )
        raise UnsafeStateError(
            f"Refusing to resume from {state_dir}: {path.name} is {kind}. attnzoo never unpickles "
            "resume state (a pickle can run code); it reads only safetensors, JSON and npz files. "
            "Nothing was loaded. If this run folder was written by an older attnzoo or by someone "
            "else, retrain it with --overwrite (or delete its state/ folder and load its model/)."
        )


def _looks_like_pickle(path: Path) -> bool:
    """Pickle protocol 2+ starts with 0x80 and the protocol number; torch.save's zip holds a
    ``data.pkl``. Either, under a safe-looking name, is a pickle in disguise."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
                return True
            if head == b"PK" and path.suffix != ".npz":
                return True
    except OSError:
        return False
    return False
