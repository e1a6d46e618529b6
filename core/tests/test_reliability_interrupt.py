"""Interruption: Ctrl-C saves resumable state at the current step (a second one exits at once),
and the leftovers of a killed run are cleaned on the next start or resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import HERE, run_config
from reliability_helpers import cli_run

import attnzoo
from attnzoo import hookimpl
from attnzoo.plugins import get_host


class CtrlC:
    """Presses Ctrl-C (a real SIGINT to this process) ``times`` times at the first state save."""

    def __init__(self, times: int = 1) -> None:
        self.times, self.done = times, False

    @hookimpl
    def on_checkpoint_saved(self, run, path):
        if path.endswith("state") and not self.done:
            self.done = True
            for _ in range(self.times):
                signal.raise_signal(signal.SIGINT)


def _config(tiny_csv, out):
    # 72 training rows / batch 8 = 9 steps per epoch; state saved every 2 steps
    cfg = run_config(tiny_csv, out, epochs=2, save_every_steps=2, early_stopping_patience=None)
    cfg["data"]["tokenizer"]["kind"] = "word"
    return cfg


def test_ctrl_c_saves_state_at_the_current_step_and_exits_130(tiny_csv, tmp_path):
    cfg = _config(tiny_csv, tmp_path / "runs")
    (tmp_path / "run.yaml").write_text(json.dumps(cfg))
    host = get_host()
    host.register(CtrlC(), "ctrl-c")
    try:
        res = cli_run("train", str(tmp_path / "run.yaml"))
    finally:
        host.unregister("ctrl-c")
    run = tmp_path / "runs" / "r"
    assert res.exit_code == 130, res.output
    assert f"Resume with: attnzoo train {run / 'run.yaml'} --resume" in res.output
    assert "Traceback" not in res.output
    # Ctrl-C came at the save of step 2; the trainer finished step 3 and saved there
    progress = json.loads((run / "state" / "trainer.json").read_text())["progress"]
    assert (progress["epoch"], progress["step_in_epoch"], progress["global_step"]) == (1, 3, 3)
    assert not (run / "final.json").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored

    resumed = attnzoo.train(run / "run.yaml", resume=True)
    straight = attnzoo.train({**cfg, "out_dir": str(tmp_path / "straight")})
    assert resumed["val"] == straight["val"] and resumed["test"] == straight["test"]
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    ref = [json.loads(x) for x in (tmp_path / "straight/r/metrics.jsonl").read_text().splitlines()]
    assert [r["val_loss"] for r in rows] == [r["val_loss"] for r in ref]
    assert [r["train_loss"] for r in rows] == pytest.approx([r["train_loss"] for r in ref])


SECOND_CTRL_C = textwrap.dedent(
    """
    import os, sys, json, signal
    sys.path.insert(0, {here!r})
    os.environ["ATTNZOO_LOAD_PLUGINS"] = ""
    from attnzoo import hookimpl
    from attnzoo.cli.main import main
    from attnzoo.plugins import get_host
    import tinymodels

    class CtrlCTwice:
        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state"):
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGINT)
                print("still running after two Ctrl-C", flush=True)

    get_host().register(tinymodels, "tinyplugin", "tinyplugin")
    get_host().register(CtrlCTwice(), "twice")
    main(["train", {yaml!r}])
    """
)


def test_a_second_ctrl_c_exits_at_once(tiny_csv, tmp_path):
    (tmp_path / "run.yaml").write_text(json.dumps(_config(tiny_csv, tmp_path / "runs")))
    script = SECOND_CTRL_C.format(here=str(HERE), yaml=str(tmp_path / "run.yaml"))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "Interrupted again: exiting now" in proc.stderr
    assert "still running" not in proc.stdout
    progress = json.loads((tmp_path / "runs/r/state/trainer.json").read_text())["progress"]
    assert progress["global_step"] == 2  # the last complete state stays: resumable


def test_leftovers_of_a_killed_run_are_cleaned_on_resume(tiny_csv, tmp_path):
    cfg = _config(tiny_csv, tmp_path / "runs")
    cfg["train"]["epochs"] = 1

    class Stop:
        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state"):
                raise KeyboardInterrupt

    host = get_host()
    host.register(Stop(), "stop")
    try:
        with pytest.raises(KeyboardInterrupt):
            attnzoo.train(cfg)
    finally:
        host.unregister("stop")
    run = tmp_path / "runs" / "r"
    # what a kill -9 in the middle of atomic_dir leaves: the half-written new folder, and the
    # complete old one moved aside before the new one was swapped in
    (run / ".state.k2j4l.tmp").mkdir()
    (run / ".state.k2j4l.tmp" / "model.safetensors").write_bytes(b"half")
    (run / ".metrics.jsonl.abc.tmp").write_text("half")
    os.replace(run / "state", run / ".state.old")
    result = attnzoo.train(cfg, resume=True)
    assert result["status"] == "completed"
    names = sorted(p.name for p in run.iterdir())
    assert not [n for n in names if n.endswith(".tmp") or n.endswith(".old")], names
    assert "state" in names
    # it resumed from the restored state (step 2), not from scratch
    straight = attnzoo.train({**cfg, "out_dir": str(tmp_path / "straight")})
    assert result["test"] == straight["test"]


def test_overwrite_starts_clean(tiny_csv, tmp_path):
    cfg = run_config(tiny_csv, tmp_path / "runs", epochs=1)
    attnzoo.train(cfg)
    run = tmp_path / "runs" / "r"
    (run / ".state.zz.tmp").mkdir()
    attnzoo.train(cfg, overwrite=True)
    assert not (run / ".state.zz.tmp").exists()
