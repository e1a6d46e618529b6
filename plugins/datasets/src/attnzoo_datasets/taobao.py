"""Taobao display-ad click data (Alibaba, Tianchi dataset 56) from a local folder.

Reads ``raw_sample.csv`` (user, time_stamp, adgroup_id, pid, nonclk, clk), ``ad_feature.csv``
(adgroup_id, cate_id, campaign_id, customer, brand, price) and ``user_profile.csv`` (userid,
cms_segid, cms_group_id, final_gender_code, age_level, pvalue_level, shopping_level,
occupation, new_user_class_level). One row per impression, label ``clk``; the ad's and the
user's fields are joined in (missing values, ``NULL`` brands and users without a profile are
unknown); ``hour`` is the hour of day in UTC+8 (Beijing time, the data's clock); histories
``adgroup_history`` and ``cate_history`` are the user's impressions strictly earlier in time
(``history="clicks"``: earlier clicks only), oldest first, the latest ``max_history``. Ids get
their own vocabulary ids from attnzoo's tabular processor (0 is padding, 1 unknown).

Protocol ``days`` (the standard one): impressions of the last day (UTC+8) are test, the days
before are train, and validation is the latest ``val_fraction`` of train in time.
``protocol="random"``: the seed's random 70/15/15 row split, to reproduce numbers reported
on it. ``sample``: keep that fraction of impressions (seeded) after histories are built from
all of them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from attnzoo.data import Dataset
from attnzoo.errors import DataError
from attnzoo_datasets.ctr_history import history_rows, list_array

FILES = ("raw_sample.csv", "ad_feature.csv", "user_profile.csv")
UTC8 = 8 * 3600
SAMPLE_COLUMNS = ("user", "time_stamp", "adgroup_id", "pid", "clk")
AD_COLUMNS = ("adgroup_id", "cate_id", "campaign_id", "customer", "brand", "price")
USER_COLUMNS = (
    "userid", "cms_segid", "cms_group_id", "final_gender_code", "age_level", "pvalue_level",
    "shopping_level", "occupation", "new_user_class_level",
)  # fmt: skip
CATEGORICAL = (
    "user", "adgroup_id", "pid", "cate_id", "campaign_id", "customer", "brand",
    *USER_COLUMNS[1:], "hour",
)  # fmt: skip
SEQUENCES = {"adgroup_history": "adgroup_id", "cate_history": "cate_id"}


def read_csv(path: Path, columns: tuple[str, ...]) -> pa.Table:
    """The named columns of one file (headers are stripped: the public files have a trailing
    space in one); ``NULL`` and empty cells read as missing."""
    from pyarrow import csv

    if not path.is_file():
        raise DataError(
            f"taobao-ad: {path} is missing; the folder needs {', '.join(FILES)} "
            "(Tianchi dataset 56, Ali_Display_Ad_Click)."
        )
    table = csv.read_csv(
        path, convert_options=csv.ConvertOptions(null_values=["", "NULL"], strings_can_be_null=True)
    )
    table = table.rename_columns([c.strip() for c in table.column_names])
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DataError(
            f"taobao-ad: {path.name} lacks the columns {missing} (has {table.column_names})."
        )
    return table.select(list(columns))


def _join(keys: pa.ChunkedArray, on: np.ndarray) -> np.ndarray:
    """Row of ``keys`` holding each value of ``on`` (-1 where none; the first of duplicates)."""
    k = keys.to_numpy().astype(np.int64)
    order = np.argsort(k, kind="stable")
    sk = k[order]
    v = on
    if not len(sk):
        return np.full(len(v), -1)
    pos = np.minimum(np.searchsorted(sk, v), len(sk) - 1)
    return np.where(sk[pos] == v, order[pos], -1)


def _take(column: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``column[rows]``, null where ``rows`` is -1."""
    col = column.combine_chunks()
    mask = rows < 0
    return col.take(pa.array(np.where(mask, 0, rows), mask=mask if mask.any() else None))


def load_taobao_ad(
    path: str | None = None,
    max_history: int = 50,
    history: Literal["impressions", "clicks"] = "impressions",
    protocol: Literal["days", "random"] = "days",
    val_fraction: float = 0.1,
    sample: float | None = None,
    seed: int = 0,
) -> Dataset:
    """The Taobao ad-click table with train/validation/test splits (see the module docstring)."""
    if path is None:
        raise DataError(
            "taobao-ad reads a local folder: --set dataset.path=/data/taobao (with "
            f"{', '.join(FILES)}; download Ali_Display_Ad_Click from Tianchi, dataset 56)."
        )
    if history not in ("impressions", "clicks"):
        raise DataError(f"taobao-ad: history must be 'impressions' or 'clicks', got {history!r}.")
    if protocol not in ("days", "random"):
        raise DataError(f"taobao-ad: protocol must be 'days' or 'random', got {protocol!r}.")
    if sample is not None and not 0 < sample <= 1:
        raise DataError(f"taobao-ad: sample must be in (0, 1], got {sample}.")
    folder = Path(path).expanduser()
    raw = read_csv(folder / FILES[0], SAMPLE_COLUMNS)
    ads = read_csv(folder / FILES[1], AD_COLUMNS)
    profiles = read_csv(folder / FILES[2], USER_COLUMNS)
    user = raw["user"].to_numpy().astype(np.int64)
    ts = raw["time_stamp"].to_numpy().astype(np.int64)
    adgroup = raw["adgroup_id"].to_numpy().astype(np.int64)
    order = np.lexsort((adgroup, ts, user))
    raw = raw.take(pa.array(order))
    user, ts, adgroup = user[order], ts[order], adgroup[order]
    del order
    label = raw["clk"].to_numpy().astype(np.int64)
    ad_rows = _join(ads["adgroup_id"], adgroup)  # every impression's ad
    cate = _take(ads["cate_id"], ad_rows)
    select = None
    if sample is not None and sample < 1:
        select = np.flatnonzero(np.random.default_rng(seed).random(len(user)) < sample)
    offsets, hist = history_rows(
        user, ts, max_history, label == 1 if history == "clicks" else None, select
    )
    histories = {
        "adgroup_history": list_array(offsets, pa.array(adgroup[hist])),
        "cate_history": list_array(offsets, cate.take(pa.array(hist))),
    }
    del hist
    if select is not None:
        keep = pa.array(select)
        raw, cate = raw.take(keep), cate.take(keep)
        user, ts, label, ad_rows = user[select], ts[select], label[select], ad_rows[select]
    user_rows = _join(profiles["userid"], user)
    columns = {
        "user": user,
        "adgroup_id": raw["adgroup_id"],
        "pid": raw["pid"],
        "cate_id": cate,
        **{c: _take(ads[c], ad_rows) for c in ("campaign_id", "customer", "brand")},
        "price": _take(ads["price"], ad_rows).cast(pa.float64()),
        **{c: _take(profiles[c], user_rows) for c in USER_COLUMNS[1:]},
        "hour": ((ts + UTC8) // 3600) % 24,
        **histories,
        "time_stamp": ts,
        "label": label,
    }
    table = pa.table(columns)
    splits, note = split_rows(table, ts, protocol, val_fraction, seed)
    import datasets

    clicks_share = float(label.mean()) if len(label) else 0.0
    return Dataset(
        {k: datasets.Dataset(v) for k, v in splits.items()},
        ["0", "1"],
        name="taobao-ad",
        input_kind="tabular",
        task="ctr",
        processor_hints={
            "categorical": list(CATEGORICAL),
            "numeric": ["price"],
            "sequences": dict(SEQUENCES),
        },
        group_column="user",
        time_column="time_stamp",
        description=f"Taobao display ads, {len(label)} impressions ({clicks_share:.1%} clicks), "
        f"histories of earlier {history}; {note}",
    )


def split_rows(
    table: pa.Table, ts: np.ndarray, protocol: str, val_fraction: float, seed: int
) -> tuple[dict[str, pa.Table], str]:
    """``days``: the last day (UTC+8) is test, the latest ``val_fraction`` of the days before is
    validation; ``random``: a seeded 70/15/15 row split."""
    n = len(ts)
    if protocol == "random":
        perm = np.random.default_rng(seed).permutation(n)
        a, b = math.floor(0.7 * n + 0.5), math.floor(0.85 * n + 0.5)
        parts = {"train": perm[:a], "validation": perm[a:b], "test": perm[b:]}
        note = f"random 70/15/15 row split (seed {seed})"
    else:
        day = (ts + UTC8) // 86400
        if len(np.unique(day)) < 2:
            raise DataError(
                "taobao-ad: the impressions span a single day (UTC+8); the days protocol needs "
                "earlier days to train on. Use --set dataset.protocol=random."
            )
        test = np.flatnonzero(day == day.max())
        before = np.flatnonzero(day < day.max())
        by_time = before[np.argsort(ts[before], kind="stable")]
        n_val = max(1, math.floor(len(before) * val_fraction + 0.5))
        parts = {
            "train": np.sort(by_time[:-n_val]),
            "validation": np.sort(by_time[-n_val:]),
            "test": test,
        }
        note = (
            f"train: days before the last (UTC+8) but their latest {val_fraction:g} "
            "(validation); test: the last day"
        )
    for name, idx in parts.items():
        if not len(idx):
            raise DataError(f"taobao-ad: the {name} split is empty ({n} impressions).")
    return {k: table.take(pa.array(v)) for k, v in parts.items()}, note
