"""The export folder's manifest (``export.json``): what the exported model reads and returns,
how it was made, and a sha256 checksum of every file in the folder.

Loading checks the manifest before anything else is read: a missing, extra-named or altered
file is refused with a message naming it. The manifest is JSON; nothing in the folder is ever
unpickled or imported.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from attnzoo.errors import CheckpointError

MANIFEST_FILE = "export.json"
FORMAT = "attnzoo-export/1"
#: the runtimes an export folder can name, and the file each reads
MODEL_FILES = {"onnx": "model.onnx", "litert": "model.tflite"}
REQUIRED_KEYS = ("format", "export_format", "model_file", "inputs", "outputs", "files")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_export_dir(path: str | Path) -> bool:
    """True for a folder with an ``export.json`` (an export folder, not a model or run folder)."""
    return (Path(path) / MANIFEST_FILE).is_file()


def write_manifest(directory: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Write ``export.json`` with ``fields`` and the checksum of every other file in ``directory``."""
    from attnzoo.io import atomic_write_json

    files = {
        p.name: sha256_file(p)
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST_FILE
    }
    manifest = {"format": FORMAT, **fields, "files": files}
    atomic_write_json(directory / MANIFEST_FILE, manifest)
    return manifest


def _plain_name(name: Any, where: Path) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in {".", ".."}:
        raise CheckpointError(
            f"{where} names the file {name!r}, which is not a plain file name in the export "
            "folder: the manifest is damaged or was not written by attnzoo export."
        )
    return name


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The validated manifest of an export folder (its files are checked by :func:`check_file`)."""
    directory = Path(directory)
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{directory} is not an export folder: it has no {MANIFEST_FILE}. Make one with "
            "`attnzoo export RUN_DIR --format onnx`."
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is unreadable or not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise CheckpointError(
            f"{path} is not an attnzoo export manifest (format {found!r}, expected {FORMAT!r}). "
            "Export the run again with this version of attnzoo."
        )
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}: the export folder is damaged.")
    if manifest["export_format"] not in MODEL_FILES:
        from attnzoo.suggest import did_you_mean

        raise CheckpointError(
            f"{path} names export format {manifest['export_format']!r}; attnzoo reads "
            f"{sorted(MODEL_FILES)}.{did_you_mean(str(manifest['export_format']), MODEL_FILES)}"
        )
    files = manifest["files"]
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise CheckpointError(f"{path}: 'files' must map file names to sha256 checksums.")
    for name in files:
        _plain_name(name, path)
    if _plain_name(manifest["model_file"], path) not in files:
        raise CheckpointError(
            f"{path} has no checksum for its model file {manifest['model_file']!r}."
        )
    for name in files:
        if not (directory / name).is_file():
            raise CheckpointError(
                f"{directory} is incomplete: {name} (listed in {MANIFEST_FILE}) is missing. "
                "Export the run again."
            )
    return manifest


def check_file(directory: Path, manifest: dict[str, Any], name: str) -> bytes:
    """The bytes of ``name`` after checking them against the manifest's checksum.

    Reading once and hashing what was read means the bytes used are the bytes checked.
    """
    expected = manifest["files"].get(name)
    if expected is None:
        raise CheckpointError(f"{directory / MANIFEST_FILE} has no checksum for {name}.")
    data = (directory / name).read_bytes()
    if sha256_bytes(data) != expected:
        raise CheckpointError(
            f"{directory / name} does not match its sha256 checksum in {MANIFEST_FILE}: the file "
            "was changed or damaged after export. Export the run again."
        )
    return data


def check_all_files(directory: Path, manifest: dict[str, Any]) -> None:
    """Check every listed file's checksum (the processor files are read by their own loaders)."""
    for name in manifest["files"]:
        check_file(directory, manifest, name)
