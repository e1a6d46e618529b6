"""Data-parallel training: two CPU processes (torchrun, gloo) train one run.

Only rank 0 writes the run folder, the metrics are reduced across ranks, a run killed mid-way
resumes under the launcher, and the result matches a single-process run with the same global
batch (the tiny model has no dropout, so the two differ only by floating-point summation order).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_config
from kill_script import kill_script

import attnzoo


def _launch(cfg: dict, tmp_path: Path, *, kill_after: int = 0, resume: bool = False):
    script = tmp_path / "train_dp.py"
    script.write_text(kill_script(cfg, kill_after, resume=resume))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", str(script)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _config(data: Path, out: Path, batch_size: int) -> dict:
    cfg = run_config(
        data, out, epochs=3, batch_size=batch_size, save_every_steps=4, early_stopping_patience=None
    )
    cfg["data"]["tokenizer"]["kind"] = "word"  # reproducible across processes
    cfg["model_args"] = {"dropout": 0.0}
    return cfg


def test_two_processes_train_one_run_like_one_process(tiny_csv, tmp_path):
    # 72 training rows: one process at batch 8 and two at batch 4 each both take 9 steps an
    # epoch over the same global batches (the epoch's permutation is shared)
    single = attnzoo.train(_config(tiny_csv, tmp_path / "single", batch_size=8))
    cfg = _config(tiny_csv, tmp_path / "dp", batch_size=4)
    run_dir = tmp_path / "dp" / "r"

    # killed on rank 0 at its 4th state save (steps 4, 8, 9 = end of epoch 1, then 12); the launcher ends rank 1 too
    killed = _launch(cfg, tmp_path, kill_after=4)
    assert killed.returncode != 0, killed.stdout[-2000:] + killed.stderr[-3000:]
    state = json.loads((run_dir / "state/trainer.json").read_text())
    assert state["progress"]["epoch"] == 2 and state["progress"]["step_in_epoch"] == 3
    assert not (run_dir / "final.json").exists()

    resumed = _launch(cfg, tmp_path, resume=True)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    results = [
        line.split(" ", 2) for line in resumed.stdout.splitlines() if line.startswith("RESULT")
    ]
    assert sorted(rank for _, rank, _ in results) == ["0", "1"]
    assert results[0][2] == results[1][2]  # every rank returns the same result

    final = json.loads((run_dir / "final.json").read_text())
    assert final["test"]["accuracy"] == pytest.approx(single["test"]["accuracy"])
    assert final["test"]["loss"] == pytest.approx(single["test"]["loss"], rel=1e-4)
    dp_rows, single_rows = _rows(run_dir), _rows(tmp_path / "single/r")
    assert [r["epoch"] for r in dp_rows] == [1, 2, 3]  # one row per epoch: one writer
    for dp, one in zip(dp_rows, single_rows, strict=True):
        assert dp["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)
        assert dp["val_accuracy"] == pytest.approx(one["val_accuracy"])
        # the training loss and accuracy are reduced over both ranks' batches
        assert dp["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)
        assert dp["train_accuracy"] == pytest.approx(one["train_accuracy"])
        assert dp["global_step"] == one["global_step"]
    # one TensorBoard writer, one lock, nothing a second writer would leave
    assert len(list((run_dir / "tb").glob("events.*"))) == 2  # the killed attempt + the resume
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in (tmp_path / "single/r").iterdir() if not p.name.startswith(".")
    )

    # launched again without --resume: rank 0 refuses the existing folder, and rank 1 stops with
    # rank 0's reason instead of waiting for a folder that will not come
    before = (run_dir / "final.json").read_bytes()
    again = _launch(cfg, tmp_path)
    assert again.returncode != 0
    assert "Rank 0 could not open the run folder: RunFolderError" in again.stderr
    assert "already exists" in again.stderr
    assert (run_dir / "final.json").read_bytes() == before
