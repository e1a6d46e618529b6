"""Splitting a training set into train/validation/test: seeded and recorded in run.yaml."""

from __future__ import annotations

import math

import numpy as np


def stratified_split(labels: np.ndarray, fractions: list[float], seed: int) -> list[np.ndarray]:
    """Indices ``[rest, part_1, ...]``: each part takes ``fraction`` of every class."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(len(fractions) + 1)]
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        start = 0
        for k, frac in enumerate(fractions, start=1):
            take = math.floor(len(idx) * frac + 0.5) if len(idx) > 2 else 0
            parts[k].extend(idx[start : start + take].tolist())
            start += take
        parts[0].extend(idx[start:].tolist())
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
