"""Shared by the export tests: plugins registered by hand, tiny runs trained once per module."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

#: registered model name -> the (plugin module, distribution) pairs it needs: the model's
#: package and, for atrt, the TensorFlow engine's (attnzoo-tensorflow registers the trainer)
PLUGINS = {
    "transformer": [("attnzoo_baselines.plugin", "attnzoo-baselines")],
    "deepfm": [("attnzoo_baselines.plugin", "attnzoo-baselines")],
    "dsp": [("attnzoo_dsp.plugin", "attnzoo-dsp")],
    "diffusion": [("attnzoo_diffusion.plugin", "attnzoo-diffusion")],
    "atrt": [
        ("attnzoo_tensorflow.plugin", "attnzoo-tensorflow"),
        ("attnzoo_atrt.plugin", "attnzoo-atrt"),
    ],
}


def register_plugin(model: str) -> None:
    """Register the packages that provide ``model`` (core's tests load no entry points)."""
    import attnzoo.plugins as plugins

    for module, dist in PLUGINS.get(model.split(".")[0], []):
        plugin = pytest.importorskip(module)
        host = plugins.get_host()
        if dist not in {i.distribution for i in host.plugins.values()}:
            host.register(plugin, dist, dist)


def train_tiny(model: str, root: Path, epochs: int = 1) -> Path:
    """Train ``model`` for ``epochs`` on a small synthetic text set; the run folder."""
    import attnzoo
    from attnzoo.testing.data import make_text_dataset

    register_plugin(model)
    data = make_text_dataset(root / "data", n=90)
    result = attnzoo.train(
        {
            "model": model,
            "dataset": str(data),
            "out_dir": str(root / "runs"),
            "name": model.replace(".", "-"),
            "data": {"tokenizer": {"vocab_size": 200, "min_frequency": 1}},
            "train": {"epochs": epochs, "progress": False, "batch_size": 16},
        }
    )
    return Path(result["run_dir"])


def has_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def train_tiny_ctr(model: str, root: Path, max_history: int = 6) -> Path:
    """Train ``model`` for one epoch on the synthetic CTR table (histories of ``max_history``)."""
    import attnzoo
    from attnzoo.testing import make_ctr_table

    register_plugin(model)
    data = make_ctr_table(root / "data", n=300, seed=0, fmt="parquet")
    result = attnzoo.train(
        {
            "model": model,
            "dataset": str(data),
            "out_dir": str(root / "runs"),
            "name": model.replace(".", "-"),
            "model_args": {"max_history": max_history},
            "data": {"processor": {"exclude": ["timestamp"]}},
            "train": {"epochs": 1, "progress": False, "batch_size": 64},
        }
    )
    return Path(result["run_dir"])
