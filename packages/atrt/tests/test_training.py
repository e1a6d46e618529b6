"""ATRT trained by the ``tensorflow`` engine (attnzoo-tensorflow) end to end: ``attnzoo.train`` on a
tiny dataset, evaluate / predict / load from the run folder, and the ``attnzoo train`` command
as installed with attnzoo-atrt. The engine's own tests (resume, Ctrl-C, kill -9, losses) live
in attnzoo-tensorflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attnzoo
from attnzoo.testing import make_text_dataset


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    return make_text_dataset(tmp_path_factory.mktemp("data"), n=180, fmt="jsonl")


@pytest.fixture(scope="module")
def trained(toy_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = attnzoo.train(
        {
            "model": "atrt.tiny",
            "dataset": str(toy_file),
            "out_dir": str(out),
            "name": "tiny",
            "data": {"tokenizer": {"kind": "word", "min_frequency": 1}},
            "train": {"epochs": 2, "batch_size": 16, "lr": 3e-3, "progress": False},
        }
    )
    return out / "tiny", result


def test_train_writes_the_run_folder(trained):
    run_dir, result = trained
    assert result["status"] == "completed" and result["best_epoch"] in (1, 2)
    for name in ("run.yaml", "metrics.jsonl", "final.json", "model/config.json"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "model" / "model.weights.h5").exists()
    meta = json.loads((run_dir / "model" / "attnzoo.json").read_text())
    assert (meta["framework"], meta["plugin"]) == ("tensorflow", "attnzoo-atrt")
    assert json.loads((run_dir / "model" / "config.json").read_text())["attention"] == "atrt"


def test_evaluate_and_predict_from_the_run_folder(trained):
    run_dir, result = trained
    metrics = attnzoo.evaluate(str(run_dir))
    np.testing.assert_allclose(metrics["accuracy"], result["test"]["accuracy"])
    out = attnzoo.predict(str(run_dir), ["match goal team", "bank market shares"])
    assert len(out) == 2 and set(out[0]["probs"]) == {"money", "sport", "tech"}
    loaded = attnzoo.load_model(str(run_dir))
    assert loaded.backend.framework == "tensorflow"
    assert type(loaded.model).__name__ == "ATRTClassifier"


def test_the_attnzoo_train_command_trains_atrt(toy_file, tmp_path):
    """What a user of ``pip install attnzoo-atrt`` types (its venv has only atrt's deps)."""
    exe = shutil.which("attnzoo", path=str(Path(sys.executable).parent))
    assert exe, "the attnzoo console script is not installed next to this Python"
    args = ["train", "--model", "atrt.tiny", "--dataset", str(toy_file), "--out", str(tmp_path)]
    args += ["--name", "cli", "--set", "epochs=1", "--set", "train.progress=false", "--json"]
    proc = subprocess.run(
        [exe, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ATTNZOO_STRICT_PLUGINS": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["status"] == "completed" and 0.0 <= result["test"]["accuracy"] <= 1.0
    assert (tmp_path / "cli" / "model" / "model.weights.h5").exists()


FIXTURE = Path(__file__).parent / "fixtures"


def test_a_model_folder_saved_before_the_engine_moved_loads_and_predicts_the_same():
    """The folder was written by attnzoo-atrt 0.1.0 before the split (commit bdcdf04, when the
    engine lived in attnzoo_atrt): the framework name it records still finds the engine."""
    expected = json.loads((FIXTURE / "expected-before-keras-split.json").read_text())
    model_dir = FIXTURE / "model-before-keras-split"
    assert json.loads((model_dir / "attnzoo.json").read_text())["framework"] == "tensorflow"
    out = attnzoo.predict(str(model_dir), expected["texts"])
    for got, want in zip(out, expected["predictions"], strict=True):
        assert got["label"] == want["label"]
        assert got["probs"] == pytest.approx(want["probs"], abs=1e-6)
