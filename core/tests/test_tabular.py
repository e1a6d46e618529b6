"""The tabular input kind: fitted on train only, vectorised encode vs a per-row reference,
schema round trip, unknowns at predict time, masks and truncation."""

from __future__ import annotations

import json
import math

import datasets
import numpy as np
import pyarrow as pa
import pytest

from attnzoo.data import Dataset, load_processor
from attnzoo.data.processors import processor_class
from attnzoo.data.processors import tabular as tab
from attnzoo.data.processors.tabular import TabularProcessor, TabularSettings
from attnzoo.errors import ConfigError, DataError
from attnzoo.testing import make_ctr_rows


class _DataConfig:
    def __init__(self, **processor):
        self.processor = processor


def _dataset(train, **kw) -> Dataset:
    return Dataset({"train": train}, ["0", "1"], input_kind="tabular", task="ctr", **kw)


def _fitted(train, model_config=None, hints=None, **settings) -> TabularProcessor:
    ds = _dataset(train, processor_hints=hints or {})
    proc = TabularProcessor.from_run(_DataConfig(**settings), ds, model_config)
    proc.fit(ds)
    return proc


# ---------------------------------------------------------------------------------------
# A per-row reference: what each row should encode to, computed with plain Python
# ---------------------------------------------------------------------------------------


def _key(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        return int(v)
    return v


def _naive_fit(rows, cat, num, seqs, min_count, sep=" "):
    def tokens(v):
        if v is None:
            return []
        if isinstance(v, str):  # split tokens that are integers match an integer vocabulary
            return [int(t) if t.lstrip("-").isdigit() else t for t in v.split(sep) if t]
        return list(v)

    vocabs = {}
    for f in cat:
        counts: dict = {}
        values = [_key(r[f]) for r in rows]
        for s, shares in seqs.items():
            if shares == f:
                values += [_key(t) for r in rows for t in tokens(r[s])]
        for v in values:
            if v is not None:
                counts[v] = counts.get(v, 0) + 1
        kept = sorted(v for v, c in counts.items() if c >= min_count)
        vocabs[f] = {v: i + 2 for i, v in enumerate(kept)}
    stats = {}
    for f in num:
        xs = [r[f] for r in rows if r[f] is not None and not math.isnan(r[f])]
        mean = sum(xs) / len(xs)
        std = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs)) or 1.0
        stats[f] = (mean, std)
    return vocabs, stats, tokens


def _naive_encode(rows, vocabs, stats, seqs, tokens, length):
    cats, nums, ids, masks = [], [], [], []
    for r in rows:
        cats.append([vocabs[f].get(_key(r[f]), 1) for f in vocabs])
        nums.append(
            [
                0.0 if r[f] is None or math.isnan(r[f]) else (r[f] - m) / s
                for f, (m, s) in stats.items()
            ]
        )
        row_ids, row_mask = [], []
        for s, shares in seqs.items():
            events = [vocabs[shares].get(_key(t), 1) for t in tokens(r[s])][-length:]
            row_ids.append(events + [0] * (length - len(events)))
            row_mask.append([1] * len(events) + [0] * (length - len(events)))
        ids.append(row_ids)
        masks.append(row_mask)
    return np.array(cats), np.array(nums, dtype=np.float32), np.array(ids), np.array(masks)


def _random_rows(n, seed, string_history=False):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        hist = [int(x) for x in rng.integers(0, 30, size=int(rng.integers(0, 9)))]
        rows.append(
            {
                "shop": None if rng.random() < 0.1 else f"s{int(rng.integers(0, 12))}",
                "item_id": None if rng.random() < 0.05 else int(rng.integers(0, 30)),
                "flag": bool(rng.random() < 0.5),
                "price": None if rng.random() < 0.1 else float(rng.normal(10, 3)),
                "item_history": (" ".join(map(str, hist)) if string_history else hist)
                if rng.random() > 0.1
                else None,
                "label": int(rng.random() < 0.4),
            }
        )
    return rows


@pytest.mark.parametrize("string_history", [False, True], ids=["lists", "strings"])
def test_vectorised_encode_equals_a_per_row_reference(string_history, monkeypatch):
    monkeypatch.setattr(tab, "BLOCK_ROWS", 64)  # several blocks, one partial
    rows = _random_rows(300, seed=1, string_history=string_history)
    train, test = rows[:200], rows[200:]
    proc = _fitted(datasets.Dataset.from_list(train), max_history=5, min_count=2)
    seqs = {"item_history": "item_id"}
    assert proc.config_fields()["sequence_fields"] == seqs
    cat_fields = list(proc.config_fields()["categorical_sizes"])
    assert cat_fields == ["shop", "item_id", "flag"]
    vocabs, stats, tokens = _naive_fit(train, cat_fields, ["price"], seqs, min_count=2)
    assert proc.config_fields()["categorical_sizes"] == {f: len(v) + 2 for f, v in vocabs.items()}
    enc = proc.encode(datasets.Dataset.from_list(test))
    batch = proc.collate(enc, np.arange(enc.n))
    cats, nums, ids, masks = _naive_encode(test, vocabs, stats, seqs, tokens, 5)
    np.testing.assert_array_equal(batch["categorical"], cats)
    np.testing.assert_allclose(batch["numeric"], nums, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(batch["sequences"], ids)
    np.testing.assert_array_equal(batch["sequence_mask"], masks)
    np.testing.assert_array_equal(enc.labels, [r["label"] for r in test])
    assert {k: v.dtype for k, v in batch.items()} == {
        "categorical": np.int64,
        "numeric": np.float32,
        "sequences": np.int64,
        "sequence_mask": np.int64,
    }


def test_group_ids_are_dense_per_user_and_missing_users_get_their_own():
    train = pa.table({"item_id": [1, 2], "label": [0, 1]})
    proc = _fitted(train)
    table = pa.table(
        {"item_id": [1, 2, 1, 2], "user": ["b", "a", "b", None], "label": [0, 1, 1, 0]}
    )
    enc = proc.encode(table, group_column="user")
    assert enc.groups.tolist() == [0, 1, 0, -1]
    assert enc.labels.tolist() == [0, 1, 1, 0]


def test_fit_uses_the_training_split_only():
    train = pa.table({"item_id": [1, 2, 2], "price": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    test = pa.table({"item_id": [2, 9], "price": [100.0, 2.0], "label": [1, 0]})
    proc = _fitted(train)
    enc = proc.encode(test)
    assert enc.arrays["categorical"][0].tolist() == [3, 1]  # 9 exists only in test: unknown
    assert proc.fitted.numeric["price"] == pytest.approx((2.0, math.sqrt(2 / 3)))


def test_selected_rows_of_a_dataset_encode_like_the_table():
    rows = _random_rows(50, seed=2)
    full = datasets.Dataset.from_list(rows)
    picked = [7, 3, 41, 0, 19]
    proc = _fitted(full.select(range(30)), max_history=4)
    a = proc.encode(full.select(picked))
    b = proc.encode(pa.Table.from_pylist([rows[i] for i in picked], schema=full.data.schema))
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    # the vocabulary never saw rows 30..49: it matches a fit on those 30 rows alone
    alone = _fitted(datasets.Dataset.from_list(rows[:30]), max_history=4)
    assert alone.fitted.to_json() == proc.fitted.to_json()


def test_truncation_keeps_the_most_recent_events_and_the_mask_marks_them():
    train = pa.table({"item_id": [1, 2, 3, 4, 5, 6], "item_history": [[1, 2, 3, 4, 5, 6]] * 6})
    proc = _fitted(train, max_history=3)
    table = pa.table(
        {"item_id": [1, 1, 1, 1], "item_history": [[1, 2, 3, 4, 5], [6], [], None]},
        schema=pa.schema([("item_id", pa.int64()), ("item_history", pa.list_(pa.int64()))]),
    )
    batch = proc.collate(proc.encode(table), [0, 1, 2, 3])
    # ids are value + 1 (1 -> 2, ..., 6 -> 7): the last three events, right-padded with 0
    assert batch["sequences"][:, 0].tolist() == [[4, 5, 6], [7, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert batch["sequence_mask"][:, 0].tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_schema_round_trip(tmp_path):
    rows = make_ctr_rows(120, seed=3)
    train = datasets.Dataset.from_list(rows[:100])
    proc = _fitted(train, max_history=6, numeric_transform="bucketize", num_buckets=4)
    proc.save(tmp_path)
    assert json.loads((tmp_path / "processor.json").read_text())["kind"] == "tabular"
    schema = json.loads((tmp_path / "schema.json").read_text())
    assert schema["format"] == tab.SCHEMA_FORMAT
    assert {f["name"] for f in schema["bucketized"]} == {"price", "age"}
    again = load_processor(tmp_path)
    assert isinstance(again, TabularProcessor)
    assert again.config_fields() == proc.config_fields()
    test = datasets.Dataset.from_list(rows[100:])
    a, b = proc.encode(test), again.encode(test)
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    records = rows[100:110]
    np.testing.assert_array_equal(
        proc.from_records(records).arrays["categorical"],
        a.arrays["categorical"][:, :10],
    )


def test_unseen_and_missing_values_at_predict_time_map_to_unknown():
    train = datasets.Dataset.from_list(make_ctr_rows(80, seed=4))
    proc = _fitted(train, max_history=4)
    fields = proc.config_fields()
    a, b = proc.fitted.categorical["item_id"].values[:2]  # two known items: ids 2 and 3
    enc = proc.from_records(
        [
            {"user_id": "nobody", "item_id": 10**12, "category": "zz", "price": 3.5},
            {},  # every field missing
            {"item_id": str(a), "item_history": f"{a} 999999 {b}", "age": "33"},
            {"item_id": float(a), "item_history": [str(b), "x"]},
        ]
    )
    batch = proc.collate(enc, np.arange(enc.n))
    cat = dict(zip(fields["categorical_sizes"], batch["categorical"].T, strict=True))
    assert cat["user_id"][:2].tolist() == [1, 1] and cat["category"][:2].tolist() == [1, 1]
    assert cat["item_id"].tolist() == [1, 1, 2, 2]  # "a", a and float(a) are the same item
    assert batch["sequences"][2:, 0].tolist() == [[2, 1, 3, 0], [3, 1, 0, 0]]
    assert batch["sequence_mask"][:, 0].sum(1).tolist() == [0, 0, 3, 2]
    mean_age, std_age = proc.fitted.numeric["age"]
    assert batch["numeric"][1].tolist() == [0.0, 0.0]  # missing numeric: the train mean
    assert batch["numeric"][2, 1] == pytest.approx((33 - mean_age) / std_age)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"item_id": [1, 2]}, "field 'item_id' is categorical"),
        ({"price": "cheap"}, "field 'price' is numeric"),
        ({"item_history": {"a": 1}}, "field 'item_history' is a behaviour sequence"),
        ("just text", "one JSON object of fields per row"),
    ],
)
def test_wrong_types_at_predict_time_are_clear_errors(record, message):
    proc = _fitted(datasets.Dataset.from_list(make_ctr_rows(40, seed=5)))
    with pytest.raises(DataError, match=message):
        proc.from_records([{}, record])


def test_field_kinds_are_inferred_from_arrow_types_without_label_group_time():
    table = datasets.Dataset.from_list(make_ctr_rows(50, seed=6))
    ds = _dataset(table, group_column="user_id", time_column="timestamp")
    proc = TabularProcessor.from_run(_DataConfig(), ds, None)
    proc.fit(ds)
    assert proc.config_fields()["numeric_fields"] == ["price", "age"]
    assert list(proc.config_fields()["categorical_sizes"]) == ["item_id", "category"]
    assert proc.config_fields()["sequence_fields"] == {"item_history": "item_id"}
    assert proc.max_history == tab.DEFAULT_MAX_HISTORY


def test_settings_hints_model_config_and_own_vocabularies():
    table = pa.table(
        {
            "ad": ["a", "b", "a"],
            "hist_ad": ["a b", "b", ""],
            "tags": [["x", "y"], ["y"], []],
            "score": [1, 2, 3],
            "label": [0, 1, 1],
        }
    )

    class ModelCfg:
        max_history = 7

    proc = _fitted(
        table,
        ModelCfg(),
        hints={"numeric": ["score"], "sequences": ["hist_ad", "tags"]},
        categorical=["ad"],
    )
    fields = proc.config_fields()
    assert fields["numeric_fields"] == ["score"]
    assert fields["sequence_fields"] == {"hist_ad": "ad", "tags": "tags"}
    assert fields["sequence_sizes"] == {"tags": 4}  # x, y + padding + unknown
    assert fields["max_history"] == 7
    batch = proc.collate(proc.encode(table), [0])
    assert batch["sequences"][0, :, :2].tolist() == [[2, 3], [2, 3]]


def test_bad_settings_name_the_problem():
    table = pa.table({"a": [1, 2], "label": [0, 1]})
    with pytest.raises(ConfigError, match="unknown key 'min_cont'"):
        _fitted(table, min_cont=2)
    with pytest.raises(DataError, match=r"lacks \(columns"):
        _fitted(table, categorical=["b"])
    with pytest.raises(DataError, match="not a categorical field"):
        _fitted(table, sequences={"a": "nope"})
    with pytest.raises(DataError, match="holds lists"):
        _fitted(pa.table({"a": [[1], [2]], "label": [0, 1]}), categorical=["a"])
    proc = _fitted(table)
    with pytest.raises(DataError, match=r"lacks the columns \['a'\]"):
        proc.encode(pa.table({"label": [0]}))


def test_min_count_and_bucketize():
    table = pa.table({"c": ["x", "x", "y", "z", "z", "z"], "v": [0.0, 1, 2, 3, 4, 5]})
    proc = _fitted(table, min_count=2, numeric_transform="bucketize", num_buckets=2)
    assert proc.fitted.categorical["c"].values == ["x", "z"]
    enc = proc.encode(pa.table({"c": ["y", "z", None], "v": [0.0, 4.0, None]}))
    batch = proc.collate(enc, [0, 1, 2])
    assert batch["categorical"].tolist() == [[1, 2], [3, 3], [1, 1]]  # v: median 2.5
    assert proc.config_fields()["categorical_sizes"] == {"c": 4, "v": 4}
    assert proc.config_fields()["numeric_fields"] == []


def test_registered_and_synthetic_batches_follow_the_ctr_layout():
    cls = processor_class("tabular")
    assert cls is TabularProcessor
    proc = cls.synthetic(vocab_size=20)
    fields = proc.config_fields()
    batch = proc.synthetic_batch(5, 9, seed=0)
    assert batch["categorical"].shape == (5, len(fields["categorical_sizes"]))
    assert batch["numeric"].shape == (5, 2) and batch["numeric"].dtype == np.float32
    assert batch["sequences"].shape == batch["sequence_mask"].shape == (5, 1, 9)
    assert (batch["sequences"][batch["sequence_mask"] == 0] == 0).all()
    assert batch["sequence_mask"][0].sum() == 0  # one empty history
    sizes = np.array(list(fields["categorical_sizes"].values()))
    assert (batch["categorical"] >= 1).all() and (batch["categorical"] < sizes).all()
    settings = {k: v for k, v in proc.settings().items() if k != "schema"}
    assert TabularSettings.model_validate(settings).max_history == proc.max_history


def test_ctr_fixture_reads_the_same_from_csv_and_parquet(tmp_path):
    from attnzoo.data import load_local_files
    from attnzoo.testing import make_ctr_table

    encoded = []
    for fmt in ("csv", "parquet"):
        ds = load_local_files(make_ctr_table(tmp_path / fmt, n=200, fmt=fmt), input_kind="tabular")
        proc = TabularProcessor.from_run(_DataConfig(exclude=["timestamp"]), ds, None)
        proc.fit(ds)
        encoded.append((proc.config_fields(), proc.encode(ds.splits["train"])))
    (fields_csv, csv), (fields_parquet, parquet) = encoded
    assert fields_csv == fields_parquet
    assert fields_csv["sequence_fields"] == {"item_history": "item_id"}
    assert list(fields_csv["categorical_sizes"]) == ["user_id", "item_id", "category"]
    for key in csv.arrays:
        np.testing.assert_array_equal(csv.arrays[key], parquet.arrays[key])
    np.testing.assert_array_equal(csv.labels, parquet.labels)
    assert csv.arrays["lengths"].max() > 1  # real histories, not just empty ones
