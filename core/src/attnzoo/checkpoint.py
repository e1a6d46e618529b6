"""Portable model folders: ``attnzoo.json`` + ``config.json`` + the processor's JSON files
(``processor.json``, ``tokenizer.json`` or ``schema.json``) + weights (no pickle).

Loading reads JSON, rebuilds the model from its registered class and config, and loads
safetensors / Keras ``.weights.h5`` weights: nothing in the folder is ever executed.
"""

from __future__ import annotations

import importlib.metadata as md
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attnzoo.artifact import ModelArtifact
from attnzoo.errors import CheckpointError, UnknownNameError
from attnzoo.io import atomic_dir, atomic_write_json

FORMAT = "attnzoo-model/1"
#: the ``attnzoo.json`` keys :func:`model_metadata` derives (the rest is the artifact's extra)
_WRITTEN_KEYS = frozenset(
    {"format", "model", "task", "input_kind", "framework", "plugin", "plugin_version"}
    | {"core_version", "weights"}
)


@dataclass
class LoadedModel:
    """A model with everything needed to use it: config, labels, processor, backend."""

    model: Any
    name: str
    config: Any
    meta: dict[str, Any]
    processor: Any
    backend: Any

    @property
    def label_names(self) -> list[str]:
        return list(self.meta.get("labels") or [])

    @property
    def artifact(self) -> ModelArtifact:
        """The folder's description, as :func:`write_model_dir` takes it to save it again."""
        from attnzoo.registry import get_model_spec, split_preset

        extra = {k: v for k, v in self.meta.items() if k not in _WRITTEN_KEYS}
        spec = get_model_spec(split_preset(self.name)[0])
        return ModelArtifact(spec, self.name, self.config, self.processor, extra)

    @property
    def tokenizer(self) -> Any:
        """The text processor's tokenizer (``None`` for other input kinds or pre-tokenized ids)."""
        return getattr(self.processor, "tokenizer", None)


def _dist_version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return ""


def model_metadata(artifact: ModelArtifact, backend: Any) -> dict[str, Any]:
    """The ``attnzoo.json`` of ``artifact``'s folder (the format every reader expects)."""
    spec = artifact.spec
    return {
        "format": FORMAT,
        "model": artifact.name,
        "task": spec.task,
        "input_kind": spec.input_kind,
        "framework": spec.framework,
        "plugin": spec.plugin,
        "plugin_version": _dist_version(spec.plugin) if spec.plugin else "",
        "core_version": _dist_version("attnzoo-core"),
        "weights": backend.weights_file,
        **artifact.extra,
    }


def write_model_dir(path: str | Path, artifact: ModelArtifact, model: Any, backend: Any) -> Path:
    """Write a complete model folder atomically (the old one stays whole until the swap)."""

    def _write(tmp: Path) -> None:
        atomic_write_json(tmp / "config.json", artifact.config.model_dump(mode="json"))
        if artifact.processor is not None:
            artifact.processor.save(tmp)
        backend.save_weights(model, tmp)
        # attnzoo.json last: its presence marks the folder as complete
        atomic_write_json(tmp / "attnzoo.json", model_metadata(artifact, backend))

    return atomic_dir(path, _write)


def find_model_dir(path: str | Path) -> Path:
    """Accept a model folder or a run folder (which holds ``model/``)."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{str(p)!r} does not exist.")
    if (p / "model" / "attnzoo.json").exists():
        return p / "model"
    if (p / "attnzoo.json").exists():
        return p
    old = p / ".model.old"
    if (old / "attnzoo.json").exists():  # a crash between the two renames of atomic_dir
        return old
    if (p / "run.yaml").exists():
        raise CheckpointError(
            f"Run folder {str(p)!r} has no saved model yet (no model/attnzoo.json): the run ended before its first checkpoint."
        )
    raise CheckpointError(
        f"{str(p)!r} is not an attnzoo model or run folder: no attnzoo.json in it or in {str(p / 'model')!r}."
    )


def read_meta(model_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((model_dir / "attnzoo.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"{model_dir / 'attnzoo.json'} is unreadable or truncated: {exc}"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{model_dir} is not an attnzoo model folder (format {meta.get('format') if isinstance(meta, dict) else None!r}, expected {FORMAT!r})."
        )
    for key in ("model", "framework", "weights"):
        if key not in meta:
            raise CheckpointError(
                f"{model_dir / 'attnzoo.json'} lacks {key!r}: the folder is damaged."
            )
    return meta


def load_model_dir(path: str | Path) -> LoadedModel:
    from attnzoo.config import validate_config
    from attnzoo.registry import get_model_spec, get_trainer_spec, split_preset

    model_dir = find_model_dir(path)
    meta = read_meta(model_dir)
    name = meta["model"]
    try:
        spec = get_model_spec(split_preset(name)[0])
    except UnknownNameError:
        plugin = meta.get("plugin") or "the plugin that provides it"
        raise CheckpointError(
            f"{model_dir} holds a {name!r} model from {plugin!r} {meta.get('plugin_version', '')}, which is not installed. "
            f"Install it: pip install {plugin}"
        ) from None
    if meta.get("plugin") and spec.plugin and meta["plugin"] != spec.plugin:
        raise CheckpointError(
            f"{model_dir} was saved by {meta['plugin']!r} but {name!r} is now provided by {spec.plugin!r}."
        )
    for required in ("config.json", meta["weights"]):
        if not (model_dir / required).exists():
            raise CheckpointError(f"{model_dir} is incomplete: {required} is missing.")
    try:
        cfg_data = json.loads((model_dir / "config.json").read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{model_dir / 'config.json'} is truncated or not JSON: {exc}"
        ) from None
    config = validate_config(spec.load_config_class(), cfg_data, where=f"config of {model_dir}")
    backend = get_trainer_spec(spec.framework).load_factory()()
    model = backend.build_model(spec, config)
    try:
        backend.load_weights(model, model_dir)
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(
            f"Could not load weights from {model_dir / meta['weights']}: {exc}"
        ) from exc
    return LoadedModel(model, name, config, meta, read_processor(model_dir, meta), backend)


def read_processor(model_dir: Path, meta: dict[str, Any]) -> Any:
    """The folder's processor; a folder written before ``processor.json`` existed holds a
    text model with (or, for token-id streams, without) a ``tokenizer.json``."""
    from attnzoo.data.processors import load_processor
    from attnzoo.data.processors.text import DEFAULT_MAX_LENGTH, TextProcessor
    from attnzoo.data.tokenizer import load_tokenizer

    processor = load_processor(model_dir)
    if processor is not None:
        return processor
    tok_path = model_dir / "tokenizer.json"
    if tok_path.exists():
        return TextProcessor(
            load_tokenizer(tok_path), max_length=int(meta.get("max_length") or DEFAULT_MAX_LENGTH)
        )
    if meta.get("pretokenized"):
        return TextProcessor(
            max_length=int(meta.get("max_length") or DEFAULT_MAX_LENGTH),
            pretokenized_vocab_size=0,
        )
    return None
