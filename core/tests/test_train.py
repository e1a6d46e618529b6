from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import HERE, run_config
from kill_script import kill_script

import attnzoo
from attnzoo import hookimpl
from attnzoo.errors import CheckpointError, ConfigError, RunFolderError
from attnzoo.plugins import get_host


def test_train_writes_the_run_folder_and_selects_on_validation(tiny_csv, tmp_path):
    calls = []
    plugin = types.SimpleNamespace(
        on_run_start=hookimpl(lambda run: calls.append("start")),
        on_epoch_end=hookimpl(lambda run, epoch, metrics: calls.append(f"epoch{epoch}")),
        on_checkpoint_saved=hookimpl(lambda run, path: calls.append("ckpt")),
        on_run_end=hookimpl(lambda run, result: calls.append(result["status"])),
    )
    get_host().register(plugin, "recorder")
    result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=3))
    run = Path(result["run_dir"])
    for name in (
        "run.yaml",
        "metrics.jsonl",
        "final.json",
        "curves.png",
        "confusion.png",
        "model/attnzoo.json",
        "model/config.json",
        "model/tokenizer.json",
        "model/model.safetensors",
        "state/trainer.json",
    ):
        assert (run / name).exists(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert all(
        "val_accuracy" in r and "test_accuracy" not in r for r in rows
    )  # test is never looked at per epoch
    best = max(rows, key=lambda r: r["val_accuracy"])
    assert result["best_epoch"] == best["epoch"]
    assert result["val"]["accuracy"] == best["val_accuracy"]
    assert set(result["test"]) >= {"accuracy", "macro_f1", "loss"}
    assert (
        calls[0] == "start" and calls[-1] == "completed" and "epoch3" in calls and "ckpt" in calls
    )
    meta = json.loads((run / "model/attnzoo.json").read_text())
    assert (
        meta["model"] == "tiny"
        and meta["labels"] == ["money", "sport", "tech"]
        and meta["plugin"] == "tinyplugin"
    )


def test_run_yaml_reproduces_the_run(tiny_csv, tmp_path):
    cfg = run_config(tiny_csv, tmp_path / "runs")
    cfg["data"]["tokenizer"]["kind"] = "word"  # WordPiece training breaks ties in hash order
    first = attnzoo.train(cfg)
    cfg = attnzoo.api.coerce_run_config(Path(first["run_dir"]) / "run.yaml").model_copy(
        update={"name": "again"}
    )
    second = attnzoo.train(cfg)
    assert second["test"] == first["test"] and second["val"] == first["val"]


def test_existing_run_folder_is_refused_unless_overwrite(tiny_csv, tmp_path):
    attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    with pytest.raises(RunFolderError, match="--resume.*--overwrite"):
        attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1), overwrite=True)


def test_resume_refuses_a_different_config(tiny_csv, tmp_path):
    attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    with pytest.raises(RunFolderError, match="epochs: 1 -> 2"):
        attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=2), resume=True)


def test_failure_fires_on_run_end(tiny_csv, tmp_path):
    ends = []
    get_host().register(
        types.SimpleNamespace(on_run_end=hookimpl(lambda run, result: ends.append(result))), "rec"
    )
    with pytest.raises(ConfigError):
        attnzoo.train(
            {
                **run_config(tiny_csv, tmp_path / "runs"),
                "train": {"loss": {"name": "nope"}, "progress": False},
            }
        )
    assert ends and ends[0]["status"] == "failed" and "nope" in ends[0]["error"]


def test_resume_after_kill_matches_an_uninterrupted_run(tiny_csv, tmp_path):
    cfg = run_config(
        tiny_csv, tmp_path / "killed", epochs=3, save_every_steps=3, early_stopping_patience=None
    )
    cfg["data"]["tokenizer"]["kind"] = "word"  # reproducible across processes (see build_tokenizer)
    # 72 training rows / batch 8 = 9 steps per epoch; saves at steps 3, 6, 9, end of epoch 1,
    # step 12: the 5th save is mid-epoch 2
    script = kill_script(cfg, kill_after=5)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=300,
    )
    assert proc.returncode == 137, proc.stderr[-2000:]
    state = json.loads((tmp_path / "killed/r/state/trainer.json").read_text())
    assert state["progress"]["epoch"] == 2 and state["progress"]["step_in_epoch"] == 3
    assert not (tmp_path / "killed/r/final.json").exists()
    resumed = attnzoo.train(cfg, resume=True)
    straight = attnzoo.train({**cfg, "out_dir": str(tmp_path / "straight")})
    assert resumed["test"] == straight["test"]
    assert resumed["val"] == straight["val"]
    rows_a = [json.loads(x) for x in (tmp_path / "killed/r/metrics.jsonl").read_text().splitlines()]
    rows_b = [
        json.loads(x) for x in (tmp_path / "straight/r/metrics.jsonl").read_text().splitlines()
    ]
    assert [r["val_loss"] for r in rows_a] == [r["val_loss"] for r in rows_b]
    assert [r["train_loss"] for r in rows_a] == pytest.approx(
        [r["train_loss"] for r in rows_b], rel=1e-6
    )


def test_evaluate_and_predict_from_the_run_folder(tiny_csv, tmp_path):
    result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=2))
    metrics = attnzoo.evaluate(result["run_dir"])
    assert metrics["accuracy"] == pytest.approx(result["test"]["accuracy"])
    val = attnzoo.evaluate(result["run_dir"], split="validation")
    assert val["accuracy"] == pytest.approx(result["val"]["accuracy"])
    preds = attnzoo.predict(result["run_dir"], ["bank market shares profit", "goal team match"])
    assert [set(p["probs"]) for p in preds] == [{"money", "sport", "tech"}] * 2
    assert all(abs(sum(p["probs"].values()) - 1) < 1e-5 for p in preds)


def test_load_model_rejects_truncated_and_foreign_folders(tiny_csv, tmp_path):
    result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    model_dir = Path(result["run_dir"]) / "model"
    with pytest.raises(CheckpointError, match="not an attnzoo model"):
        attnzoo.load_model(tmp_path)
    meta = model_dir / "attnzoo.json"
    original = meta.read_text()
    meta.write_text(original[:20])
    with pytest.raises(CheckpointError, match="truncated"):
        attnzoo.load_model(model_dir)
    meta.write_text(json.dumps({**json.loads(original), "format": "something-else"}))
    with pytest.raises(CheckpointError, match="not an attnzoo model folder"):
        attnzoo.load_model(model_dir)
    meta.write_text(
        json.dumps({**json.loads(original), "model": "vanished", "plugin": "attnzoo-vanished"})
    )
    with pytest.raises(CheckpointError, match="pip install attnzoo-vanished"):
        attnzoo.load_model(model_dir)
    meta.write_text(original)
    weights = model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="weights"):
        attnzoo.load_model(model_dir)
    (model_dir / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="incomplete: model.safetensors is missing"):
        attnzoo.load_model(model_dir)


def test_save_and_load_model_from_python(tmp_path):
    model = attnzoo.create_model("tiny", vocab_size=20, num_classes=2)
    attnzoo.save_model(model, tmp_path / "m", label_names=["no", "yes"])
    loaded = attnzoo.load_model(tmp_path / "m")
    assert loaded.label_names == ["no", "yes"]
    for a, b in zip(model.state_dict().values(), loaded.model.state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


def test_max_seq_len_conflict_is_explained(tiny_csv, tmp_path):
    cfg = run_config(tiny_csv, tmp_path / "runs")
    cfg["data"]["max_length"] = 64
    cfg["model_args"] = {"max_seq_len": 16}
    with pytest.raises(ConfigError, match="exceeds the model's max_seq_len=16"):
        attnzoo.train(cfg)


TRAIN_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {here!r})
    import attnzoo, tinymodels
    from attnzoo.plugins import get_host

    get_host().register(tinymodels, "tinyplugin", "tinyplugin")
    attnzoo.train(json.loads({cfg!r}))
    """
)


def test_two_fresh_processes_running_one_run_yaml_give_identical_runs(tiny_csv, tmp_path):
    """With the default WordPiece tokenizer: its trainer breaks ties in hash order, so each
    process would learn its own vocabulary; the content-addressed cache gives both the same."""
    env = {**os.environ, "ATTNZOO_CACHE": str(tmp_path / "cache")}
    finals, weights = [], []
    for out in ("first", "second"):
        cfg = run_config(tiny_csv, tmp_path / out, epochs=2)
        cfg["data"]["tokenizer"]["kind"] = "wordpiece"
        script = TRAIN_SCRIPT.format(here=str(HERE), cfg=json.dumps(cfg))
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        final = json.loads((tmp_path / out / "r" / "final.json").read_text())
        finals.append({k: final[k] for k in ("val", "test", "best_epoch", "num_parameters")})
        weights.append((tmp_path / out / "r" / "model" / "model.safetensors").read_bytes())
    assert finals[0] == finals[1]
    assert weights[0] == weights[1]
    assert (tmp_path / "first/r/tokenizer.json").read_text() == (
        tmp_path / "second/r/tokenizer.json"
    ).read_text()
