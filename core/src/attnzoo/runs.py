"""Run folders: run.yaml, metrics.jsonl, final.json, curves.png, model/, state/.

::

    runs/<name>/
      run.yaml          fully resolved config (re-running it reproduces the run)
      metrics.jsonl     one line per epoch
      final.json        best validation metrics and the test metrics (evaluated once)
      curves.png        training curves; confusion.png for classification
      tb/               TensorBoard logs
      model/            the portable best model (see attnzoo.checkpoint)
      state/            resume-only: optimizer, scheduler, RNG, step (safetensors/JSON/npz only)
      .lock             held by the process training the run (see attnzoo.locks)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from attnzoo.config import RunConfig
from attnzoo.errors import ConfigError, RunFolderError
from attnzoo.io import atomic_write_json, atomic_write_text
from attnzoo.locks import LOCK_NAME, RunLock

logger = logging.getLogger(__name__)

#: what attnzoo writes into a run folder; --overwrite removes a folder that holds only these
#: (plus attnzoo's hidden temporary names). A package that writes more into the run folder
#: adds the name here.
RUN_FOLDER_ENTRIES = frozenset(
    {
        "run.yaml",
        "metrics.jsonl",
        "final.json",
        "curves.png",
        "confusion.png",
        "roc.png",
        "tb",
        "model",
        "state",
        "tokenizer.json",
        "processor.json",
        "exports",  # attnzoo export's default output (stale once the run is retrained)
        "schema.json",
        LOCK_NAME,
    }
)


class Run:
    """One training run's folder: its paths, config, lock and the files in it.

    It fires no events and holds no live objects: the training loop fires the lifecycle hooks
    through the plugin host, and the model describes itself (:mod:`attnzoo.artifact`).
    """

    def __init__(self, directory: Path, config: RunConfig, *, resumed: bool = False) -> None:
        self.dir = Path(directory)
        self.config = config
        self.resumed = resumed
        #: False in a follower: another rank of a multi-process run, which writes nothing
        self.writes = True
        self._lock: RunLock | None = None

    # -- paths --------------------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        return self.dir / "model"

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"

    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.jsonl"

    @property
    def final_path(self) -> Path:
        return self.dir / "final.json"

    @property
    def tb_dir(self) -> Path:
        return self.dir / "tb"

    # -- creation -----------------------------------------------------------------------
    @classmethod
    def create(cls, config: RunConfig, *, overwrite: bool = False, resume: bool = False) -> Run:
        """Make (or reopen, with ``resume``) the run folder ``out_dir/name``, and lock it.

        The name is one folder name; ``overwrite`` removes only a folder attnzoo recognises
        as a run folder, and logs what it removes.
        """
        check_run_name(config.name, config.out_dir)
        directory = Path(config.out_dir) / str(config.name)
        if directory.is_symlink():
            raise RunFolderError(
                f"Run folder {directory} is a symbolic link; attnzoo does not follow it (it could "
                "point outside --out). Choose another --name or --out."
            )
        if directory.exists() and not directory.is_dir():
            raise RunFolderError(
                f"{directory} is a file, not a run folder. Choose another --name or --out."
            )
        if directory.exists() and any(e.name != LOCK_NAME for e in directory.iterdir()):
            if not resume and not overwrite:
                raise RunFolderError(
                    f"Run folder {directory} already exists. Pass --resume to continue it, "
                    "--overwrite to replace it, or choose another --name/--out."
                )
            # checked before locking: never create even a lock file in a foreign folder
            if overwrite:
                check_removable(directory)
            elif not (directory / "run.yaml").is_file():
                raise RunFolderError(
                    f"Cannot resume {directory}: it has no run.yaml, so it is not an attnzoo run "
                    "folder. Nothing was changed. Choose another --name or --out."
                )
            lock = RunLock.acquire(directory)
            try:
                if resume:
                    return cls._reopen(directory, config, lock)
                clear_run_folder(directory)
            except BaseException:
                lock.release()
                raise
        else:
            if resume:
                logger.warning("--resume: nothing to resume in %s; starting a new run.", directory)
            directory.mkdir(parents=True, exist_ok=True)
            lock = RunLock.acquire(directory)
        try:
            atomic_write_text(directory / "run.yaml", dump_yaml(config))
        except BaseException:
            lock.release()
            raise
        run = cls(directory, config)
        run._lock = lock
        return run

    @classmethod
    def _reopen(cls, directory: Path, config: RunConfig, lock: RunLock) -> Run:
        saved = load_run_config(directory)
        # where the run lives is its folder, whatever run.yaml recorded (a copied run resumes
        # in the copy), so out_dir and name take no part in the comparison
        a = saved.model_dump(exclude={"out_dir", "name"})
        b = config.model_dump(exclude={"out_dir", "name"})
        if a != b:
            raise RunFolderError(
                f"Cannot resume {directory}: its run.yaml differs from the requested config "
                f"({_diff(a, b)}). Resume with `attnzoo train {directory / 'run.yaml'} --resume`."
            )
        recover_interrupted_writes(directory)
        saved = saved.model_copy(update={"out_dir": str(directory.parent), "name": directory.name})
        run = cls(directory, saved, resumed=(directory / "state").exists())
        run._lock = lock
        return run

    @classmethod
    def follow(cls, directory: str | Path, *, resumed: bool) -> Run:
        """The folder rank 0 created, as another rank of the same run sees it: read-only and
        unlocked (rank 0 holds the lock); its config is the run.yaml rank 0 wrote."""
        run = cls(Path(directory), load_run_config(directory), resumed=resumed)
        run.writes = False
        return run

    def _check_writes(self, what: str) -> None:
        if not self.writes:
            raise RuntimeError(f"{what}: only rank 0 writes the run folder {self.dir}.")

    def close(self) -> None:
        """Release the run folder's lock (also released when the process exits)."""
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release()
            self._lock = None

    def resume_hint(self) -> str:
        return f"attnzoo train {self.dir / 'run.yaml'} --resume"

    # -- logging ------------------------------------------------------------------------
    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        return [
            json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()
        ]

    def log_epoch(self, epoch: int, metrics: dict[str, Any]) -> None:
        """Record an epoch (replacing a line for the same epoch left by a crashed attempt)."""
        self._check_writes("log_epoch")
        rows = [r for r in self.read_metrics() if r.get("epoch", 0) < epoch]
        rows.append({"epoch": epoch, **metrics})
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))

    def write_final(self, result: dict[str, Any]) -> None:
        self._check_writes("write_final")
        atomic_write_json(self.final_path, result)


def dump_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def load_run_config(directory: str | Path) -> RunConfig:
    """The run config of a run.yaml (or run folder). A run.yaml inside a run folder names that
    folder as the run's location, whatever out_dir/name it recorded (so a copy is itself)."""
    from attnzoo.config import validate_config

    path = Path(directory)
    path = path / "run.yaml" if path.is_dir() else path
    data = read_run_yaml(path)
    data.update(run_location(path) or {})
    config: RunConfig = validate_config(RunConfig, data, where=str(path))
    return config


def read_run_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a run.yaml, with a clear error (file, line, column) when it is not one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"Cannot read {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and cmark is not None:
            problem += (
                f" ({context} that starts at line {cmark.line + 1}, column {cmark.column + 1})"
            )
        raise ConfigError(
            f"{path} is not valid YAML{where}: {problem}. Fix that line (a run.yaml is a YAML "
            "mapping such as `model: tiny`, `dataset: data.csv`)."
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} does not hold a run config: expected a YAML mapping (key: value), "
            f"got a {type(data).__name__}."
        )
    return data


def run_location(run_yaml: str | Path) -> dict[str, str] | None:
    """``{"out_dir", "name"}`` of the run folder holding ``run_yaml``, or None when the file is
    not a run folder's own run.yaml (a config template somewhere else)."""
    path = Path(run_yaml)
    folder = path.parent
    if path.name != "run.yaml" or not any(
        (folder / entry).exists() for entry in ("state", "metrics.jsonl", "model", "final.json")
    ):
        return None
    absolute = folder.absolute()
    return {"out_dir": str(absolute.parent), "name": absolute.name}


# ---------------------------------------------------------------------------------------
# Folder safety: run names, what --overwrite may remove, leftovers of a killed run
# ---------------------------------------------------------------------------------------


def check_run_name(name: str | None, out_dir: str) -> None:
    """A run name is one folder name: never empty, '.', '..', absolute or with a separator."""
    bad = (
        not name
        or name in {".", ".."}
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or (os.altsep is not None and os.altsep in name)
        or Path(name).is_absolute()
        or len(name.encode()) > 255
    )
    if bad:
        raise ConfigError(
            f"Run name {name!r} is not a folder name: a run name is one path component (no '/', "
            f"'..', '.' or absolute path), the folder created under out_dir ({out_dir!r}). Choose "
            "the parent folder with --out and the folder with --name, e.g. --out runs --name exp1."
        )


def _is_temporary(entry: str) -> bool:
    return entry.startswith(".") and (entry.endswith(".tmp") or entry.endswith(".old"))


def check_removable(directory: Path) -> None:
    """Refuse --overwrite of a folder attnzoo does not recognise as one of its run folders."""
    if not (directory / "run.yaml").is_file():
        raise RunFolderError(
            f"Refusing to overwrite {directory}: it has no run.yaml, so it is not an attnzoo run "
            "folder. Nothing was removed. Choose another --name or --out, or remove it yourself."
        )
    try:
        data = yaml.safe_load((directory / "run.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None
    if not isinstance(data, dict) or "model" not in data or "dataset" not in data:
        raise RunFolderError(
            f"Refusing to overwrite {directory}: its run.yaml is not an attnzoo run config. "
            "Nothing was removed. Choose another --name or --out, or remove it yourself."
        )
    foreign = sorted(
        e.name
        for e in directory.iterdir()
        if e.name not in RUN_FOLDER_ENTRIES and not _is_temporary(e.name)
    )
    if foreign:
        raise RunFolderError(
            f"Refusing to overwrite {directory}: it holds files attnzoo did not write "
            f"({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}). Nothing was "
            "removed. Move them away, or choose another --name or --out."
        )


def clear_run_folder(directory: Path) -> None:
    """Empty a (checked, locked) run folder for --overwrite, keeping only its lock file."""
    entries = sorted(e for e in directory.iterdir() if e.name != LOCK_NAME)
    shown = ", ".join(e.name + ("/" if e.is_dir() else "") for e in entries)
    logger.warning("--overwrite: removing run folder %s (%s)", directory, shown)
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def recover_interrupted_writes(directory: Path) -> list[str]:
    """Clean up after a killed run: put back a folder moved aside by an interrupted swap
    (``.state.old`` with no ``state``), and delete half-written ``.*.tmp`` leftovers.

    Called with the run folder locked, so no live writer owns these names. Returns what it did.
    """
    done = []
    for folder in (directory, directory / "model"):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if not _is_temporary(entry.name):
                continue
            if entry.name.endswith(".old"):
                target = entry.with_name(entry.name[1:-4])
                if not target.exists():
                    os.replace(entry, target)
                    done.append(f"restored {target.name}")
                    continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            done.append(f"removed {entry.name}")
    if done:
        logger.info("Cleaned %s after an interrupted run: %s", directory, "; ".join(done))
    return done


def _diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> str:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            sub = _diff(va, vb, f"{prefix}{key}.")
            if sub:
                out.append(sub)
        elif va != vb:
            out.append(f"{prefix}{key}: {va!r} -> {vb!r}")
    return "; ".join(out)
