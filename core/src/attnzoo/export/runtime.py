"""Load an export folder and predict with ONNX Runtime or the LiteRT interpreter alone.

With an ONNX export neither torch nor TensorFlow is imported; a LiteRT export uses the
``ai-edge-litert`` interpreter (``pip install 'attnzoo-core[litert]'``) and falls back to
TensorFlow's own ``tf.lite.Interpreter`` only when that is not installed. The processor
(tokenizer or schema) is loaded from the export folder with the same loader as a model folder's.

Every file is checked against the manifest's sha256 before it is used; the model file is
handed to the runtime as the bytes that were checked (ONNX external data cannot be resolved
from bytes, so an export cannot make the runtime read files outside its folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.errors import CheckpointError, MissingDependencyError
from attnzoo.export.manifest import (
    MANIFEST_FILE,
    check_all_files,
    check_file,
    is_export_dir,
    read_manifest,
)

__all__ = ["ExportBackend", "is_export_dir", "load_export", "probabilities"]

VERIFICATION_FILE = "verification.json"


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities as core's torch backend computes them: softmax, or sigmoid for one logit."""
    z = np.asarray(logits, dtype=np.float32)
    if z.ndim == 1 or z.shape[-1] == 1:
        p = 1.0 / (1.0 + np.exp(-z.reshape(-1)))
        return np.stack([1 - p, p], axis=-1).astype(np.float32)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _threads(threads: int | None) -> int:
    if threads:
        return int(threads)
    return int(os.environ.get("OMP_NUM_THREADS") or 0)  # 0: the runtime's default


class OnnxRunner:
    """An ONNX Runtime session on the CPU: ``logits(batch)`` for a dict of numpy arrays."""

    def __init__(self, model_bytes: bytes, input_names: list[str], threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependencyError(
                "This export needs ONNX Runtime: pip install 'attnzoo-core[onnx]'."
            ) from None
        options = ort.SessionOptions()
        n = _threads(threads)
        if n:
            options.intra_op_num_threads = n
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_names = input_names
        have = [i.name for i in self.session.get_inputs()]
        if sorted(have) != sorted(input_names):
            raise CheckpointError(
                f"The ONNX model reads inputs {have}, but its manifest says {input_names}: the "
                "export folder is inconsistent. Export the run again."
            )

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: np.ascontiguousarray(batch[name]) for name in self.input_names}
        return np.asarray(self.session.run(None, feeds)[0])


def litert_interpreter_class() -> Any:
    """``ai_edge_litert``'s Interpreter, else TensorFlow's (which imports TensorFlow)."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    try:
        import tensorflow as tf

        return tf.lite.Interpreter
    except ImportError:
        raise MissingDependencyError(
            "This export needs the LiteRT interpreter: pip install 'attnzoo-core[litert]'."
        ) from None


class LiteRTRunner:
    """A LiteRT (TFLite) interpreter. The flatbuffer has batch 1 and a free sequence axis (the
    converter cannot legalise the models' new-axis slices with both axes free), so a batch is
    run one example at a time, each cut to its own length: the padding a batch adds is never
    computed, and a masked model's output does not depend on it."""

    def __init__(self, model_bytes: bytes, input_names: list[str], threads: int | None = None):
        cls = litert_interpreter_class()
        n = _threads(threads)
        self.interpreter = cls(model_content=model_bytes, **({"num_threads": n} if n else {}))
        details = self.interpreter.get_input_details()
        by_name = {}
        for d in details:
            match = [n for n in input_names if d["name"].endswith(n) or n in d["name"]]
            if len(match) != 1:
                raise CheckpointError(
                    f"The LiteRT model's input {d['name']!r} matches none (or several) of the "
                    f"manifest's inputs {input_names}: the export folder is inconsistent."
                )
            by_name[match[0]] = d
        self.inputs = by_name
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self._shape: tuple[int, ...] | None = None

    def _run_one(self, row: dict[str, np.ndarray]) -> np.ndarray:
        shape = next(iter(row.values())).shape
        if shape != self._shape:
            for name, d in self.inputs.items():
                self.interpreter.resize_tensor_input(d["index"], list(row[name].shape))
            self.interpreter.allocate_tensors()
            self._shape = shape
        for name, d in self.inputs.items():
            self.interpreter.set_tensor(d["index"], row[name].astype(d["dtype"], copy=False))
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self.output_index))

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        names = list(self.inputs)
        mask = batch.get("attention_mask")
        out = []
        for i in range(len(batch[names[0]])):
            row = {n: batch[n][i : i + 1] for n in names}
            if mask is not None:  # drop this row's trailing padding (text: real tokens first)
                length = max(int(mask[i].sum()), 1)
                row = {n: v[:, :length] for n, v in row.items()}
            out.append(self._run_one(row))
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


class ExportBackend:
    """The part of :class:`attnzoo.backend.Backend` that prediction uses, over a runtime."""

    def __init__(self, framework: str) -> None:
        self.framework = framework

    def predict_proba(self, model: Any, batches: Iterable[dict[str, np.ndarray]]) -> np.ndarray:
        out = [
            probabilities(model.logits({k: v for k, v in b.items() if k != "labels"}))
            for b in batches
        ]
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)

    def num_parameters(self, model: Any) -> int:
        return 0


RUNNERS = {"onnx": OnnxRunner, "litert": LiteRTRunner}


def _json_file(directory: Path, manifest: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        data = json.loads(check_file(directory, manifest, name))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{directory / name} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{directory / name} must hold a JSON object.")
    return data


def load_export(
    directory: str | Path, *, threads: int | None = None, allow_unverified: bool = False
) -> Any:
    """An export folder as a :class:`attnzoo.checkpoint.LoadedModel` whose model is a runtime
    session, so :func:`attnzoo.predict` works on it unchanged.

    ``threads``: intra-op threads of the runtime (default ``$OMP_NUM_THREADS`` or the
    runtime's own). An export whose verification failed is refused unless ``allow_unverified``.
    """
    from attnzoo.checkpoint import LoadedModel
    from attnzoo.data.processors import load_processor

    directory = Path(directory)
    manifest = read_manifest(directory)
    check_all_files(directory, manifest)
    verification = manifest.get("verification") or {}
    if not allow_unverified and not verification.get("passed"):
        raise CheckpointError(
            f"{directory} did not pass its verification ({VERIFICATION_FILE}: "
            f"{verification.get('reason') or 'no report'}); it is not used. Export again with a "
            "looser --tolerance if the difference is acceptable."
        )
    meta = _json_file(directory, manifest, "attnzoo.json")
    config = _json_file(directory, manifest, "config.json")
    input_names = [str(i["name"]) for i in manifest["inputs"]]
    fmt = manifest["export_format"]
    model_bytes = check_file(directory, manifest, manifest["model_file"])
    runner = RUNNERS[fmt](model_bytes, input_names, threads)
    processor = load_processor(directory)
    if processor is None:
        raise CheckpointError(
            f"{directory} has no processor.json, so raw inputs cannot be encoded: the export "
            f"folder is incomplete (see {MANIFEST_FILE})."
        )
    meta = {**meta, "export": {k: manifest.get(k) for k in ("export_format", "quantization")}}
    return LoadedModel(
        runner, str(meta.get("model", "")), config, meta, processor, ExportBackend(fmt)
    )
