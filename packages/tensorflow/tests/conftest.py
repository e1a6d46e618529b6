"""The engine's tests train ``tinykeras`` (a tiny Keras model registered by hand, below) and,
where attnzoo-atrt is installed too, ``atrt.tiny``."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("ATTNZOO_STRICT_PLUGINS", "1")
# this package's plugin (the tensorflow trainer) and, when installed, ATRT; nothing else
os.environ["ATTNZOO_LOAD_PLUGINS"] = "tensorflow,atrt"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ATTNZOO_CACHE", tempfile.mkdtemp(prefix="attnzoo-test-cache-"))


def fresh_registry() -> None:
    """A freshly loaded registry with the tiny Keras test plugin registered by hand."""
    import tinykeras

    import attnzoo.plugins as plugins

    plugins.reset()
    plugins.get_host().register(tinykeras, "tinykeras", "tinykeras")


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Every test starts from a fresh registry (module fixtures call fresh_registry too)."""
    import attnzoo.plugins as plugins

    fresh_registry()
    yield
    plugins.reset()


@pytest.fixture(scope="session")
def toy_file(tmp_path_factory):
    from attnzoo.testing import make_text_dataset

    return make_text_dataset(tmp_path_factory.mktemp("data"), n=180, fmt="jsonl")


def run_config(data: Path, out: Path, name: str, model: str = "tinykeras", **train) -> dict:
    """A tiny run: word tokenizer (reproducible across processes), 2 epochs of batch 16."""
    return {
        "model": model,
        "dataset": str(data),
        "out_dir": str(out),
        "name": name,
        "data": {"tokenizer": {"kind": "word", "min_frequency": 1}},
        "train": {"epochs": 2, "batch_size": 16, "lr": 3e-3, "progress": False, **train},
    }
