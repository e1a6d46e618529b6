"""Run folders: run.yaml, metrics.jsonl, final.json, curves.png, model/, state/.

::

    runs/<name>/
      run.yaml          fully resolved config (re-running it reproduces the run)
      metrics.jsonl     one line per epoch
      final.json        best validation metrics and the test metrics (evaluated once)
      curves.png        training curves; confusion.png for classification
      tb/               TensorBoard logs
      model/            the portable best model (see attnzoo.checkpoint)
      state/            resume-only: optimizer, scheduler, RNG, step (trusted input)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from attnzoo.config import RunConfig
from attnzoo.errors import RunFolderError
from attnzoo.io import atomic_write_json, atomic_write_text
from attnzoo.plugins import call_lifecycle


class Run:
    """One training run and its folder."""

    def __init__(self, directory: Path, config: RunConfig, *, resumed: bool = False) -> None:
        self.dir = Path(directory)
        self.config = config
        self.resumed = resumed
        self.meta: dict[str, Any] = {}  # filled by the API: spec, labels, processor ...

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
        """Make (or reopen, with ``resume``) the run folder ``out_dir/name``."""
        directory = Path(config.out_dir) / str(config.name)
        if directory.exists() and any(directory.iterdir()):
            if resume:
                saved = load_run_config(directory)
                if saved.model_dump() != config.model_dump():
                    diff = _diff(saved.model_dump(), config.model_dump())
                    raise RunFolderError(
                        f"Cannot resume {directory}: its run.yaml differs from the requested config ({diff}). "
                        f"Resume with `attnzoo train {directory / 'run.yaml'} --resume`."
                    )
                return cls(directory, saved, resumed=(directory / "state").exists())
            if not overwrite:
                raise RunFolderError(
                    f"Run folder {directory} already exists. Pass --resume to continue it, --overwrite to "
                    "replace it, or choose another --name/--out."
                )
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / "run.yaml", dump_yaml(config))
        return cls(directory, config)

    # -- logging ------------------------------------------------------------------------
    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        return [
            json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()
        ]

    def log_epoch(self, epoch: int, metrics: dict[str, Any]) -> None:
        """Record an epoch (replacing a line for the same epoch left by a crashed attempt)."""
        rows = [r for r in self.read_metrics() if r.get("epoch", 0) < epoch]
        rows.append({"epoch": epoch, **metrics})
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))
        call_lifecycle("on_epoch_end", run=self, epoch=epoch, metrics=metrics)

    def save_model(self, model: Any, backend: Any) -> Path:
        """Write the portable model folder (atomically) from ``self.meta`` and fire the hook."""
        from attnzoo.checkpoint import write_model_dir

        m = self.meta
        path = write_model_dir(
            self.model_dir,
            model=model,
            backend=backend,
            spec=m["spec"],
            name=m["name"],
            config=m["config"],
            processor=m.get("processor"),
            extra=m.get("extra"),
        )
        self.checkpoint_saved(path)
        return path

    def checkpoint_saved(self, path: Path) -> None:
        call_lifecycle("on_checkpoint_saved", run=self, path=str(path))

    def write_final(self, result: dict[str, Any]) -> None:
        atomic_write_json(self.final_path, result)


def dump_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def load_run_config(directory: str | Path) -> RunConfig:
    from attnzoo.config import validate_config

    path = Path(directory)
    path = path / "run.yaml" if path.is_dir() else path
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RunFolderError(f"Cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} does not hold a run config (a YAML mapping).")
    config: RunConfig = validate_config(RunConfig, data, where=str(path))
    return config


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
