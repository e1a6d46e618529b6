"""``attnzoo tune``: trials are real runs, selection is on validation, a killed study resumes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import optuna
import pytest
import yaml
from conftest import HERE, run_config

import attnzoo
from attnzoo.errors import ConfigError, RunFolderError, RunStopped
from attnzoo.tune import Dim, tune
from attnzoo.tune.space import parse_space, search_space_for
from attnzoo.tune.study import _make_pruner, _Pruning

LR_SPACE = {"train.lr": {"type": "float", "low": 1e-3, "high": 0.2, "log": True}}


def _base(tiny_csv, tmp_path, **train):
    cfg = run_config(tiny_csv, tmp_path / "runs", early_stopping_patience=None, **train)
    cfg.pop("name")
    return cfg


def _rows(folder):
    with (folder / "trials.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_trials_are_runs_and_the_best_is_chosen_on_validation(tiny_csv, tmp_path):
    result = tune(
        _base(tiny_csv, tmp_path), trials=3, tune_dir=tmp_path / "t", space=LR_SPACE, pruner="none"
    )
    rows = _rows(tmp_path / "t")
    assert [r["state"] for r in rows] == ["complete"] * 3
    values = [float(r["val_accuracy"]) for r in rows]
    assert result.best_value == max(values) and result.monitor == "accuracy"
    best_run = tmp_path / "t" / "trials" / f"trial-{result.best_number:03d}"
    final = json.loads((best_run / "final.json").read_text())
    assert final["val"]["accuracy"] == result.best_value  # validation, never test
    lrs = {float(r["train.lr"]) for r in rows}
    assert len(lrs) == 3 and all(1e-3 <= lr <= 0.2 for lr in lrs)
    assert float(rows[0]["train.lr"]) == 0.01  # trial 0 is the model's own recipe (tiny: 0.01)
    best = yaml.safe_load((tmp_path / "t" / "best.yaml").read_text())
    assert best["train"]["lr"] == pytest.approx(result.best_settings["train.lr"])
    assert "name" not in best and "out_dir" not in best  # re-running it makes a fresh run
    assert not (tmp_path / "runs").exists()  # every trial stays inside the tune folder
    assert (tmp_path / "t" / "history.png").stat().st_size > 0


def test_rerunning_continues_the_study_and_keeps_finished_trials(tiny_csv, tmp_path):
    base = _base(tiny_csv, tmp_path, epochs=1)
    tune(base, trials=2, tune_dir=tmp_path / "t", space=LR_SPACE, pruner="none")
    first = _rows(tmp_path / "t")
    tune(base, trials=4, tune_dir=tmp_path / "t", space=LR_SPACE, pruner="none")
    rows = _rows(tmp_path / "t")
    assert len(rows) == 4 and rows[:2] == first
    # the continued sampler draws new settings, not the first session's draws again
    assert not {r["train.lr"] for r in rows[2:]} & {r["train.lr"] for r in first}
    with pytest.raises(RunFolderError, match="different search"):
        tune({**base, "model": "tiny.wide"}, trials=4, tune_dir=tmp_path / "t", space=LR_SPACE)


KILL_AT_TRIAL_2 = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {here!r})
    import tinymodels
    from attnzoo import hookimpl
    from attnzoo.plugins import get_host
    from attnzoo.tune import tune

    class KillNine:
        @hookimpl
        def on_epoch_end(self, run, epoch, metrics):
            if run.dir.name == "trial-002":
                os.kill(os.getpid(), signal.SIGKILL)

    get_host().register(tinymodels, "tinyplugin", "tinyplugin")
    get_host().register(KillNine(), "kill")
    tune({base!r}, trials=4, tune_dir={folder!r}, space={space!r}, pruner="none")
    """
)


def test_a_killed_search_resumes_and_reruns_the_interrupted_trial(tiny_csv, tmp_path):
    base, folder = _base(tiny_csv, tmp_path, epochs=1), str(tmp_path / "t")
    script = KILL_AT_TRIAL_2.format(here=str(HERE), base=base, folder=folder, space=LR_SPACE)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    result = tune(base, trials=4, tune_dir=folder, space=LR_SPACE, pruner="none")
    study = optuna.load_study(study_name="attnzoo", storage=f"sqlite:///{folder}/study.db")
    trials = study.get_trials()
    killed = trials[2]
    assert killed.state == optuna.trial.TrialState.FAIL and killed.user_attrs["interrupted"]
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 4  # the budget: four finished trials, the killed one not counted
    assert killed.params in [t.params for t in done[2:]]  # its settings ran again
    assert len(result.trials) == 5


def test_a_pruned_trial_stops_at_the_epoch_its_curve_falls_below_the_median(tiny_csv, tmp_path):
    study = optuna.create_study(direction="maximize", pruner=_make_pruner(optuna, "median"))
    for _ in range(2):  # two earlier trials that reached 0.99 at every epoch
        done = study.ask()
        for epoch in (1, 2, 3):
            done.report(0.99, epoch)
        study.tell(done, 0.99)
    trial = study.ask()
    cfg = run_config(tiny_csv, tmp_path, epochs=3, lr=1e-9, early_stopping_patience=None)
    with _Pruning(trial, tmp_path / "r", "accuracy"), pytest.raises(RunStopped, match="pruned"):
        attnzoo.train(cfg)
    rows = (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 1  # stopped after the first epoch, not at the end


def test_search_spaces_come_from_the_model_or_the_default_and_are_checked():
    space, source = search_space_for("tiny", 0.01)
    assert set(space) == {"train.lr", "train.weight_decay"} and "default" in source
    assert space["train.lr"] == Dim(type="float", low=1e-3, high=0.1, log=True)
    with pytest.raises(ConfigError, match="low < high"):
        parse_space({"train.lr": {"type": "float", "low": 1.0, "high": 0.1}}, where="x")
    with pytest.raises(ConfigError, match="choices"):
        parse_space({"train.batch_size": {"type": "categorical"}}, where="x")
    with pytest.raises(ConfigError, match="trials must be at least 1"):
        tune({"model": "tiny", "dataset": "x.csv"}, trials=0)


def test_trial_0_takes_only_the_recipe_values_that_lie_in_the_space(tiny_csv):
    from attnzoo.api import coerce_run_config, resolve_run_config
    from attnzoo.tune.study import own_settings

    resolved = resolve_run_config(coerce_run_config({"model": "tiny", "dataset": str(tiny_csv)}))
    space = parse_space(
        {
            "train.lr": {"type": "float", "low": 1e-3, "high": 0.2, "log": True},  # has 0.01
            "train.weight_decay": {"type": "float", "low": 0.05, "high": 0.1},  # not 0.01
            "model.d_model": {"type": "categorical", "choices": [16, 32]},  # tiny: 16
        },
        where="x",
    )
    assert own_settings(resolved, space) == {"train.lr": 0.01, "model.d_model": 16}


def test_a_declared_lr_range_moves_to_the_runs_lr_when_it_does_not_contain_it():
    from attnzoo.tune.space import recentre_lr

    space = parse_space(
        {**LR_SPACE, "train.weight_decay": {"type": "float", "low": 1e-4, "high": 0.1}}, where="x"
    )
    kept, source = recentre_lr(space, 0.01, "declared")
    assert kept == space and source == "declared"  # the run's lr is inside: the declaration holds
    moved, source = recentre_lr(space, 1.0, "declared")  # e.g. a bench recipe's --set train.lr
    half = (0.2 / 1e-3) ** 0.5
    assert moved["train.lr"].low == pytest.approx(1.0 / half)
    assert moved["train.lr"].high == pytest.approx(1.0 * half)
    assert moved["train.lr"].log and moved["train.weight_decay"] == space["train.weight_decay"]
    assert "moved to centre on the run's lr 1" in source


def test_cli_tunes_with_fixed_settings_and_says_how_to_rerun_the_best(tiny_csv, tmp_path):
    from reliability_helpers import cli_run

    out = tmp_path / "t"
    args = ["tune", "-m", "tiny", "-d", str(tiny_csv), "-n", "2", "--out", str(out)]
    res = cli_run(*args, "--set", "epochs=1", "--set", "data.tokenizer.min_frequency=1", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["monitor"] == "val_accuracy" and len(payload["trials"]) == 2
    assert set(payload["best_settings"]) == {"train.lr", "train.weight_decay"}  # the default space
    assert yaml.safe_load((out / "tune.yaml").read_text())["run"]["train"]["epochs"] == 1
    res = cli_run(*args, "--set", "epochs=2")
    assert res.exit_code != 0 and "different search" in res.output


def test_bench_tuned_gives_every_model_the_same_trials_then_its_best_settings(tiny_csv, tmp_path):
    from attnzoo.bench import build_matrix, run_bench
    from attnzoo.bench.tuned import tune_matrix

    small = ["data.tokenizer.vocab_size=200", "data.tokenizer.min_frequency=1", "train.epochs=1"]
    matrix = build_matrix(None, ["tiny", "tiny.wide"], [str(tiny_csv)], 2, small)
    out = tmp_path / "bench"
    tuned = tune_matrix(matrix, out, 2)
    assert tuned.tuned_trials == 2 and len(tuned.cells) == 4
    for model in ("tiny", "tiny.wide"):
        cells = [c for c in tuned.cells if c.model == model]
        extra = {c.sets[len(small) :] for c in cells}
        assert len(extra) == 1  # one tuned setting for all seeds of a model
        keys = [s.split("=")[0] for s in extra.pop()]
        assert keys == ["train.lr", "train.weight_decay"]
    studies = sorted((out / "tune").iterdir())
    assert len(studies) == 2 and all(len(_rows(s)) == 2 for s in studies)
    assert tune_matrix(matrix, out, 2).cells == tuned.cells  # re-running reuses the studies
    one_seed = type(tuned)(
        [c for c in tuned.cells if c.seed == 0],
        tuned.preset,
        tuned.models,
        tuned.datasets,
        1,
        tuned.notes,
        tuned.tuned_trials,
    )
    records = run_bench(one_seed, out, show_progress=False)
    assert all(r["status"] == "ok" for r in records), records
    assert json.loads((out / "results.json").read_text())["tuned_trials"] == 2
    assert "same tuning budget: 2 Optuna trials" in (out / "leaderboard.md").read_text()
