"""torch model -> ONNX (``torch.onnx.export``, dynamo exporter), and dynamic int8 with ONNX Runtime.

The graph takes the processor's batch arrays (for text: ``input_ids`` and ``attention_mask``,
int64) with a free batch axis (and a free sequence axis for text, up to the model's
``max_seq_len``) and returns ``logits``. Probabilities are computed by the runtime exactly as
core's torch backend does, so the export and the original are compared on the same quantity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.errors import ConfigError

#: the ONNX opset written (recorded in the manifest)
OPSET = 18


class ExportError(ConfigError):
    """A model that cannot be exported; the message says why and what would make it exportable."""


def _wrapper(model: Any, names: list[str]) -> Any:
    import torch

    class LogitsOnly(torch.nn.Module):
        """Positional inputs in manifest order -> the model's ``logits``."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs, strict=True)))["logits"]

    return LogitsOnly().eval()


def check_exportable(loaded: Any) -> None:
    """Refuse early, with the reason, a model that says it cannot be exported.

    A model class may set ``onnx_export_blocker`` (a method returning ``None`` or a sentence
    that says why and which config switch makes it exportable).
    """
    blocker = getattr(loaded.model, "onnx_export_blocker", None)
    reason = blocker() if callable(blocker) else None
    if reason:
        raise ExportError(f"{loaded.name!r} cannot be exported to ONNX: {reason}")


def export_onnx(
    loaded: Any, path: Path, sample: dict[str, np.ndarray], *, opset: int = OPSET
) -> dict[str, Any]:
    """Write ``loaded.model`` to ``path``; return the manifest's inputs/outputs/opset fields."""
    import torch

    check_exportable(loaded)
    names = list(sample)
    model = loaded.model
    model.eval()
    text = loaded.processor.kind == "text"
    max_len = int(getattr(loaded.config, "max_seq_len", 0) or 0)
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    seq = torch.export.Dim("sequence", min=1, max=max_len) if text and max_len > 1 else None
    dynamic = tuple(
        {0: batch, **({1: seq} if seq is not None and v.ndim >= 2 else {})} for v in sample.values()
    )
    args = tuple(torch.as_tensor(v) for v in sample.values())
    try:
        with torch.no_grad():
            torch.onnx.export(
                _wrapper(model, names),
                args,
                str(path),
                dynamo=True,
                input_names=names,
                output_names=["logits"],
                dynamic_shapes=(dynamic,),  # one entry: the wrapper's *inputs
                opset_version=opset,
                external_data=False,
                optimize=True,
                verbose=False,
            )
    except Exception as exc:
        root = exc.__cause__ or exc
        lines = str(root).strip().splitlines()
        first = lines[0] if lines else type(root).__name__
        raise ExportError(
            f"torch.onnx could not export {loaded.name!r}: {type(root).__name__}: {first[:300]}. "
            "A model exports when its eval forward is traceable: no Python loops over data-"
            "dependent lengths and no custom autograd Function that the exporter cannot see "
            "through; give it an eval/export path made of standard ops (as diffusion's "
            "reference mix) and check the model's README for such a switch."
        ) from exc
    inputs = [
        {"name": n, "dtype": str(v.dtype), "shape": _dims(v, seq is not None)}
        for n, v in sample.items()
    ]
    return {
        "inputs": inputs,
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", "num_classes"]}],
        "opset": opset,
        "exporter": f"torch.onnx (dynamo) {torch.__version__}",
        "max_sequence_length": max_len if seq is not None else None,
    }


def _dims(v: np.ndarray, free_sequence: bool) -> list[Any]:
    """The manifest's shape of one input: named free axes, fixed sizes as numbers."""
    dims: list[Any] = ["batch", *map(int, v.shape[1:])]
    if free_sequence and v.ndim >= 2:
        dims[1] = "sequence"
    return dims


def quantize_onnx_int8(src: Path, dst: Path) -> dict[str, Any]:
    """Dynamic int8 (weights int8, activations quantised on the fly) with ONNX Runtime."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        from attnzoo.errors import MissingDependencyError

        raise MissingDependencyError(
            "int8 quantisation needs ONNX Runtime: pip install 'attnzoo-core[onnx]'."
        ) from None
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    return {
        "quantization": "int8-dynamic",
        "quantizer": "onnxruntime.quantization.quantize_dynamic (weights QInt8, per tensor; activations quantised at run time)",
    }
