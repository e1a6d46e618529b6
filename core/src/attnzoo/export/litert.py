"""Keras model -> LiteRT (TFLite) flatbuffer with ``tf.lite.TFLiteConverter``; int8 post-training
quantisation (dynamic range: int8 weights, float activations, no calibration data needed).

The signature has batch 1 and a free sequence axis: with both axes free the converter cannot
legalise the ``x[:, None]`` slices of the ATRT layers (``tf.StridedSlice`` would need the
TensorFlow "flex" kernels, which the standalone LiteRT interpreter does not ship). The runtime
feeds one example at a time (:class:`attnzoo.export.runtime.LiteRTRunner`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.export.onnx import ExportError


def export_litert(
    loaded: Any, path: Path, sample: dict[str, np.ndarray], *, quantize: str | None = None
) -> dict[str, Any]:
    """Convert ``loaded.model`` (a Keras model) and write the flatbuffer to ``path``."""
    import tensorflow as tf

    names = list(sample)
    model = loaded.model
    text = loaded.processor.kind == "text"
    specs = [
        tf.TensorSpec(
            [1, None, *v.shape[2:]] if text and v.ndim >= 2 else [1, *v.shape[1:]],
            tf.as_dtype(v.dtype),
            name=n,
        )
        for n, v in sample.items()
    ]

    @tf.function(input_signature=specs)
    def serve(*inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        out = model(dict(zip(names, inputs, strict=True)), training=False)
        return {"logits": out["logits"] if isinstance(out, dict) else out}

    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    # every variable becomes a constant: a resource variable left in the flatbuffer is read
    # uninitialised by the interpreter (NaN logits)
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    flatbuffer, info = _convert(tf, frozen, model, loaded.name, quantize)
    path.write_bytes(flatbuffer)
    inputs = [
        {
            "name": n,
            "dtype": str(v.dtype),
            "shape": [1, "sequence", *map(int, v.shape[2:])]
            if text and v.ndim >= 2
            else [1, *map(int, v.shape[1:])],
        }
        for n, v in sample.items()
    ]
    return {
        "inputs": inputs,
        "outputs": [{"name": "logits", "dtype": "float32", "shape": [1, "num_classes"]}],
        "opset": None,
        "exporter": f"tf.lite.TFLiteConverter (TensorFlow {tf.__version__})",
        "max_sequence_length": int(getattr(loaded.config, "max_seq_len", 0) or 0) or None,
        **info,
    }


def _convert(
    tf: Any, frozen: Any, model: Any, name: str, quantize: str | None
) -> tuple[bytes, dict[str, Any]]:
    """The TFLite flatbuffer of a frozen concrete function (builtin ops only), and its quantisation."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    info: dict[str, Any] = {"quantization": None}
    if quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        info = {
            "quantization": "int8-dynamic-range",
            "quantizer": "tf.lite.TFLiteConverter, Optimize.DEFAULT without a representative "
            "dataset (weights int8, activations float, quantised on the fly where kernels allow)",
        }
    try:
        return converter.convert(), info
    except Exception as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ExportError(
            f"TFLiteConverter could not convert {name!r}: {first[:300]}. Only TFLite "
            "builtin ops run in the standalone interpreter; rewrite the ops it names with "
            "builtin-friendly ones (tf.expand_dims instead of x[:, None] on free axes)."
        ) from exc
