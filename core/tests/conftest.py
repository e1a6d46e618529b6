from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("ATTNZOO_STRICT_PLUGINS", "1")
# core's tests exercise core alone: installed plugin packages are not loaded (tests that need
# entry points run them in a subprocess with their own environment)
os.environ["ATTNZOO_LOAD_PLUGINS"] = ""
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# trained tokenizers are cached by content: keep the tests' cache out of the user's home
os.environ.setdefault("ATTNZOO_CACHE", tempfile.mkdtemp(prefix="attnzoo-test-cache-"))
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="attnzoo-test-hf-datasets-"))


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Every test starts from a freshly loaded registry with the tiny test plugin."""
    import attnzoo.plugins as plugins

    plugins.reset()
    import tinymodels

    plugins.get_host().register(tinymodels, "tinyplugin", "tinyplugin")
    yield
    plugins.reset()


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    from attnzoo.testing.data import make_text_dataset

    return make_text_dataset(tmp_path / "data", n=90)


def run_config(data: Path, out: Path, **train) -> dict:
    return {
        "model": "tiny",
        "dataset": str(data),
        "out_dir": str(out),
        "name": "r",
        "data": {"tokenizer": {"vocab_size": 200, "min_frequency": 1}},
        "train": {"epochs": 2, "progress": False, **train},
    }
