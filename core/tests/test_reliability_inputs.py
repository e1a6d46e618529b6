"""Bad inputs outside the data layer: each is a specific message (what, where, how to fix),
never a traceback, in the CLI and the Python API alike."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from conftest import HERE, run_config
from reliability_helpers import cli_run

import attnzoo
from attnzoo import hookimpl
from attnzoo.errors import ConfigError, UnavailableNameError
from attnzoo.plugins import get_host


def test_run_yaml_with_a_syntax_error_names_the_line(tiny_csv, tmp_path):
    bad = tmp_path / "run.yaml"
    bad.write_text(f"model: tiny\ndataset: {tiny_csv}\ntrain: {{epochs: 2\n")
    res = cli_run("train", str(bad))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{bad} is not valid YAML at line" in res.output
    with pytest.raises(ConfigError, match="is not valid YAML at line"):
        attnzoo.train(bad)


def test_run_yaml_that_is_not_a_mapping(tmp_path):
    bad = tmp_path / "run.yaml"
    bad.write_text("- model\n- tiny\n")
    res = cli_run("train", str(bad))
    assert res.exit_code == 1 and "expected a YAML mapping" in res.output


@pytest.mark.parametrize(
    ("setting", "suggestion"),
    [
        ("train.epoch=2", "Did you mean 'epochs'?"),
        ("train.loss.nme=focal", "Did you mean 'name'?"),
        ("data.tokenizer.vocab=300", "Did you mean 'vocab_size'?"),
        ("data.max_lenght=64", "Did you mean 'max_length'?"),
        ("model.d_modl=8", "Did you mean 'd_model'?"),
        ("epoch=2", "Did you mean 'epochs'?"),
    ],
)
def test_set_offers_did_you_mean_at_every_level(tiny_csv, tmp_path, setting, suggestion):
    res = cli_run("train", "--model", "tiny", "--dataset", str(tiny_csv),
                  "--out", str(tmp_path / "runs"), "--set", setting)  # fmt: skip
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert suggestion in res.output, res.output
    assert not (tmp_path / "runs").exists()


def test_nested_unknown_key_in_run_yaml_is_matched_in_its_own_section(tiny_csv, tmp_path):
    cfg = {"model": "tiny", "dataset": str(tiny_csv), "train": {"epoch": 2}}
    with pytest.raises(ConfigError) as err:
        attnzoo.train(cfg)
    message = str(err.value)
    assert "unknown key 'train.epoch'. Did you mean 'epochs'?" in message
    assert "Valid keys: batch_size" in message  # the train section's keys, not the top level's


def test_an_installed_plugin_that_failed_is_not_called_missing(tiny_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNZOO_STRICT_PLUGINS", "0")

    def broken(registry):
        raise ImportError("cannot import name 'Thing' from 'somelib'")

    get_host().register(
        types.SimpleNamespace(register_models=hookimpl(broken)), "brokenplug", "attnzoo-broken"
    )
    from attnzoo import registry

    registry.reset()
    with pytest.raises(UnavailableNameError) as err:
        attnzoo.create_model("broken-model")
    assert "Installed but failed to load" in str(err.value)
    assert "attnzoo-broken" in str(err.value) and "cannot import name 'Thing'" in str(err.value)
    res = cli_run("train", "--model", "broken-model", "--dataset", str(tiny_csv))
    assert res.exit_code == 1 and "not installed" not in res.output
    assert "Installed but failed to load" in res.output


def test_a_model_folder_of_a_failed_plugin_is_not_called_missing(tiny_csv, tmp_path, monkeypatch):
    result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    monkeypatch.setenv("ATTNZOO_STRICT_PLUGINS", "0")

    def broken(registry):
        raise ImportError("cannot import name 'Thing' from 'somelib'")

    host = get_host()  # the plugin that wrote the folder is still installed, but now broken
    host.unregister("tinyplugin")
    host.register(
        types.SimpleNamespace(register_models=hookimpl(broken)), "tinyplugin", "tinyplugin"
    )
    from attnzoo import registry

    registry.reset()
    with pytest.raises(UnavailableNameError) as err:
        attnzoo.load_model(result["run_dir"])
    assert "Installed but failed to load" in str(err.value)
    assert "not installed" not in str(err.value)


def test_an_unwritable_out_is_one_line(tiny_csv, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    res = cli_run("train", "--model", "tiny", "--dataset", str(tiny_csv),
                  "--out", str(tmp_path / "file" / "runs"), "--set", "epochs=1")  # fmt: skip
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "Cannot access" in res.output and str(tmp_path / "file") in res.output


def test_resume_and_overwrite_together_is_a_usage_error(tiny_csv):
    res = cli_run("train", "--model", "tiny", "--dataset", str(tiny_csv), "--resume",
                  "--overwrite")  # fmt: skip
    assert res.exit_code == 2 and "exclude each other" in res.output


# -- a full disk ------------------------------------------------------------------------------
DISK_FULL = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {here!r})
    os.environ["ATTNZOO_LOAD_PLUGINS"] = ""
    from pathlib import Path
    import attnzoo
    from attnzoo import hookimpl
    from attnzoo.errors import DiskFullError
    from attnzoo.plugins import get_host
    import tinymodels

    disk = Path({disk!r})
    filler = disk / "filler.bin"

    class FillDisk:
        '''After the first complete state, take every free byte of the disk.'''
        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state") and not filler.exists():
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
                for size in (65536, 1):
                    try:
                        while True:
                            os.write(fd, bytes(size))
                    except OSError:
                        pass
                os.close(fd)

    get_host().register(tinymodels, "tinyplugin", "tinyplugin")
    get_host().register(FillDisk(), "fill")
    cfg = json.loads({cfg!r})
    out = {{}}
    try:
        attnzoo.train(cfg)
    except DiskFullError as exc:
        out["error"] = str(exc)
    out["state"] = json.loads((disk / "runs/r/state/trainer.json").read_text())["progress"]
    filler.unlink()  # the user frees space ...
    get_host().unregister("fill")
    out["resumed"] = attnzoo.train(cfg, resume=True)["status"]  # ... and resumes
    print("RESULT " + json.dumps(out))
    """
)


def _can_mount_tmpfs() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare to mount a small tmpfs")
def test_a_full_disk_says_where_and_keeps_the_last_state_resumable(tiny_csv, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    cfg = run_config(tiny_csv, disk / "runs", epochs=3, early_stopping_patience=None)
    cfg["data"]["tokenizer"]["kind"] = "word"
    script = DISK_FULL.format(here=str(HERE), disk=str(disk), cfg=json.dumps(cfg))
    (tmp_path / "script.py").write_text(script)
    # a real ENOSPC: an 8 MiB tmpfs, mounted in a private mount namespace of the child only
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c",
         f"mount -t tmpfs -o size=8m tmpfs {disk} && exec {sys.executable} {tmp_path / 'script.py'}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    assert out["error"].startswith(f"Disk full at {disk / 'runs' / 'r'}")
    assert "resumable" in out["error"]
    assert out["state"]["epoch"] == 2  # the last complete state: after epoch 1
    assert out["resumed"] == "completed"
    assert not Path(disk / "runs").exists()  # the tmpfs lived in the child's namespace only


def test_resume_with_nothing_to_resume_says_so(tiny_csv, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="attnzoo.runs"):
        result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1), resume=True)
    assert result["status"] == "completed"
    assert any("nothing to resume" in r.getMessage() for r in caplog.records)


def test_a_folder_left_with_only_its_lock_is_a_fresh_start(tiny_csv, tmp_path):
    (tmp_path / "runs" / "r").mkdir(parents=True)
    (tmp_path / "runs" / "r" / ".lock").write_text("")  # a start that died before run.yaml
    result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    assert result["status"] == "completed"
