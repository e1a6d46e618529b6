"""Export trained runs to ONNX (torch models) and LiteRT (Keras models), verified and runnable
without torch or TensorFlow: ``attnzoo export RUN_DIR --format onnx [--quantize int8]``.

Nothing heavy is imported here: :mod:`attnzoo.export.runtime` imports only numpy and the chosen
runtime, :mod:`attnzoo.export.onnx` / :mod:`attnzoo.export.litert` import torch / TensorFlow
when called.
"""

from __future__ import annotations

from typing import Any

from attnzoo.export.manifest import MANIFEST_FILE, is_export_dir

__all__ = ["MANIFEST_FILE", "export_run", "is_export_dir", "load_export"]


def export_run(*args: Any, **kwargs: Any) -> Any:
    """See :func:`attnzoo.export.build.export_run`."""
    from attnzoo.export.build import export_run as run

    return run(*args, **kwargs)


def load_export(*args: Any, **kwargs: Any) -> Any:
    """See :func:`attnzoo.export.runtime.load_export`."""
    from attnzoo.export.runtime import load_export as load

    return load(*args, **kwargs)
