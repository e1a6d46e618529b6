from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from attnzoo.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_models_and_plugins_json():
    out = json.loads(invoke("models", "--json").output)
    assert [m["name"] for m in out] == ["tiny"]
    assert out[0]["presets"] == ["wide"]
    plugins = {p["name"]: p for p in json.loads(invoke("plugins", "--json").output)}
    assert plugins["tinyplugin"]["models"] == ["tiny"]


def test_models_framework_choices_come_from_the_registered_trainers():
    assert [
        m["name"] for m in json.loads(invoke("models", "--framework", "torch", "--json").output)
    ]
    res = CliRunner().invoke(cli, ["models", "--framework", "torh"])
    assert res.exit_code == 1 and "Did you mean 'torch'" in res.output


def test_info_on_model_and_unknown_name():
    assert json.loads(invoke("info", "tiny.wide", "--json").output)["preset"] == "wide"
    fields = json.loads(invoke("info", "tiny", "--json").output)["config_fields"]
    assert fields and all({"type", "default", "description"} <= set(f) for f in fields.values())
    res = CliRunner().invoke(cli, ["info", "tinny"])
    assert res.exit_code == 1 and "Did you mean 'tiny'" in res.output


def test_train_evaluate_predict_info(tiny_csv, tmp_path):
    res = invoke(
        "train",
        "--model",
        "tiny",
        "--dataset",
        str(tiny_csv),
        "--out",
        str(tmp_path),
        "--name",
        "cli",
        "--set",
        "epochs=2",
        "--set",
        "progress=false",
        "--set",
        "data.tokenizer.min_frequency=1",
        "--json",
    )
    final = json.loads(res.output)
    run = tmp_path / "cli"
    assert final["run_dir"] == str(run)
    ev = json.loads(invoke("evaluate", str(run), "--json").output)
    assert abs(ev["accuracy"] - final["test"]["accuracy"]) < 1e-9
    lines = (
        invoke("predict", str(run), "goal team match", "bank profit").output.strip().splitlines()
    )
    assert [json.loads(x)["text"] for x in lines] == ["goal team match", "bank profit"]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "phone software"}\n')
    assert json.loads(invoke("predict", str(run), "--input", str(jsonl)).output)["label"] in {
        "money",
        "sport",
        "tech",
    }
    info = json.loads(invoke("info", str(run), "--json").output)
    assert info["model"]["model"] == "tiny" and info["epochs"] == 2
    again = CliRunner().invoke(cli, ["train", str(run / "run.yaml")])
    assert again.exit_code == 1 and "already exists" in again.output


def test_train_usage_errors(tmp_path):
    res = CliRunner().invoke(cli, ["train", "--model", "tiny"])
    assert res.exit_code == 2 and "both --model and --dataset" in res.output
    res = CliRunner().invoke(
        cli, ["train", "--model", "tiny", "--dataset", str(tmp_path / "nope.csv")]
    )
    assert res.exit_code == 1 and "does not exist" in res.output
    res = CliRunner().invoke(
        cli, ["train", "--model", "tiny", "--dataset", "x.csv", "--set", "epoch=2"]
    )
    assert res.exit_code == 1 and "Did you mean" in res.output


def _fresh(
    args: list[str], extra_path: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    code = textwrap.dedent(
        f"""
        import sys, json
        from attnzoo.cli import main
        try:
            main({args!r})
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
        print("\\nHEAVY=" + json.dumps([m for m in ("torch", "tensorflow", "keras", "transformers") if m in sys.modules]))
        sys.exit(code or 0)
        """
    )
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ATTNZOO_LOAD_PLUGINS", "ATTNZOO_STRICT_PLUGINS")
    }
    full_env.update(env)
    if extra_path is not None:
        full_env["PYTHONPATH"] = os.pathsep.join([str(extra_path), full_env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_listing_in_a_fresh_interpreter_imports_no_framework():
    for args in (["models", "--json"], ["plugins", "--json"], ["--help"], ["datasets", "--json"]):
        proc = _fresh(args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1] == "HEAVY=[]", (args, proc.stdout[-500:])


def _install_broken_plugin(site: Path) -> None:
    """A real installed distribution (dist-info + entry point) whose plugin module raises on import."""
    (site / "broken_attnzoo_plugin.py").write_text(
        "raise RuntimeError('this plugin is broken on purpose')\n"
    )
    dist = site / "broken_attnzoo_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-attnzoo-plugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text("[attnzoo.plugins]\nbroken = broken_attnzoo_plugin\n")


def test_broken_installed_plugin_is_reported_not_fatal(tmp_path):
    _install_broken_plugin(tmp_path)
    proc = _fresh(["plugins", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout.split("\nHEAVY=")[0])}
    assert "broken on purpose" in rows["broken"]["error"]
    assert rows["broken"]["distribution"] == "broken-attnzoo-plugin"
    assert all(r["error"] is None for name, r in rows.items() if name != "broken")
    listing = _fresh(["models", "--json"], tmp_path)
    assert listing.returncode == 0
    assert "failed to load (broken)" in listing.stderr
    strict = _fresh(["models", "--json"], tmp_path, ATTNZOO_STRICT_PLUGINS="1")
    assert strict.returncode != 0 and "broken on purpose" in strict.stderr
    disabled = _fresh(["plugins", "--json"], tmp_path, ATTNZOO_DISABLE_PLUGINS="broken")
    assert "broken" not in {r["name"] for r in json.loads(disabled.stdout.split("\nHEAVY=")[0])}
