"""Split methods, the auto rule, what is recorded, and the data a model cannot learn from."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from attnzoo.data import Dataset, load_local_files
from attnzoo.data.splits import group_temporal_split, random_split, temporal_split
from attnzoo.errors import DataError


def covers(parts, n):
    allidx = np.concatenate(parts)
    return sorted(allidx.tolist()) == list(range(n))


def test_random_split_is_seeded_and_covers_every_row():
    a = random_split(50, [0.2, 0.1], seed=3)
    b = random_split(50, [0.2, 0.1], seed=3)
    c = random_split(50, [0.2, 0.1], seed=4)
    assert [len(p) for p in a] == [35, 10, 5] and covers(a, 50)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_temporal_split_puts_the_latest_rows_last():
    times = np.array([9, 0, 5, 7, 1, 8, 3, 2, 6, 4])
    rest, val, test = temporal_split(times, [0.2, 0.1])
    assert times[test].tolist() == [9]
    assert sorted(times[val].tolist()) == [7, 8]
    assert times[rest].max() < times[val].min() and covers([rest, val, test], 10)


def test_temporal_split_orders_numbers_read_as_text_as_numbers():
    _, test = temporal_split(np.array(["9", "10", "2"]), [0.34])
    assert test.tolist() == [1]


def test_temporal_split_on_iso_dates_and_missing_times():
    times = np.array(["2024-03-01", "2024-01-01", "2024-02-01", "2023-12-31"], dtype=object)
    _, test = temporal_split(times, [0.25])
    assert test.tolist() == [0]
    with pytest.raises(DataError, match="row 2 has no time value"):
        temporal_split(np.array(["2024-01-01", None], dtype=object), [0.5])


def test_group_temporal_split_by_hand():
    groups = np.array(["a", "a", "b", "a", "a", "b", "a", "c", "b"])
    times = np.array([5, 1, 30, 3, 2, 10, 4, 7, 20])
    rest, val, test = group_temporal_split(groups, times, [0.1, 0.1])
    # a (5 events): last (t=5, row 0) is test, the one before (t=4, row 6) validation
    # b (3 events): t=30 (row 2) test, t=20 (row 8) validation; c (1 event) stays in train
    assert test.tolist() == [0, 2] and val.tolist() == [6, 8]
    assert rest.tolist() == [1, 3, 4, 5, 7]


def test_group_temporal_split_takes_a_share_of_long_histories():
    groups = np.repeat([0, 1], [40, 4])
    times = np.arange(44)[::-1]  # the first rows are the latest
    rest, val, test = group_temporal_split(groups, times, [0.1, 0.2])
    assert test.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 40]  # 20 % of 40 latest; 1 of 4
    assert val.tolist() == [8, 9, 10, 11, 41]
    assert covers([rest, val, test], 44)


def ctr_dataset(n_users=6, per_user=10, group="user", time="ts"):
    users = np.repeat(np.arange(n_users), per_user)
    ts = np.tile(np.arange(per_user), n_users)
    labels = (np.arange(n_users * per_user) % 3 == 0).astype(np.int64)
    table = datasets.Dataset.from_dict({"user": users, "ts": ts, "x": ts * 1.0, "label": labels})
    return Dataset(
        {"train": table},
        ["0", "1"],
        name="clicks",
        input_kind="tabular",
        task="ctr",
        group_column=group,
        time_column=time,
    )


def test_auto_is_per_group_temporal_for_ctr_with_group_and_time():
    ds = ctr_dataset().ensure_splits(0.1, 0.1, seed=0)
    info = ds.split_info
    assert info["method"] == "group_temporal"
    assert (info["group_column"], info["time_column"], info["seed"]) == ("user", "ts", 0)
    assert info["sizes"] == {"train": 48, "validation": 6, "test": 6}
    assert set(ds.splits["test"]["ts"]) == {9} and set(ds.splits["validation"]["ts"]) == {8}


@pytest.mark.parametrize(
    ("group", "time", "method"),
    [(None, "ts", "temporal"), (None, None, "random"), ("user", None, "random")],
)
def test_auto_for_ctr_without_both_columns(group, time, method):
    ds = ctr_dataset(group=group, time=time).ensure_splits(0.1, 0.1, seed=0)
    assert ds.split_info["method"] == method
    assert sum(ds.split_info["sizes"].values()) == 60


def test_auto_is_stratified_for_classification(tmp_path):
    from attnzoo.testing.data import make_text_dataset

    ds = load_local_files(make_text_dataset(tmp_path, n=60)).ensure_splits(0.1, 0.1, seed=1)
    assert ds.split_info["method"] == "stratified" and ds.split_info["made"] == [
        "validation",
        "test",
    ]


def test_explicit_methods_and_given_splits():
    ds = ctr_dataset().ensure_splits(0.1, 0.1, seed=0, method="temporal")
    assert set(ds.splits["test"]["ts"]) == {9} and ds.split_info["method"] == "temporal"
    ds = ctr_dataset().ensure_splits(0.5, 0.1, seed=0, method="stratified")
    assert ds.split_info["method"] == "stratified"
    assert ctr_dataset().ensure_splits(0.1, 0.1, 0).ensure_splits(0.1, 0.1, 0).split_info == {
        "method": "given",
        "made": [],
    }


def test_temporal_without_a_time_column_says_how_to_set_one():
    with pytest.raises(DataError, match=r"data.split='temporal' needs a time column.*time_column"):
        ctr_dataset(time=None).ensure_splits(0.1, 0.1, 0, method="temporal")
    with pytest.raises(DataError, match=r"needs a group column.*group_column"):
        ctr_dataset(group=None).ensure_splits(0.1, 0.1, 0, method="group_temporal")


def test_a_group_column_the_data_lacks_is_refused():
    with pytest.raises(DataError, match=r"no group column 'uid'.*data.group_column"):
        ctr_dataset(group="uid").ensure_splits(0.1, 0.1, 0)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_one_row_and_too_few_rows_to_split(tmp_path):
    one = load_local_files(write(tmp_path / "one.csv", "text,label\nhello,a\n"))
    with pytest.raises(
        DataError, match="has one training row: too few to make validation and test"
    ):
        one.ensure_splits(0.1, 0.1, 0)
    three = load_local_files(write(tmp_path / "three.csv", "text,label\na,x\nb,y\nc,x\n"))
    with pytest.raises(DataError, match="3 training rows are too few for a stratified split"):
        three.ensure_splits(0.1, 0.1, 0)


def test_single_class_training_split_is_refused_before_training(tmp_path):
    rows = "".join(f"text {i},spam\n" for i in range(20))
    ds = load_local_files(write(tmp_path / "a.csv", "text,label\n" + rows))
    ds.ensure_splits(0.1, 0.1, 0)
    ds.check_labels(training=False)  # evaluating on such data is fine
    with pytest.raises(DataError, match=r"single class \('spam', all 16 rows\).*other class"):
        ds.check_labels()


def test_one_training_row_with_given_splits_is_refused(tmp_path):
    write(tmp_path / "d" / "train.csv", "text,label\nonly,a\n")
    write(tmp_path / "d" / "validation.csv", "text,label\nv,a\n")
    write(tmp_path / "d" / "test.csv", "text,label\nt,a\n")
    ds = load_local_files(tmp_path / "d").ensure_splits(0.1, 0.1, 0)
    with pytest.raises(DataError, match=r"single class \('a', its one row\)"):
        ds.check_labels()


def test_a_single_class_ctr_training_split_is_refused():
    ds = ctr_dataset()
    ds.splits["train"] = ds.splits["train"].map(lambda r: {"label": 0})
    ds.ensure_splits(0.1, 0.1, 0)
    with pytest.raises(DataError, match=r"single class \('0'.*\(1\)"):
        ds.check_labels()


def test_data_config_split_fields_reach_the_dataset(tmp_path):
    from attnzoo.api import prepare_dataset
    from attnzoo.config import RunConfig

    rows = "".join(f"{u},{t + 8},{'ab'[t % 2]} {u},{t % 2}\n" for u in range(5) for t in range(6))
    p = write(tmp_path / "a.csv", "user,ts,text,label\n" + rows)
    cfg = RunConfig.model_validate(
        {
            "model": "tiny",
            "dataset": str(p),
            "data": {"split": "group_temporal", "group_column": "user", "time_column": "ts"},
        }
    )
    ds = prepare_dataset(cfg, training=True)
    assert ds.split_info["method"] == "group_temporal" and ds.group_column == "user"
    assert set(ds.splits["test"]["ts"]) == {"13"}  # read as text, ordered as numbers
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="group_temporal"):
        RunConfig.model_validate({"model": "tiny", "dataset": "x", "data": {"split": "kfold"}})


def test_training_on_a_single_class_fails_before_a_run_folder_exists(tmp_path):
    from conftest import run_config

    import attnzoo

    rows = "".join(f"text number {i},spam\n" for i in range(30))
    data = write(tmp_path / "one_class.csv", "text,label\n" + rows)
    out = tmp_path / "runs"
    with pytest.raises(DataError, match="single class"):
        attnzoo.train(run_config(data, out))
    assert not (out / "r" / "final.json").exists()


def test_evaluating_on_a_single_class_file_is_allowed(tmp_path):
    from attnzoo.api import prepare_dataset
    from attnzoo.config import RunConfig

    rows = "".join(f"text number {i},spam\n" for i in range(30))
    data = write(tmp_path / "one_class.csv", "text,label\n" + rows)
    ds = prepare_dataset(RunConfig.model_validate({"model": "tiny", "dataset": str(data)}))
    assert len(ds.splits["test"]) == 3
