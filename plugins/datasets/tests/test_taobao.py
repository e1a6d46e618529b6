"""taobao-ad on a generated miniature in the public files' format."""

from __future__ import annotations

import pytest

from attnzoo.errors import DataError
from attnzoo_datasets.miniatures import write_taobao
from attnzoo_datasets.taobao import UTC8, load_taobao_ad


def rows(ds, split):
    return ds.splits[split].to_list()


def test_days_protocol_hours_in_utc8_and_joined_fields(tmp_path):
    ds = load_taobao_ad(str(write_taobao(tmp_path / "t")), max_history=5)
    assert (ds.group_column, ds.time_column, ds.task) == ("user", "time_stamp", "ctr")
    train, val, test = (rows(ds, s) for s in ("train", "validation", "test"))
    assert len(train) + len(val) + len(test) == 1600
    day = lambda r: (r["time_stamp"] + UTC8) // 86400  # noqa: E731
    last = max(day(r) for r in test)
    assert all(day(r) == last for r in test) and all(day(r) < last for r in train + val)
    assert max(r["time_stamp"] for r in train) <= min(r["time_stamp"] for r in val)
    assert len(val) == int(0.1 * (len(train) + len(val)) + 0.5)
    for r in train[:50]:
        assert r["hour"] == ((r["time_stamp"] + 8 * 3600) // 3600) % 24
    no_brand = next(r for r in train if r["adgroup_id"] % 5 == 0 and r["adgroup_id"] != 30)
    assert no_brand["brand"] is None and no_brand["cate_id"] == no_brand["adgroup_id"] % 6 + 1
    no_ad = [r for r in train + test if r["adgroup_id"] == 30]
    assert no_ad and all(r["cate_id"] is None and r["price"] is None for r in no_ad)
    assert all(r["new_user_class_level"] is None for r in train if r["user"] > 35)
    some = next(r for r in train if r["user"] == 5)
    assert (some["cms_group_id"], some["pvalue_level"], some["new_user_class_level"]) == (5, 3, 2)
    everything = sorted(train + val + test, key=lambda r: (r["user"], r["time_stamp"]))
    for r in train + test:
        earlier = [
            e for e in everything if e["user"] == r["user"] and e["time_stamp"] < r["time_stamp"]
        ]
        assert r["adgroup_history"] == [e["adgroup_id"] for e in earlier][-5:]
        assert r["cate_history"] == [e["cate_id"] for e in earlier][-5:]


def test_click_histories_sampling_and_the_random_protocol(tmp_path):
    folder = write_taobao(tmp_path / "t")
    full = load_taobao_ad(str(folder), history="clicks", max_history=100)
    everything = [r for s in ("train", "validation", "test") for r in rows(full, s)]
    for r in everything[:200]:
        clicked = sorted(
            (e["time_stamp"], e["adgroup_id"])
            for e in everything
            if e["user"] == r["user"] and e["time_stamp"] < r["time_stamp"] and e["label"]
        )
        assert sorted(r["adgroup_history"]) == sorted(a for _, a in clicked)
    half = load_taobao_ad(str(folder), sample=0.5, seed=3)
    again = load_taobao_ad(str(folder), sample=0.5, seed=3)
    n = sum(len(half.splits[s]) for s in half.splits)
    assert 600 < n < 1000 and rows(half, "test") == rows(again, "test")
    # histories still come from every impression, not only the sampled ones
    longest = max(len(r["adgroup_history"]) for r in rows(half, "test"))
    assert (
        longest
        > max(sum(1 for e in rows(half, "train") if e["user"] == u) for u in range(1, 41)) / 2
    )
    rnd = load_taobao_ad(str(folder), protocol="random", seed=1)
    assert [len(rnd.splits[s]) for s in ("train", "validation", "test")] == [1120, 240, 240]
    with pytest.raises(DataError, match="user_profile.csv is missing"):
        (folder / "user_profile.csv").unlink()
        load_taobao_ad(str(folder))
    with pytest.raises(DataError, match="local folder"):
        load_taobao_ad()
