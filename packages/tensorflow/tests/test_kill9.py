"""Resume after ``kill -9`` is exact: ``attnzoo train`` runs in a subprocess, is killed with
SIGKILL right after a mid-epoch state save, is resumed from its folder, and ends with the
weights, optimizer state and metrics of an uninterrupted run (CPU, bit for bit)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HERE, run_config

import attnzoo

# The child is the real CLI (``attnzoo.cli.main``) with two plugins registered by hand: the
# tiny test model and one that, at the KILL_AT-th state save, tells the parent and waits to be
# killed (so the kill lands at a known step, after the save is complete).
CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {here!r})
    from attnzoo import hookimpl
    from attnzoo.cli import main
    from attnzoo.plugins import get_host
    import tinykeras

    class WaitForKill:
        saves = 0

        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state"):
                self.saves += 1
                if self.saves == {kill_at}:
                    open({marker!r}, "w").close()
                    time.sleep(600)

    get_host().register(tinykeras, "tinykeras", "tinykeras")
    get_host().register(WaitForKill(), "wait-for-kill")
    sys.exit(main(sys.argv[1:]))
    """
)

# 144 training examples / batch 16 = 9 steps an epoch. Saves at steps 5, 9 (end of epoch 1),
# 10, 15, 18: the 3rd is one step into epoch 2.
KILL_AT, SAVE_EVERY = 3, 5
TIMINGS = ("samples_per_s", "tokens_per_s", "epoch_seconds")

MODELS = [
    "tinykeras",
    pytest.param(
        "atrt.tiny",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("attnzoo_atrt") is None, reason="attnzoo-atrt not installed"
        ),
    ),
]


def _train_and_kill(model: str, data: Path, out: Path) -> Path:
    marker = out / "saved"
    script = CHILD.format(here=str(HERE), kill_at=KILL_AT, marker=str(marker))
    args = ["train", "--model", model, "--dataset", str(data), "--out", str(out)]
    args += ["--name", "killed"]
    for setting in (
        "data.tokenizer.kind=word",
        "data.tokenizer.min_frequency=1",
        "train.epochs=2",
        "train.batch_size=16",
        "train.lr=3e-3",
        "train.progress=false",
        f"train.save_every_steps={SAVE_EVERY}",
    ):
        args += ["--set", setting]
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run ended before its state save {KILL_AT}:\n{proc.stdout.read()}")
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return out / "killed"


def _rows(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in TIMINGS} for x in lines]


def _weights(path: Path) -> dict[str, np.ndarray]:
    import h5py

    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(
            lambda name, obj: (
                arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return arrays


@pytest.mark.parametrize("model", MODELS)
def test_resume_after_sigkill_matches_an_uninterrupted_run(model, toy_file, tmp_path):
    killed = _train_and_kill(model, toy_file, tmp_path / "a")
    progress = json.loads((killed / "state" / "trainer.json").read_text())["progress"]
    assert (progress["epoch"], progress["step_in_epoch"]) == (2, 1)
    assert not (killed / "final.json").exists()

    resumed = attnzoo.train(str(killed / "run.yaml"), resume=True)
    straight = attnzoo.train(run_config(toy_file, tmp_path / "b", "straight", model=model))
    clean = tmp_path / "b" / "straight"

    assert resumed["val"] == straight["val"] and resumed["test"] == straight["test"]
    rows_k, rows_s = _rows(killed), _rows(clean)
    exact = [{k: v for k, v in r.items() if not k.startswith("train_")} for r in rows_k]
    assert exact == [{k: v for k, v in r.items() if not k.startswith("train_")} for r in rows_s]
    # the resumed epoch's train loss/accuracy merge the sums saved before the kill with Keras'
    # means after it: equal up to float rounding
    for key in ("train_loss", "train_accuracy"):
        assert [r[key] for r in rows_k] == pytest.approx([r[key] for r in rows_s], rel=1e-5)
    best_k, best_s = (_weights(d / "model" / "model.weights.h5") for d in (killed, clean))
    assert best_k.keys() == best_s.keys() and best_k
    for name, value in best_k.items():
        np.testing.assert_array_equal(value, best_s[name], err_msg=name)
    with (
        np.load(killed / "state" / "variables.npz") as last_k,
        np.load(clean / "state" / "variables.npz") as last_s,
    ):
        assert last_k.files == last_s.files
        for name in last_k.files:  # every model and optimizer variable after the last step
            np.testing.assert_array_equal(last_k[name], last_s[name], err_msg=name)
