"""MovieLens 100k (Harper & Konstan 2015) as a CTR table: click = rating >= 4.

One row per rating: the user (``user_id``, ``age``, ``gender``, ``occupation``), the movie
(``item_id``, its first listed ``genre``, release ``year``), when (``hour`` and ``weekday``,
UTC, from ``timestamp``), and the user's behaviour before it: ``item_history`` and
``genre_history``, the movies (and their genres) the user rated strictly earlier, oldest
first, at most ``max_history`` of the latest. ``history="clicks"`` keeps only earlier clicks.
The rating itself is not a column (it is the label).

Splits: ``user_id`` is the group and ``timestamp`` the time column, so attnzoo's default CTR
split is per-user temporal (each user's last 10% of ratings are test, the 10% before them
validation; ``data.val_fraction``/``data.test_fraction``); ``--set data.split=random`` gives
the random row split. Files: see :mod:`attnzoo_datasets.movielens_files` (fetched, verified,
cached; ``path=`` reads a local folder instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from attnzoo.data import Dataset
from attnzoo.errors import DataError
from attnzoo_datasets.ctr_history import history_rows, list_array
from attnzoo_datasets.movielens_files import Tables, obtain, read_tables

CATEGORICAL = (
    "user_id", "item_id", "age", "gender", "occupation", "genre", "year", "hour", "weekday",
)  # fmt: skip
SEQUENCES = {"item_history": "item_id", "genre_history": "genre"}


def load_movielens_100k(
    path: str | None = None,
    threshold: int = 4,
    max_history: int = 50,
    history: Literal["all", "clicks"] = "all",
    online: bool = True,
) -> Dataset:
    """The ml-100k CTR table (one ``train`` split; attnzoo makes validation/test from it).

    Args:
        path: a local folder of ml-100k files (GroupLens' or RecBole's); default: fetch.
        threshold: ratings at or above it are clicks.
        max_history: the most recent earlier events kept per row.
        history: ``all`` earlier ratings, or only earlier ``clicks``.
        online: try GroupLens before the registry's wheel (a 5 s timeout when offline).
    """
    if history not in ("all", "clicks"):
        raise DataError(f"movielens-100k: history must be 'all' or 'clicks', got {history!r}.")
    if max_history < 1:
        raise DataError(f"movielens-100k: max_history must be at least 1, got {max_history}.")
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise DataError(f"movielens-100k: path {str(folder)!r} is not a folder.")
        tables, source = read_tables(folder), str(folder)
    else:
        tables, source = obtain(online=online)
    table = ctr_columns(tables, threshold, max_history, history)
    import datasets

    labels = table["label"].to_numpy()
    clicks = float(labels.mean()) if len(labels) else 0.0
    return Dataset(
        {"train": datasets.Dataset(table)},
        ["0", "1"],
        name="movielens-100k",
        input_kind="tabular",
        task="ctr",
        processor_hints={
            "categorical": list(CATEGORICAL),
            "numeric": [],
            "sequences": dict(SEQUENCES),
        },
        group_column="user_id",
        time_column="timestamp",
        description=(
            f"MovieLens 100k as CTR (rating >= {threshold}; {clicks:.1%} clicks), "
            f"{len(labels)} ratings, histories of earlier {history}; source: {source}"
        ),
    )


def ctr_columns(tables: Tables, threshold: int, max_history: int, history: str) -> pa.Table:
    """The CTR table, rows ordered by user, then time, then item (whole-column operations)."""
    r = tables.ratings
    order = np.lexsort((r["item"], r["timestamp"], r["user"]))
    user, item, rating, ts = (r[k][order] for k in ("user", "item", "rating", "timestamp"))
    label = (rating >= threshold).astype(np.int64)
    user_row = _positions(tables.users["user"], user)  # row of each rating's user (-1: none)
    item_row = _positions(tables.items["item"], item)
    genre = [g[0] if g else None for g in tables.items["genres"]]
    clicks = label == 1 if history == "clicks" else None
    offsets, hist_rows = history_rows(user, ts, max_history, clicks)

    def take(values: list, rows: np.ndarray, type_: pa.DataType) -> pa.Array:
        table = pa.array([*values, None], type_)  # row -1 takes the trailing null
        return table.take(pa.array(np.where(rows < 0, len(values), rows)))

    users, items = tables.users, tables.items
    item_genre = take(genre, item_row, pa.string())
    return pa.table(
        {
            "user_id": user,
            "item_id": item,
            "age": take(users["age"], user_row, pa.int64()),
            "gender": take(users["gender"], user_row, pa.string()),
            "occupation": take(users["occupation"], user_row, pa.string()),
            "genre": item_genre,
            "year": take(items["year"], item_row, pa.int64()),
            "hour": (ts // 3600) % 24,
            "weekday": (ts // 86400 + 3) % 7,  # 1970-01-01 was a Thursday; Monday = 0
            "item_history": list_array(offsets, pa.array(item[hist_rows])),
            "genre_history": list_array(offsets, item_genre.take(hist_rows)),
            "timestamp": ts,
            "label": label,
        }
    )


def _positions(keys: list, values: np.ndarray) -> np.ndarray:
    """Index of each value in ``keys`` (-1 where absent)."""
    k = np.asarray(keys, dtype=np.int64)
    order = np.argsort(k, kind="stable")
    pos = np.searchsorted(k[order], values)
    pos = np.minimum(pos, max(len(k) - 1, 0))
    hit = (k[order][pos] == values) if len(k) else np.zeros(len(values), bool)
    return np.where(hit, order[pos] if len(k) else -1, -1)
