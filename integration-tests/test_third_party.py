"""attnzoo-example installed from its wheel into a bare venv, like a third-party plugin."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


def attnzoo(venv: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ATTNZOO_")}
    full.update(env)
    return subprocess.run(
        [str(venv / "bin" / "attnzoo"), *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
    )


def test_example_wheel_registers_its_model(fresh_venv):
    proc = attnzoo(fresh_venv, "models", "--json")
    assert proc.returncode == 0, proc.stderr
    models = {m["name"]: m for m in json.loads(proc.stdout)}
    assert models["example"]["plugin"] == "attnzoo-example"
    assert "tiny" in models["example"]["presets"]


def test_broken_plugin_next_to_the_example(fresh_venv, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "broken_attnzoo_plugin.py").write_text("raise ImportError('broken on purpose')\n")
    dist = site / "broken_attnzoo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-attnzoo-plugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text("[attnzoo.plugins]\nbroken = broken_attnzoo_plugin\n")
    env = {"PYTHONPATH": str(site)}
    listing = attnzoo(fresh_venv, "models", "--json", **env)
    assert listing.returncode == 0, listing.stderr
    assert "example" in [m["name"] for m in json.loads(listing.stdout)]
    plugins = {
        p["name"]: p for p in json.loads(attnzoo(fresh_venv, "plugins", "--json", **env).stdout)
    }
    assert "broken on purpose" in plugins["broken"]["error"]
    assert plugins["example"]["error"] is None and plugins["example"]["models"] == ["example"]
    strict = attnzoo(fresh_venv, "models", **env, ATTNZOO_STRICT_PLUGINS="1")
    assert strict.returncode != 0 and "broken on purpose" in strict.stderr


def test_listing_imports_no_framework_in_the_fresh_venv(fresh_venv):
    code = "import sys, attnzoo; attnzoo.list_models(); print([m for m in ('torch', 'tensorflow') if m in sys.modules])"
    proc = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.strip() == "[]", proc.stderr


def test_trains_from_the_wheel(fresh_venv, tmp_path):
    from attnzoo.testing.data import make_text_dataset

    data = make_text_dataset(tmp_path, n=60)
    proc = attnzoo(
        fresh_venv,
        "train",
        "--model",
        "example.tiny",
        "--dataset",
        str(data),
        "--out",
        str(tmp_path / "runs"),
        "--set",
        "epochs=2",
        "--set",
        "progress=false",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert Path(result["run_dir"], "model", "model.safetensors").exists()
