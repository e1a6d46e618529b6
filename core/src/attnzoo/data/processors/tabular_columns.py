"""Vectorised Arrow/numpy building blocks of the ``tabular`` processor.

Everything here works on whole columns: vocabulary lookups (a dense lookup table for integer
ids, ``pyarrow.compute.index_in`` for strings), behaviour sequences flattened to values plus
offsets and truncated to their most recent events, and frequency counts. No Python loop runs
per row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attnzoo.errors import DataError

PAD = 0
UNKNOWN = 1
#: ids of a vocabulary's values start after padding and unknown
FIRST_ID = 2
#: a dense integer lookup table is used when it has at most this many entries (or 8x the vocabulary)
_DENSE_LUT_MAX = 1 << 22
#: ids gathered per np.take call
_GATHER_CHUNK = 1 << 16


def as_array(column: Any) -> pa.Array:
    """One contiguous Arrow array from a column (ChunkedArray, Array or a Python sequence)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    elif not isinstance(column, pa.Array):
        column = pa.array(column)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column


def is_list_type(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def is_string_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def normalize_keys(arr: pa.Array) -> pa.Array:
    """Categorical values as ``int64`` (ints, bools, integral floats) or strings (the rest)."""
    arr = as_array(arr)
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_null(t):
        return arr.cast(pa.int64())
    if pa.types.is_floating(t):
        x = arr.to_numpy(zero_copy_only=False)
        finite = x[np.isfinite(x)]
        if np.array_equal(finite, np.floor(finite)) and (
            not len(finite) or np.abs(finite).max() < 2**53
        ):
            ints = np.where(np.isfinite(x), x, 0).astype(np.int64)
            return pa.array(ints, mask=~np.isfinite(x))
        return arr.cast(pa.string())
    if is_string_type(t):
        return arr
    return arr.cast(pa.string())


def frequent_values(arrays: Sequence[pa.Array], min_count: int) -> tuple[Any, str]:
    """The sorted values seen at least ``min_count`` times over ``arrays`` (missing ones
    ignored), as an int64 numpy array (dtype "int") or a list of strings (dtype "string")."""
    keys = [pc.drop_null(normalize_keys(a)) for a in arrays]
    keys = [k for k in keys if len(k)]
    if any(is_string_type(k.type) for k in keys):
        return _frequent_strings([k.cast(pa.string()) for k in keys], min_count), "string"
    return _frequent_ints([k.to_numpy(zero_copy_only=False) for k in keys], min_count), "int"


def _frequent_ints(parts: Sequence[np.ndarray], min_count: int) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    lo = min(int(p.min()) for p in parts)
    hi = max(int(p.max()) for p in parts)
    total = sum(len(p) for p in parts)
    if lo >= 0 and hi < max(_DENSE_LUT_MAX * 4, 4 * total):  # counting sort: O(n), sorted
        counts = np.zeros(hi + 1, dtype=np.int64)
        for p in parts:
            counts += np.bincount(p, minlength=hi + 1)
        return np.flatnonzero(counts >= min_count).astype(np.int64)
    values, counts = np.unique(np.concatenate(parts), return_counts=True)
    return values[counts >= min_count].astype(np.int64)


def _frequent_strings(parts: Sequence[pa.Array], min_count: int) -> list[str]:
    if not parts:
        return []
    counted = [pc.value_counts(p).flatten() for p in parts]
    table = pa.table(
        {
            "v": pa.concat_arrays([c[0] for c in counted]),
            "c": pa.concat_arrays([c[1] for c in counted]),
        }
    )
    if len(parts) > 1:
        table = table.group_by("v").aggregate([("c", "sum")]).rename_columns(["v", "c"])
    table = table.filter(pc.greater_equal(table["c"], min_count))
    return table["v"].take(pc.sort_indices(table["v"])).to_pylist()


class Vocabulary:
    """Sorted values of one categorical vocabulary; value ``values[i]`` has id ``i + 2``.

    Id 0 is padding and id 1 stands for every unknown or missing value. Integer values are
    kept as an int64 numpy array, strings as a list.
    """

    def __init__(self, values: Any, dtype: str) -> None:
        if dtype not in ("int", "string"):
            raise DataError(f"Vocabulary dtype must be 'int' or 'string', got {dtype!r}.")
        self.dtype = dtype
        if dtype == "int":
            self.values: Any = np.asarray(values, dtype=np.int64).reshape(-1)
            if len(self.values) > 1 and not (np.diff(self.values) > 0).all():
                self.values = np.unique(self.values)
        else:
            self.values = sorted(str(v) for v in values)
        self._lut: tuple[np.ndarray, int] | None = None
        self._value_set: pa.Array | None = None

    @property
    def size(self) -> int:
        """Number of ids, padding and unknown included."""
        return len(self.values) + FIRST_ID

    @classmethod
    def fit(cls, arrays: Sequence[pa.Array], min_count: int) -> Vocabulary:
        values, dtype = frequent_values(arrays, min_count)
        return cls(values, dtype)

    def to_json(self) -> dict[str, Any]:
        values = self.values.tolist() if self.dtype == "int" else list(self.values)
        return {"dtype": self.dtype, "values": values}

    # -- lookups ---------------------------------------------------------------------------
    def lookup(self, column: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Ids (int32) of a column's values; unseen and missing values are ``UNKNOWN``.

        ``out``: a contiguous int32 array to write the ids into (saves a temporary).
        """
        ids = self._ids(normalize_keys(column), out)
        if out is not None and ids is not out:
            out[...] = ids
            return out
        return ids

    def _ids(self, arr: pa.Array, out: np.ndarray | None) -> np.ndarray:
        if not len(self.values) or pa.types.is_null(arr.type) or arr.null_count == len(arr):
            return np.full(len(arr), UNKNOWN, dtype=np.int32)
        if self.dtype == "int" and is_string_type(arr.type):
            try:
                arr = arr.cast(pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return self._lookup_strings(arr)
        if self.dtype == "int":
            return self._lookup_ints(arr, out)
        return self._lookup_strings(arr if is_string_type(arr.type) else arr.cast(pa.string()))

    def _lookup_strings(self, arr: pa.Array) -> np.ndarray:
        if self._value_set is None:
            self._value_set = pa.array([str(v) for v in self.values], pa.string())
        if not pa.types.is_string(arr.type):
            arr = arr.cast(pa.string())
        idx = pc.index_in(arr, value_set=self._value_set).fill_null(-1)
        return (idx.to_numpy(zero_copy_only=False) + FIRST_ID).astype(np.int32)

    def _lookup_ints(self, arr: pa.Array, out: np.ndarray | None) -> np.ndarray:
        ints = self.values
        lo, hi = int(ints[0]), int(ints[-1])
        if arr.null_count:
            # a value just below the smallest known one is unknown by construction
            arr = arr.fill_null(lo - 1 if lo > np.iinfo(np.int64).min else hi + 1)
        v = arr.to_numpy(zero_copy_only=False)
        lut = self._dense_lut(lo, hi)
        if lut is not None:
            table, base = lut
            out = np.empty(len(v), dtype=np.int32) if out is None else out
            # np.take copies a read-only index array (Arrow's): gather in cache-sized pieces
            for i in range(0, len(v), _GATHER_CHUNK):
                part = v[i : i + _GATHER_CHUNK]
                np.take(
                    table,
                    part if base == 0 else part - base,
                    mode="clip",
                    out=out[i : i + len(part)],
                )
            return out
        pos = np.searchsorted(ints, v)
        np.minimum(pos, len(ints) - 1, out=pos)
        hit = ints[pos] == v
        return np.where(hit, pos + FIRST_ID, UNKNOWN).astype(np.int32)

    def _dense_lut(self, lo: int, hi: int) -> tuple[np.ndarray, int] | None:
        """A table indexed by ``value - base``; index 0 and the last index mean unknown.

        ``np.take(..., mode="clip")`` sends every value outside ``[lo, hi]`` to one of those two
        ends, so a lookup is a single gather without temporaries when ``lo >= 1`` (``base = 0``).
        """
        base = min(0, lo - 1)
        length = hi - base + 2
        if length > max(_DENSE_LUT_MAX, 8 * len(self.values)) or lo < -(2**40) or hi > 2**40:
            return None
        if self._lut is None:
            table = np.full(length, UNKNOWN, dtype=np.int32)
            table[self.values - base] = np.arange(FIRST_ID, FIRST_ID + len(self.values))
            self._lut = (table, base)
        return self._lut


# ---------------------------------------------------------------------------------------
# Behaviour sequences
# ---------------------------------------------------------------------------------------


def sequence_lists(column: Any, separator: str) -> pa.Array:
    """A list column of a sequence field: lists as they are, strings split at ``separator``.

    Empty tokens (doubled separators, an empty string) are dropped; split tokens that are all
    integers become ``int64`` so they match an integer vocabulary.
    """
    arr = as_array(column)
    t = arr.type
    if pa.types.is_fixed_size_list(t):
        arr = arr.cast(pa.list_(t.value_type))
    if pa.types.is_null(t):
        return pa.array([[] for _ in range(len(arr))], pa.list_(pa.int64()))
    if is_list_type(arr.type):
        return arr
    if not is_string_type(t):
        try:
            keys = normalize_keys(arr)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            keys = None
        if keys is None or is_string_type(keys.type):
            raise DataError(
                f"A behaviour sequence must be a list column or a {separator!r}-separated string, got {t}."
            )
        # a CSV column whose every history holds one id (or none) is read as numbers
        valid = ~np.asarray(keys.is_null(), dtype=bool)
        offsets = np.concatenate([[0], np.cumsum(valid, dtype=np.int64)])
        return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), pc.drop_null(keys))
    split = pc.split_pattern(pc.utf8_trim_whitespace(arr.fill_null("")), pattern=separator)
    values = pc.utf8_trim_whitespace(split.values)
    offsets = np.asarray(split.offsets, dtype=np.int64)
    keep = pc.not_equal(values, "").to_numpy(zero_copy_only=False)
    if not keep.all():
        kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
        offsets = kept_before[offsets]
        values = values.filter(pa.array(keep))
    with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = values.cast(pa.int64())
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values)


def truncated_parts(lists: pa.Array, max_len: int) -> tuple[pa.Array, np.ndarray, bool]:
    """The last ``max_len`` values of each list (the most recent events).

    Returns ``(values, lengths, full)``: the kept values of every row, concatenated in row
    order; the number kept per row; ``full`` when every row kept exactly ``max_len``.
    A missing list counts as empty.
    """
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    if lists.null_count:
        lengths[np.asarray(lists.is_null(), dtype=bool)] = 0
    keep = np.minimum(lengths, max_len)
    child = lists.values
    if lists.null_count == 0 and np.array_equal(keep, lengths):
        values = child.slice(offsets[0], offsets[-1] - offsets[0])
    else:
        kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        shift = np.repeat(offsets[1:] - keep - kept_before[:-1], keep)
        values = child.take(pa.array(shift + np.arange(kept_before[-1], dtype=np.int64)))
    full = bool(len(keep)) and bool((keep == max_len).all())
    return values, keep.astype(np.int32), full


def scatter_rows(ids: np.ndarray, lengths: np.ndarray, out: np.ndarray) -> None:
    """Write each row's ``lengths[i]`` ids (concatenated in ``ids``) left-aligned into ``out`` (B, L)."""
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    cols = np.arange(len(ids), dtype=np.int64) - np.repeat(starts[:-1], lengths)
    out[rows, cols] = ids
