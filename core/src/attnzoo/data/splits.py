"""Splitting a training set into train/validation/test: seeded and recorded in run.yaml.

Every function returns index arrays ``[rest, part_1, part_2, ...]`` (sorted, disjoint, covering
every row), one part per fraction, in the order the fractions are given (validation before
test: temporal splits give the later parts the later events).

- ``stratified``: each part takes its fraction of every class (classification's default).
- ``random``: a seeded permutation.
- ``temporal``: ordered by a time column; the last rows are the last part.
- ``group_temporal``: within each group (the user), ordered by time; each group's last events
  form the last part and the ones before them the part before (the CTR/recommendation protocol).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from attnzoo.errors import DataError

SPLIT_METHODS = ("auto", "stratified", "random", "temporal", "group_temporal")


def stratified_split(labels: np.ndarray, fractions: list[float], seed: int) -> list[np.ndarray]:
    """Indices ``[rest, part_1, ...]``: each part takes ``fraction`` of every class.

    A class with two rows or fewer stays in ``rest`` (a class needs training examples first).
    """
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


def _sizes(n: int, fractions: list[float]) -> list[int]:
    return [math.floor(n * f + 0.5) for f in fractions]


def random_split(n: int, fractions: list[float], seed: int) -> list[np.ndarray]:
    """Indices ``[rest, part_1, ...]`` of a seeded permutation of ``n`` rows."""
    perm = np.random.default_rng(seed).permutation(n)
    return _cut(perm, _sizes(n, fractions))


def _cut(order: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """``order`` split into a head and then one part per size, the last part at the end."""
    ends = np.cumsum([0, *sizes[::-1]])
    n = len(order)
    tail_parts = [order[n - ends[i + 1] : n - ends[i]] for i in range(len(sizes))][::-1]
    rest = order[: n - ends[-1]]
    return [np.sort(p).astype(np.int64) for p in [rest, *tail_parts]]


def _time_order(times: Any) -> np.ndarray:
    """A stable order of rows by time (numbers, dates or ISO strings; ties keep file order)."""
    arr = np.asarray(times)
    if arr.dtype == object:
        if any(v is None for v in arr):
            row = next(i for i, v in enumerate(arr) if v is None)
            raise DataError(f"row {row + 1} has no time value; a temporal split needs one per row.")
        arr = arr.astype(str)
    elif arr.dtype.kind == "f" and np.isnan(arr).any():
        row = int(np.flatnonzero(np.isnan(arr))[0])
        raise DataError(f"row {row + 1} has no time value; a temporal split needs one per row.")
    return np.argsort(arr, kind="stable")


def temporal_split(times: Any, fractions: list[float]) -> list[np.ndarray]:
    """Indices ``[rest, part_1, ...]`` by time: the latest rows form the last part."""
    order = _time_order(times)
    return _cut(order, _sizes(len(order), fractions))


def group_temporal_split(groups: Any, times: Any, fractions: list[float]) -> list[np.ndarray]:
    """Per group, ordered by time: each group's last events are the last part.

    A group with ``n`` events gives each part ``max(1, round(n * fraction))`` of its latest
    events as long as one event stays in ``rest``; a group with fewer events than parts + 1
    stays wholly in ``rest``.
    """
    order = _time_order(times)
    g = np.asarray(groups)
    if g.dtype == object:
        g = g.astype(str)
    _, gid = np.unique(g, return_inverse=True)
    gid = gid.reshape(-1)
    # rows grouped by group, by time within a group (stable sort keeps the time order)
    by_group = order[np.argsort(gid[order], kind="stable")]
    counts = np.bincount(gid, minlength=gid.max() + 1 if len(gid) else 0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for start, n in zip(starts.tolist(), counts.tolist(), strict=True):
        rows = by_group[start : start + n]
        sizes = [max(1, math.floor(n * f + 0.5)) for f in fractions]
        if n < len(fractions) + 1:
            sizes = [0] * len(fractions)
        while sum(sizes) > n - 1:  # keep one event for training
            k = int(np.argmax(sizes))
            sizes[k] -= 1
        for k, part in enumerate(_cut(rows, sizes)):
            parts[k].append(part)
    return [
        np.sort(np.concatenate(p)).astype(np.int64) if p else np.zeros(0, np.int64) for p in parts
    ]


def resolve_method(method: str, task: str, group_column: str | None, time_column: str | None) -> str:
    """``auto``: stratified for classification; for other tasks (ctr) per-group temporal with
    a group and a time column, temporal with a time column only, else random."""
    if method != "auto":
        return method
    if task != "ctr":
        return "stratified"
    if group_column and time_column:
        return "group_temporal"
    return "temporal" if time_column else "random"


def split_indices(
    method: str,
    table: Any,
    fractions: list[float],
    seed: int,
    *,
    label_column: str,
    group_column: str | None,
    time_column: str | None,
    where: str,
) -> list[np.ndarray]:
    """Indices ``[rest, part_1, ...]`` of ``table`` (a ``datasets.Dataset``) by ``method``."""
    if method in ("temporal", "group_temporal") and not time_column:
        raise DataError(
            f"{where}: data.split={method!r} needs a time column; set --set data.time_column=NAME "
            f"(columns: {table.column_names})."
        )
    if method == "group_temporal" and not group_column:
        raise DataError(
            f"{where}: data.split='group_temporal' needs a group column (the user); set "
            f"--set data.group_column=NAME (columns: {table.column_names})."
        )
    if method == "stratified":
        return stratified_split(np.asarray(table[label_column]), fractions, seed)
    if method == "random":
        return random_split(len(table), fractions, seed)
    try:
        if method == "temporal":
            return temporal_split(table[time_column], fractions)
        if method == "group_temporal":
            return group_temporal_split(table[group_column], table[time_column], fractions)
    except DataError as exc:
        raise DataError(f"{where}, column {time_column!r}: {exc}") from None
    raise DataError(
        f"{where}: unknown split method {method!r}; choose one of {', '.join(SPLIT_METHODS)}."
    )
