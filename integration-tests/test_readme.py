"""The README's own commands, run as a user runs them (with a smaller budget where noted)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ATTNZOO = [sys.executable, "-m", "attnzoo"]


def run(*args: str, cwd: Path | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATTNZOO_STRICT_PLUGINS": "1"}
    return subprocess.run(
        [*ATTNZOO, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


def readme_commands() -> list[str]:
    """Every `attnzoo ...` line of the README's shell blocks (a `uv run` prefix removed)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, re.S)
    lines = [
        re.sub(r"^uv run (--all-packages )?", "", ln.strip())
        for b in blocks
        for ln in b.splitlines()
    ]
    return [ln for ln in lines if ln.startswith("attnzoo ")]


def test_readme_lists_the_main_commands():
    commands = readme_commands()
    assert any(c.startswith("attnzoo bench quick") for c in commands), commands
    assert any(c.startswith("attnzoo models") for c in commands)


def test_every_installed_plugin_loads():
    proc = run("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r for r in rows if r["error"]] == []
    names = {r["distribution"] for r in rows}
    assert {
        "attnzoo-core",
        "attnzoo-example",
        "attnzoo-datasets",
        "attnzoo-baselines",
        "attnzoo-diffusion",
        "attnzoo-atrt",
        "attnzoo-tensorflow",
        "attnzoo-dsp",
        "attnzoo-amsdff",
    } <= names


def test_readme_train_evaluate_predict_on_bbc_news(tmp_path):
    """`attnzoo train --model example --dataset bbc-news`, then evaluate and predict (1 epoch here)."""
    train = run(
        "train",
        "--model",
        "example",
        "--dataset",
        "bbc-news",
        "--out",
        str(tmp_path),
        "--set",
        "epochs=1",
        "--json",
    )
    assert train.returncode == 0, train.stderr[-3000:]
    result = json.loads(train.stdout)
    assert result["num_examples"] == {"train": 1779, "validation": 223, "test": 223}
    assert result["test"]["accuracy"] > 0.3  # 5 balanced-ish classes: chance is ~0.23
    run_dir = result["run_dir"]
    ev = run("evaluate", run_dir, "--json")
    assert json.loads(ev.stdout)["accuracy"] == result["test"]["accuracy"]
    pred = run("predict", run_dir, "Shares in the bank fell after profits dropped")
    assert json.loads(pred.stdout)["label"] in {
        "business",
        "entertainment",
        "politics",
        "sports",
        "tech",
    }
