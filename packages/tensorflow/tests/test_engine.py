"""The ``tensorflow`` engine end to end on the tiny Keras test model: attnzoo.train on a tiny
dataset, evaluate / predict from the run folder, max_steps, resume after a simulated kill and
after Ctrl-C, and a pickle in the state refused."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
from conftest import fresh_registry, run_config

import attnzoo
from attnzoo import hookimpl
from attnzoo.plugins import get_host


def _config(toy_file, out_dir, name, **train):
    return run_config(toy_file, out_dir, name, **train)


@pytest.fixture(scope="module")
def trained(toy_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    fresh_registry()  # module fixtures run before the per-test one
    result = attnzoo.train(_config(toy_file, out, "tiny"))
    return out / "tiny", result


def test_train_writes_the_run_folder(trained):
    run_dir, result = trained
    assert result["status"] == "completed" and result["best_epoch"] in (1, 2)
    for name in (
        "run.yaml",
        "metrics.jsonl",
        "final.json",
        "curves.png",
        "model/attnzoo.json",
        "model/config.json",
        "model/model.weights.h5",
        "model/tokenizer.json",
        "state/trainer.json",
        "tokenizer.json",
    ):
        assert (run_dir / name).exists(), name
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "val_accuracy", "val_loss", "lr", "samples_per_s", "best"} <= set(rows[0])
    meta = json.loads((run_dir / "model" / "attnzoo.json").read_text())
    assert meta["framework"] == "tensorflow" and meta["weights"] == "model.weights.h5"
    # Test is evaluated once, by core, after training: only final.json holds it.
    assert "test_accuracy" not in rows[-1] and "test" in result


def test_evaluate_and_predict_from_the_run_folder(trained):
    run_dir, result = trained
    metrics = attnzoo.evaluate(str(run_dir))
    np.testing.assert_allclose(metrics["accuracy"], result["test"]["accuracy"])
    out = attnzoo.predict(str(run_dir), ["match goal team", "bank market shares"])
    assert len(out) == 2 and set(out[0]["probs"]) == {"money", "sport", "tech"}
    assert abs(sum(out[0]["probs"].values()) - 1.0) < 1e-5
    loaded = attnzoo.load_model(str(run_dir))
    assert loaded.backend.framework == "tensorflow"


class _AtStateSave:
    """A lifecycle plugin that calls ``act()`` at the ``n``-th state save."""

    def __init__(self, n: int, act) -> None:
        self.n, self.act, self.seen = n, act, 0

    @hookimpl
    def on_checkpoint_saved(self, run, path):
        if path.endswith("state"):
            self.seen += 1
            if self.seen == self.n:
                self.act()


def _raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


# 144 training examples / 16 = 9 steps per epoch. Kill at the 1st save without
# save_every_steps: after epoch 1. With save_every_steps=5 the saves are at step 5, at the end
# of epoch 1 (step 9) and at step 10: the 3rd save is one step into epoch 2.
@pytest.mark.parametrize(("save_every_steps", "kill_at"), [(None, 1), (5, 3)])
def test_resume_after_a_kill_matches_an_uninterrupted_run(
    toy_file, tmp_path, trained, save_every_steps, kill_at
):
    full_dir, full = trained  # the same config, run without interruption
    extra = {"save_every_steps": save_every_steps}

    cfg = _config(toy_file, tmp_path, "killed", **extra)
    host = get_host()
    host.register(_AtStateSave(kill_at, _raise_keyboard_interrupt), "kill")
    try:
        with pytest.raises(KeyboardInterrupt):
            attnzoo.train(cfg)
    finally:
        host.unregister("kill")
    resumed = attnzoo.train(cfg, resume=True)

    assert resumed["val"] == full["val"] and resumed["test"] == full["test"]
    rows_full = (full_dir / "metrics.jsonl").read_text().splitlines()
    rows_res = (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    # a resumed epoch reports the whole epoch's train loss/accuracy, as torch does: the sums
    # saved before the kill are merged with Keras' means after it (equal up to float rounding)
    drop = ["samples_per_s", "tokens_per_s", "epoch_seconds", "train_loss", "train_accuracy"]
    strip = [{k: v for k, v in json.loads(r).items() if k not in drop} for r in rows_full]
    assert strip == [{k: v for k, v in json.loads(r).items() if k not in drop} for r in rows_res]
    for key in ("train_loss", "train_accuracy"):
        assert [json.loads(r)[key] for r in rows_res] == pytest.approx(
            [json.loads(r)[key] for r in rows_full], rel=1e-5
        )


def test_early_stopping_and_max_steps(toy_file, tmp_path):
    result = attnzoo.train(_config(toy_file, tmp_path, "steps", epochs=5, max_steps=4))
    assert result["stop_reason"] == "max_steps reached"
    rows = [
        json.loads(line) for line in (tmp_path / "steps" / "metrics.jsonl").read_text().splitlines()
    ]
    assert rows[-1]["global_step"] == 4 and len(rows) == 1


def test_ctrl_c_saves_at_the_current_step_and_resumes_like_torch(toy_file, tmp_path, trained):
    from attnzoo.errors import TrainingInterrupted

    full_dir, full = trained
    cfg = _config(toy_file, tmp_path, "ctrl-c", save_every_steps=5)
    host = get_host()
    host.register(_AtStateSave(1, lambda: signal.raise_signal(signal.SIGINT)), "ctrl-c")
    try:
        with pytest.raises(TrainingInterrupted, match="Resume with: attnzoo train"):
            attnzoo.train(cfg)
    finally:
        host.unregister("ctrl-c")
    state = json.loads((tmp_path / "ctrl-c" / "state" / "trainer.json").read_text())
    assert state["progress"]["global_step"] == 6  # Ctrl-C at the save of step 5: saved at 6
    resumed = attnzoo.train(cfg, resume=True)
    assert resumed["val"] == full["val"] and resumed["test"] == full["test"]


def test_a_pickle_in_state_is_refused(toy_file, tmp_path):
    from attnzoo.errors import CheckpointError

    cfg = _config(toy_file, tmp_path, "pickled", epochs=1)
    attnzoo.train(cfg)
    marker = tmp_path / "CODE_RAN"
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "pickled" / "state" / "variables.npz").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match="variables.npz is a pickle"):
        attnzoo.train(cfg, resume=True)
    assert not marker.exists()
