"""A tiny, deterministic CTR table with a learnable click signal (no download).

Columns: ``user_id`` (string, the group column of gAUC and per-user splits), ``item_id``
(int), ``category`` (string), ``price`` and ``age`` (float), ``item_history`` (the user's
previous items, oldest first), ``timestamp`` (int seconds, increasing per user) and ``label``
(1 = click). In Parquet ``item_history`` is a real list column; in CSV it is a
space-separated string of item ids (``"12 7 33"``, empty for no history), which the tabular
processor splits (``data.processor.separator``).

Clicks follow a logistic model that a linear CTR model can learn: every item and category has
its own effect, price lowers the click rate, and a history holding items of the candidate's
category raises it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CTR_COLUMNS = (
    "user_id",
    "item_id",
    "category",
    "price",
    "age",
    "item_history",
    "timestamp",
    "label",
)


def make_ctr_rows(
    n: int = 600,
    seed: int = 0,
    *,
    num_users: int = 40,
    num_items: int = 60,
    num_categories: int = 6,
    max_history: int = 12,
) -> list[dict[str, Any]]:
    """``n`` impressions as row dicts (``item_history`` as a list of ints)."""
    rng = np.random.default_rng(seed)
    item_category = rng.integers(0, num_categories, size=num_items)
    item_effect = rng.normal(0.0, 1.2, size=num_items)
    category_effect = np.linspace(-1.0, 1.0, num_categories)
    user_age = rng.uniform(18, 70, size=num_users)
    histories: dict[int, list[int]] = {u: [] for u in range(num_users)}
    clock = {u: int(rng.integers(0, 1000)) for u in range(num_users)}
    rows = []
    for _ in range(n):
        u = int(rng.integers(0, num_users))
        item = int(rng.integers(0, num_items))
        cat = int(item_category[item])
        price = float(np.round(rng.lognormal(3.0, 0.5), 2))
        history = histories[u][-max_history:]
        same = sum(item_category[h] == cat for h in history)
        logit = (
            item_effect[item]
            + category_effect[cat]
            - 0.8 * (np.log(price) - 3.0) / 0.5
            + 0.6 * min(same, 3)
            - 0.5
        )
        label = int(rng.random() < 1.0 / (1.0 + np.exp(-logit)))
        clock[u] += int(rng.integers(1, 120))
        rows.append(
            {
                "user_id": f"u{u}",
                "item_id": 100 + item,
                "category": f"c{cat}",
                "price": price,
                "age": float(np.round(user_age[u], 1)),
                "item_history": [100 + h for h in history],
                "timestamp": clock[u],
                "label": label,
            }
        )
        if label or rng.random() < 0.3:
            histories[u].append(item)
    return rows


def make_ctr_table(folder: str | Path, n: int = 600, seed: int = 0, fmt: str = "csv") -> Path:
    """Write :func:`make_ctr_rows` as ``ctr.csv`` or ``ctr.parquet`` in ``folder``; returns its path."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = make_ctr_rows(n, seed)
    path = folder / f"ctr.{fmt}"
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
        return path
    import csv

    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CTR_COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "item_history": " ".join(map(str, row["item_history"]))})
    return path
