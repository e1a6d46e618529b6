"""Security and data loss: each test attempts the attack of one row of core/docs/reliability.md
and shows that nothing outside the run changed and that no code ran (a marker file)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from conftest import run_config
from reliability_helpers import cli_run, snapshot, write_pickle_bomb

import attnzoo
from attnzoo import hookimpl
from attnzoo.errors import CheckpointError, ConfigError, DuplicateNameError, RunFolderError
from attnzoo.plugins import get_host
from attnzoo.specs import ModelSpec


def _train_args(data: Path, out: Path, name: str, *extra: str) -> list[str]:
    return [
        "train", "--model", "tiny", "--dataset", str(data), "--out", str(out), "--name", name,
        "--set", "epochs=1", "--set", "progress=false",
        "--set", "data.tokenizer.min_frequency=1", *extra,
    ]  # fmt: skip


# -- run names: one path component -----------------------------------------------------------
@pytest.mark.parametrize("name", ["..", ".", "../escape", "a/b", "ABSOLUTE"])
@pytest.mark.parametrize("overwrite", [True, False])
def test_run_name_outside_out_is_refused(tiny_csv, tmp_path, name, overwrite):
    home = tmp_path / "X"
    (home / "runs").mkdir(parents=True)
    (home / "precious.txt").write_text("keep me")
    if name == "ABSOLUTE":
        name = str(tmp_path / "elsewhere")
    before = snapshot(tmp_path)
    res = cli_run(*_train_args(tiny_csv, home / "runs", name, *(["--overwrite"] * overwrite)))
    assert res.exit_code == 1, res.output
    assert "one path component" in res.output
    assert snapshot(tmp_path) == before  # nothing deleted, nothing written


def test_overwrite_refuses_a_folder_that_is_not_a_run(tiny_csv, tmp_path):
    (tmp_path / "runs" / "thesis").mkdir(parents=True)
    (tmp_path / "runs" / "thesis" / "chapter1.tex").write_text("years of work")
    before = snapshot(tmp_path)
    res = cli_run(*_train_args(tiny_csv, tmp_path / "runs", "thesis", "--overwrite"))
    assert res.exit_code == 1 and "not an attnzoo run folder" in res.output
    assert "Nothing was removed" in res.output
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_a_run_folder_holding_foreign_files(tiny_csv, tmp_path):
    attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    (tmp_path / "runs" / "r" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    with pytest.raises(RunFolderError, match=r"files attnzoo did not write \(notes.txt\)"):
        attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1), overwrite=True)
    assert snapshot(tmp_path) == before


def test_overwrite_says_what_it_removes(tiny_csv, tmp_path, caplog):
    attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    (tmp_path / "runs" / "sibling.txt").write_text("next to the run")
    with caplog.at_level("WARNING", logger="attnzoo.runs"):
        attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1), overwrite=True)
    removed = [r.getMessage() for r in caplog.records if "removing run folder" in r.getMessage()]
    assert len(removed) == 1
    assert str(tmp_path / "runs" / "r") in removed[0]
    assert "run.yaml" in removed[0] and "state/" in removed[0] and "model/" in removed[0]
    assert (tmp_path / "runs" / "sibling.txt").read_text() == "next to the run"


def test_overwrite_refuses_a_symlinked_run_folder(tiny_csv, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "run.yaml").write_text("model: tiny\ndataset: x\n")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "r").symlink_to(target)
    before = snapshot(tmp_path)
    with pytest.raises(RunFolderError, match="symbolic link"):
        attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1), overwrite=True)
    assert snapshot(tmp_path) == before


# -- resume never unpickles -------------------------------------------------------------------
@pytest.fixture
def interrupted_run(tiny_csv, tmp_path):
    """A run of 2 epochs stopped (KeyboardInterrupt) right after its first state save."""

    class StopAfterFirstState:
        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state"):
                raise KeyboardInterrupt

    cfg = run_config(tiny_csv, tmp_path / "runs", epochs=2, early_stopping_patience=None)
    cfg["data"]["tokenizer"]["kind"] = "word"
    host = get_host()
    host.register(StopAfterFirstState(), "stopper")
    try:
        with pytest.raises(KeyboardInterrupt):
            attnzoo.train(cfg)
    finally:
        host.unregister("stopper")
    return cfg, tmp_path / "runs" / "r"


def test_resume_state_holds_no_pickle(interrupted_run):
    from attnzoo.state import SAFE_SUFFIXES, _looks_like_pickle

    _, run = interrupted_run
    files = sorted(p.name for p in (run / "state").iterdir())
    assert files == [
        "model.safetensors",
        "optimizer.json",
        "optimizer.safetensors",
        "rng.json",
        "rng.safetensors",
        "trainer.json",
    ]
    for p in (run / "state").iterdir():
        assert p.suffix in SAFE_SUFFIXES and not _looks_like_pickle(p)


@pytest.mark.parametrize(
    "name",
    [
        "custom_checkpoint_0.pkl",  # what accelerate's load_state unpickles with weights_only=False
        "random_states_0.pkl",
        "optimizer.bin",
        "optimizer.safetensors",  # a pickle posing as safetensors
        "rng.json",  # ... or as JSON
    ],
)
def test_resume_refuses_a_pickle_in_state(interrupted_run, tmp_path, name):
    cfg, run = interrupted_run
    marker = tmp_path / "CODE_RAN"
    write_pickle_bomb(run / "state" / name, marker)
    before = snapshot(tmp_path, exclude=(run / ".lock",))
    with pytest.raises(CheckpointError, match=f"{name} is a pickle.*never unpickles"):
        attnzoo.train(cfg, resume=True)
    assert not marker.exists()
    assert snapshot(tmp_path, exclude=(run / ".lock",)) == before


def test_damaged_resume_state_is_a_clear_error(interrupted_run):
    cfg, run = interrupted_run
    (run / "state" / "optimizer.json").write_text('{"param_groups": [')
    with pytest.raises(CheckpointError, match="optimizer.json is not valid JSON"):
        attnzoo.train(cfg, resume=True)


# -- a copy of a run folder resumes where its files are ---------------------------------------
@pytest.mark.parametrize("via", ["cli", "api"])
def test_resuming_a_copy_writes_only_into_the_copy(interrupted_run, tmp_path, via):
    cfg, run = interrupted_run
    copy = tmp_path / "backup" / "r-copy"
    shutil.copytree(run, copy)
    original = snapshot(run)
    if via == "cli":
        res = cli_run("train", str(copy / "run.yaml"), "--resume", "--json")
        assert res.exit_code == 0, res.output
        result = json.loads(res.output)
    else:
        result = attnzoo.train(copy / "run.yaml", resume=True)
    assert Path(result["run_dir"]) == copy.absolute()
    assert snapshot(run) == original
    assert (copy / "final.json").exists() and not (run / "final.json").exists()
    assert len((copy / "metrics.jsonl").read_text().splitlines()) == 2


# -- plugin name clashes ----------------------------------------------------------------------
def _plugin(*names: str) -> types.SimpleNamespace:
    def register_models(registry):
        for n in names:
            registry.add(ModelSpec(n, "tinymodels:TinyConfig", "tinymodels:TinyModel"))

    return types.SimpleNamespace(register_models=hookimpl(register_models))


def test_plugin_name_clash_is_an_error_naming_both_and_spares_other_models(monkeypatch):
    monkeypatch.setenv("ATTNZOO_STRICT_PLUGINS", "0")
    host = get_host()
    host.register(_plugin("shared", "victim-only"), "victim", "attnzoo-victim")
    host.register(_plugin("shared", "intruder-only"), "intruder", "attnzoo-intruder")
    from attnzoo import registry

    registry.reset()
    models = attnzoo.list_models()
    assert {"tiny", "victim-only", "intruder-only"} <= set(models) and "shared" not in models
    with pytest.raises(DuplicateNameError) as err:
        attnzoo.create_model("shared")
    assert "attnzoo-victim" in str(err.value) and "attnzoo-intruder" in str(err.value)
    rows = {p["name"]: p for p in json.loads(cli_run("plugins", "--json").output)}
    for name in ("victim", "intruder"):
        assert rows[name]["error"] is None  # the plugin still works ...
        assert any("'shared'" in c for c in rows[name]["conflicts"])  # ... and shows the clash
    assert rows["victim"]["models"] == ["victim-only"]
    table = cli_run("plugins").output
    assert "Plugin clash" in table and "'shared'" in table


def test_plugin_name_clash_raises_in_strict_mode():
    get_host().register(_plugin("tiny"), "intruder", "attnzoo-intruder")
    with pytest.raises(DuplicateNameError, match="tinyplugin.*attnzoo-intruder"):
        attnzoo.list_models()


# -- one process per run ----------------------------------------------------------------------
HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from attnzoo.locks import RunLock
    RunLock.acquire(sys.argv[1])
    print("locked", flush=True)
    time.sleep(120)
    """
)


def test_a_second_resume_of_a_running_run_gets_a_one_line_error(interrupted_run):
    cfg, run = interrupted_run
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        before = snapshot(run)
        res = cli_run("train", str(run / "run.yaml"), "--resume")
        assert res.exit_code == 1
        message = res.output.strip()
        assert "\n" not in message and "Traceback" not in message
        assert f"in use by process {holder.pid}" in message
        assert snapshot(run) == before
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # like a crash: the kernel drops the lock
        holder.wait()
    result = attnzoo.train(cfg, resume=True)
    assert result["status"] == "completed"


def test_bad_run_yaml_name_is_refused_before_anything_is_written(tiny_csv, tmp_path):
    bad = tmp_path / "cfg.yaml"
    bad.write_text(f"model: tiny\ndataset: {tiny_csv}\nout_dir: {tmp_path / 'runs'}\nname: ../..\n")
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError, match="one path component"):
        attnzoo.train(bad)
    assert snapshot(tmp_path) == before
