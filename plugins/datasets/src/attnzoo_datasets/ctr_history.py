"""Behaviour histories of CTR tables: each row's earlier events of the same user, vectorised."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def history_rows(
    user: np.ndarray,
    ts: np.ndarray,
    max_history: int,
    clicks: np.ndarray | None,
    select: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's history as row indices into the (user, time)-sorted table.

    A row's history is its user's rows strictly earlier in time (events in the same second are
    not history of each other), only clicked ones when ``clicks`` is given, the latest
    ``max_history`` of them, oldest first. ``select``: only these rows' histories (drawn from
    all rows). Returns list offsets (int64, one more than rows) and the history's row indices.
    """
    n = len(user)
    idx = np.arange(n)
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = user[1:] != user[:-1]
    new_time = new_user.copy()
    new_time[1:] |= ts[1:] != ts[:-1]
    user_start = np.maximum.accumulate(np.where(new_user, idx, 0))
    time_start = np.maximum.accumulate(np.where(new_time, idx, 0))
    del new_user, new_time
    if select is not None:
        user_start, time_start = user_start[select], time_start[select]
    kept = idx if clicks is None else np.flatnonzero(clicks)
    first = np.searchsorted(kept, user_start)  # the user's first kept row
    end = np.searchsorted(kept, time_start)  # kept rows before this row's time
    del user_start, time_start
    start = np.maximum(first, end - max_history)
    lengths = end - start
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths)
    within += np.repeat(start, lengths)
    return offsets, kept[within]


def list_array(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    """A list column from int64 offsets: ``list`` when they fit in int32, else ``large_list``."""
    if offsets[-1] < 2**31:
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)
    return pa.LargeListArray.from_arrays(pa.array(offsets), values)
