"""Shared test helpers: a recorder of every tensor an operation produces (forward and backward)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class _ShapeRecorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[str, tuple[int, ...]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.shapes.append((str(func), tuple(t.shape)))
        return out


def quadratic_tensors(fn: Callable[[], torch.Tensor], n: int) -> list[tuple[str, tuple[int, ...]]]:
    """Run ``fn()`` and its backward; return every produced tensor with two dimensions >= n."""
    rec = _ShapeRecorder()
    with rec:
        fn().sum().backward()
    return [(op, s) for op, s in rec.shapes if sum(d >= n for d in s) >= 2]
