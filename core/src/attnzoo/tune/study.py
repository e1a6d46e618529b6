"""One Optuna study per tune folder: trials are ordinary run folders, the study is SQLite.

Layout of a tune folder::

    tune.yaml        what is searched: the base run config, the space, the trial budget
    study.db         the Optuna study (SQLite): a killed search resumes from it
    trials/trial-000 one attnzoo run folder per trial (same data, split and seed)
    trials.csv       every trial: number, state, validation value, settings
    best.yaml        the best trial's run.yaml (``attnzoo train best.yaml`` re-runs it)
    history.png      validation value per trial and the running best
"""

from __future__ import annotations

import copy
import csv
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attnzoo import hookimpl
from attnzoo.errors import ConfigError, MissingDependencyError, RunFolderError, RunStopped
from attnzoo.io import atomic_write_text
from attnzoo.tune.space import Dim, search_space_for

logger = logging.getLogger(__name__)
STUDY = "attnzoo"
_PRUNER_PLUGIN = "attnzoo-tune-pruner"


@dataclass
class TuneResult:
    """What :func:`tune` found; the files in ``tune_dir`` hold the same."""

    tune_dir: Path
    monitor: str
    direction: str
    best_number: int
    best_value: float
    best_settings: dict[str, Any]
    best_run_yaml: Path
    trials: list[dict[str, Any]] = field(default_factory=list)


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as err:
        raise MissingDependencyError(
            "attnzoo tune needs Optuna: pip install 'attnzoo-core[tune]'."
        ) from err
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def tune(
    run_config: Any,
    *,
    trials: int,
    tune_dir: str | Path | None = None,
    space: Mapping[str, Dim | Mapping[str, Any]] | None = None,
    seed: int = 0,
    pruner: str = "median",
    overwrite: bool = False,
    echo: Any = None,
) -> TuneResult:
    """Search ``space`` for ``trials`` trials of ``run_config``, selecting on validation only.

    Every trial trains the same model on the same data, split and seed with the sampled
    settings applied as ``--set`` overrides; the objective is the run's monitored validation
    metric at its best epoch (test is evaluated by each run but never read here). Re-running
    with the same folder continues the study: finished trials are kept, a trial that was
    running when the process died is run again, and only the missing trials are added.
    """
    from attnzoo.api import coerce_run_config, resolve_run_config
    from attnzoo.metrics import higher_is_better
    from attnzoo.tune.space import parse_space

    optuna = _optuna()
    if trials < 1:
        raise ConfigError(f"trials must be at least 1, got {trials}.")
    cfg = coerce_run_config(run_config)
    resolved = resolve_run_config(cfg)
    monitor = resolved.train.monitor
    direction = "maximize" if higher_is_better(monitor) else "minimize"
    dims, source = (
        (parse_space(space, where="the tune call"), "given")
        if space
        else search_space_for(cfg.model, resolved.train.lr)
    )
    folder = Path(tune_dir) if tune_dir else Path(cfg.out_dir) / f"tune-{cfg.name}"
    base = cfg.model_dump(mode="json", exclude_unset=True, exclude={"name", "out_dir"})
    _check_folder(folder, base, dims, seed, overwrite)
    spec: dict[str, Any] = {"run": base}
    spec["space"] = {k: d.model_dump(exclude_none=True) for k, d in dims.items()}
    spec.update(space_source=source, trials=trials, seed=seed, monitor=f"val_{monitor}")
    atomic_write_text(
        folder / "tune.yaml", yaml.safe_dump({**spec, "direction": direction}, sort_keys=False)
    )
    study = _open_study(optuna, folder, direction, seed, pruner)
    if not study.get_trials(deepcopy=False):  # a new study: its first trial is the recipe
        study.enqueue_trial(own_settings(resolved, dims))
    _requeue_interrupted(optuna, study)
    say = echo or (lambda msg: None)
    while (done := _finished(optuna, study)) < trials:
        trial = study.ask()
        say(f"trial {done + 1}/{trials} (#{trial.number}): " + _describe(trial, dims))
        _run_trial(optuna, study, trial, base, dims, folder, monitor, say)
    return _summarise(optuna, study, folder, monitor, direction)


def _open_study(optuna: Any, folder: Path, direction: str, seed: int, pruner: str) -> Any:
    """The SQLite study of ``folder``, new or continued."""
    study = optuna.create_study(
        study_name=STUDY,
        storage=f"sqlite:///{(folder / 'study.db').resolve()}",
        load_if_exists=True,
        direction=direction,
        pruner=_make_pruner(optuna, pruner),
    )
    # seeded by the trials so far: a resumed study must not replay the first session's draws
    known = len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.TPESampler(seed=seed + known)
    return study


def own_settings(resolved: Any, dims: dict[str, Dim]) -> dict[str, Any]:
    """The run's own values of the searched settings that lie in the space: trial 0 of a new
    study, so a tuned model is never selected below its own recipe on validation."""
    from attnzoo.api import build_config

    sections = {
        "train": resolved.train,
        "data": resolved.data,
        "model": build_config(resolved.model, **resolved.model_args),
    }
    values: dict[str, Any] = {}
    for key, dim in dims.items():
        section, _, name = key.partition(".")
        value = getattr(sections.get(section), name, None) if "." not in name else None
        if value is not None and dim.contains(value):
            values[key] = value
    return values


def _check_folder(
    folder: Path, base: dict, dims: dict[str, Dim], seed: int, overwrite: bool
) -> None:
    spec_file = folder / "tune.yaml"
    if overwrite and folder.exists():
        if not spec_file.exists():
            raise RunFolderError(f"{folder} is not a tune folder (no tune.yaml); not deleting it.")
        import shutil

        shutil.rmtree(folder)
    if spec_file.exists():
        old = yaml.safe_load(spec_file.read_text()) or {}
        new_space = {k: d.model_dump(exclude_none=True) for k, d in dims.items()}
        if old.get("run") != base or old.get("space") != new_space or old.get("seed") != seed:
            raise RunFolderError(
                f"{folder} holds a different search (run config, space or seed differ from "
                f"{spec_file}). Pass --overwrite to start over, or another --out."
            )
    folder.mkdir(parents=True, exist_ok=True)


def _make_pruner(optuna: Any, name: str) -> Any:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"Unknown pruner {name!r}: use 'median' or 'none'.")


def _finished(optuna: Any, study: Any) -> int:
    """Trials that used up budget: complete, pruned, or failed for a reason other than a kill."""
    states = optuna.trial.TrialState
    return sum(
        t.state in (states.COMPLETE, states.PRUNED)
        or (t.state == states.FAIL and not t.user_attrs.get("interrupted"))
        for t in study.get_trials(deepcopy=False)
    )


def _requeue_interrupted(optuna: Any, study: Any) -> None:
    """A trial left RUNNING by a killed process is failed and its settings queued again."""
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        if t.params:
            study.enqueue_trial(t.params, skip_if_exists=False)
        logger.warning("trial #%d was interrupted; its settings run again", t.number)


def _describe(trial: Any, dims: dict[str, Dim]) -> str:
    values = {key: dim.suggest(trial, key) for key, dim in dims.items()}
    return ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _run_trial(
    optuna: Any,
    study: Any,
    trial: Any,
    base: dict,
    dims: dict[str, Dim],
    folder: Path,
    monitor: str,
    say: Any,
) -> None:
    from attnzoo.api import train
    from attnzoo.overrides import apply_overrides

    settings = {key: dim.suggest(trial, key) for key, dim in dims.items()}  # cached by Optuna
    config = apply_overrides(
        copy.deepcopy(base), [f"{k}={json.dumps(v)}" for k, v in settings.items()]
    )
    name = f"trial-{trial.number:03d}"
    config.update(name=name, out_dir=str(folder / "trials"))
    trial.set_user_attr("run_dir", str(folder / "trials" / name))
    with _Pruning(trial, folder / "trials" / name, monitor):
        try:
            result = train(config, overwrite=True)
        except RunStopped:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            say("  pruned on its validation curve")
            return
        except KeyboardInterrupt:
            study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(trial.params, skip_if_exists=False)
            raise
        except Exception as exc:  # a bad setting (NaN loss, out of memory) costs its trial only
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            say(f"  failed: {type(exc).__name__}: {exc}")
            return
    value = result["val"].get(monitor)
    if value is None:
        raise ConfigError(f"The run reported no validation {monitor!r}; cannot tune on it.")
    study.tell(trial, float(value))
    say(f"  val {monitor} = {value:.4f} (best epoch {result['best_epoch']})")


class _Pruning:
    """An in-process plugin: reports each epoch's validation value and stops pruned trials."""

    def __init__(self, trial: Any, run_dir: Path, monitor: str) -> None:
        self.trial, self.run_dir, self.monitor = trial, run_dir.resolve(), monitor

    @hookimpl
    def on_epoch_end(self, run: Any, epoch: int, metrics: dict[str, Any]) -> None:
        if Path(run.dir).resolve() != self.run_dir:
            return
        value = metrics.get(f"val_{self.monitor}")
        if value is None:
            return
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            raise RunStopped(
                f"pruned by the tuner after epoch {epoch} (val {self.monitor} {value:.4f})"
            )

    def __enter__(self) -> _Pruning:
        from attnzoo.plugins import get_host

        get_host().register(self, _PRUNER_PLUGIN, "attnzoo-core")
        return self

    def __exit__(self, *exc: object) -> None:
        from attnzoo.plugins import get_host

        get_host().unregister(_PRUNER_PLUGIN)


def _summarise(optuna: Any, study: Any, folder: Path, monitor: str, direction: str) -> TuneResult:
    states = optuna.trial.TrialState
    rows = [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            f"val_{monitor}": t.value,
            **t.params,
            "run_dir": t.user_attrs.get("run_dir", ""),
        }
        for t in study.get_trials(deepcopy=False)
    ]
    with (folder / "trials.csv.tmp").open("w", newline="") as fh:
        keys = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    (folder / "trials.csv.tmp").replace(folder / "trials.csv")
    if not any(t.state == states.COMPLETE for t in study.get_trials(deepcopy=False)):
        raise ConfigError(
            f"No trial of {folder} completed (see trials.csv for the errors); check the base run "
            "with `attnzoo train` first."
        )
    best = study.best_trial
    best_yaml = folder / "best.yaml"
    run_yaml = Path(best.user_attrs["run_dir"]) / "run.yaml"
    best_config = {
        k: v
        for k, v in (yaml.safe_load(run_yaml.read_text()) or {}).items()
        if k not in ("name", "out_dir")  # a fresh run folder, not the trial's
    }
    header = f"# best of {folder}: trial #{best.number}, val {monitor} {best.value:.4f}\n"
    atomic_write_text(best_yaml, header + yaml.safe_dump(best_config, sort_keys=False))
    _plot_history(rows, monitor, direction, folder / "history.png")
    return TuneResult(
        folder,
        monitor,
        direction,
        best.number,
        float(best.value),
        dict(best.params),
        best_yaml,
        rows,
    )


def _plot_history(rows: list[dict], monitor: str, direction: str, path: Path) -> None:
    from matplotlib.figure import Figure

    done = [r for r in rows if r["state"] == "complete"]
    if not done:
        return
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    xs = [r["number"] for r in done]
    ys = [r[f"val_{monitor}"] for r in done]
    pick = max if direction == "maximize" else min
    best = [pick(ys[: i + 1]) for i in range(len(ys))]
    ax.scatter(xs, ys, s=18, label="trial")
    ax.step(xs, best, where="post", color="C1", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {monitor}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
