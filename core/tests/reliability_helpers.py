"""Helpers of the reliability tests: snapshots that show nothing outside a run changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner

from attnzoo.cli import cli


def snapshot(root: Path, *, exclude: tuple[Path, ...] = ()) -> dict[str, str]:
    """Every file and folder under ``root`` (but ``exclude``), with a hash of each file."""
    out = {}
    for path in sorted(root.rglob("*")):
        if any(path == e or e in path.parents for e in exclude):
            continue
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def cli_run(*args: str):
    """Invoke the CLI as a user would (errors become messages and exit codes, not tracebacks)."""
    return CliRunner().invoke(cli, list(args))


class _Payload:
    """Unpickling this creates ``marker``: the proof that loading a pickle runs code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.marker, "w"))


def write_pickle_bomb(path: Path, marker: Path) -> None:
    """A pickle (as torch.save / accelerate write it) that creates ``marker`` when loaded."""
    import pickle

    path.write_bytes(pickle.dumps({"state": _Payload(marker)}, protocol=4))
