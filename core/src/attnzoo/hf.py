"""Pretrained Hugging Face encoders for any model package: resolve, then build, offline first.

An encoder reference is a local model folder (loaded with ``local_files_only=True``), an
installed pip package's folder (``pkg:<package>/<folder>``, found through distribution metadata,
never by importing the package), or a hub id (needs a network). A transformers config dict
builds a randomly initialised encoder instead (tests, from-scratch runs).

``transformers`` is an optional dependency of core (``pip install 'attnzoo-core[hf]'``):
importing this module never imports it; building an encoder does, with a clear error when it
is missing.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

PKG_PREFIX = "pkg:"


def resolve_pretrained(ref: str) -> str:
    """Turn ``"pkg:<package>/<sub/folder>"`` into the folder inside an installed distribution.

    A model folder's config.json can hold such a reference, so resolving it must never import
    anything it names: the package is looked up in the installed distributions' metadata
    (:func:`importlib.metadata.packages_distributions`, which reads ``top_level.txt`` /
    ``RECORD`` files), never with ``find_spec``/``import``, and the folder must lie inside it.
    Any other value (a local folder or a hub id) is returned unchanged.
    """
    if not ref.startswith(PKG_PREFIX):
        return ref
    package, sub = _split_pkg_reference(ref)
    owners = _distributions_providing(package, tuple(sys.path))
    if not owners:
        raise ValueError(
            f"pretrained={ref!r} needs the Python package {package!r}, which is not installed. "
            f"Install it with `pip install {package.replace('_', '-')}`, or set pretrained to a "
            "local model folder."
        )
    dist = md.distribution(owners[0])
    root = Path(str(dist.locate_file(package))).resolve()
    folder = (root / sub).resolve()
    if not folder.is_relative_to(root) or not folder.is_dir():
        raise ValueError(
            f"pretrained={ref!r}: package {package!r} is installed but has no folder {str(folder)!r}. "
            f"Reinstall it with `pip install --force-reinstall {owners[0]}`."
        )
    return str(folder)


def _split_pkg_reference(ref: str) -> tuple[str, str]:
    """``pkg:<package>/<folder>`` -> (package, folder), refusing dotted names and escapes."""
    package, _, sub = ref[len(PKG_PREFIX) :].partition("/")
    if not package.isidentifier():
        raise ValueError(
            f"pretrained={ref!r}: expected 'pkg:<python_package>/<folder>' with a top-level package "
            f"name (letters, digits and '_', no dots), got {package!r}."
        )
    parts = PurePosixPath(sub).parts
    if not parts or sub.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in sub:
        raise ValueError(
            f"pretrained={ref!r}: the folder after the package must be a relative path inside it "
            f"(e.g. 'pkg:{package}/model'), without '..'."
        )
    return package, sub


@functools.lru_cache(maxsize=64)
def _distributions_providing(package: str, search_path: tuple[str, ...]) -> list[str]:
    """Installed distributions whose metadata lists top-level ``package`` (cached per sys.path:
    config validation runs on every assignment, and the scan reads every distribution)."""
    return list(md.packages_distributions().get(package, []))


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise ImportError(
            "A pretrained encoder needs the 'transformers' package, which is not installed. "
            "Install it with `pip install 'attnzoo-core[hf]'` (or `pip install transformers`)."
        ) from None
    return transformers


def load_encoder(
    pretrained: str | None = None,
    *,
    hf_config: Mapping[str, Any] | None = None,
    vocab_size: int | None = None,
    pad_token_id: int | None = None,
) -> Any:
    """The bare encoder (``AutoModel``): from ``pretrained`` or, randomly initialised, ``hf_config``.

    For ``hf_config``, ``vocab_size`` and ``pad_token_id`` (the run's trained tokenizer) win over
    the dict's. ``pretrained`` is tried as a local folder first, then the hub.
    """
    if (pretrained is None) == (hf_config is None):
        raise ValueError("load_encoder() needs exactly one of 'pretrained' and 'hf_config'.")
    tf = _transformers()
    if hf_config is not None:
        return tf.AutoModel.from_config(_config_from_dict(tf, hf_config, vocab_size, pad_token_id))
    assert pretrained is not None
    source = resolve_pretrained(pretrained)
    if Path(source).exists():
        return tf.AutoModel.from_pretrained(source, local_files_only=True)
    try:
        return tf.AutoModel.from_pretrained(source)
    except OSError as exc:
        raise ValueError(
            f"Could not load the encoder {source!r}: it is not a local folder and the Hugging Face "
            f"hub could not provide it (offline, or a misspelt id). Download it where a network is "
            f"available (`huggingface-cli download {source} --local-dir DIR`) and set pretrained "
            f"to DIR. Cause: {exc}"
        ) from exc


def _config_from_dict(
    tf: Any, hf_config: Mapping[str, Any], vocab_size: int | None, pad_token_id: int | None
) -> Any:
    kwargs = dict(hf_config)
    model_type = kwargs.pop("model_type", None)
    if not model_type:
        raise ValueError(
            f"hf_config needs a 'model_type' key (e.g. 'bert'), got keys {sorted(hf_config)}."
        )
    if vocab_size is not None:
        kwargs["vocab_size"] = vocab_size
    if pad_token_id is not None:
        kwargs["pad_token_id"] = pad_token_id
    return tf.AutoConfig.for_model(model_type, **kwargs)
