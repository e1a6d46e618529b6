"""attnzoo: research architectures as real, comparable software.

Importing this package is cheap: it never imports torch, tensorflow or transformers. The
heavy parts of the API (``create_model``, ``train`` ...) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attnzoo.hookspecs import hookimpl
from attnzoo.registry import list_datasets, list_metrics, list_models, list_plugins, model_info

__version__ = "0.1.1"

_LAZY = {
    "create_model": "attnzoo.api",
    "save_model": "attnzoo.api",
    "load_model": "attnzoo.api",
    "load_dataset": "attnzoo.api",
    "train": "attnzoo.api",
    "evaluate": "attnzoo.api",
    "predict": "attnzoo.api",
    "RunConfig": "attnzoo.config",
    "ModelConfig": "attnzoo.config",
    "TextClassifierConfig": "attnzoo.config",
}

__all__ = [
    "ModelConfig",
    "RunConfig",
    "TextClassifierConfig",
    "__version__",
    "create_model",
    "evaluate",
    "hookimpl",
    "list_datasets",
    "list_metrics",
    "list_models",
    "list_plugins",
    "load_dataset",
    "load_model",
    "model_info",
    "predict",
    "save_model",
    "train",
]

if TYPE_CHECKING:
    from attnzoo.api import (
        create_model,
        evaluate,
        load_dataset,
        load_model,
        predict,
        save_model,
        train,
    )
    from attnzoo.config import ModelConfig, RunConfig, TextClassifierConfig


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'attnzoo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
