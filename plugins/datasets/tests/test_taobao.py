"""taobao-ad on a generated miniature in the public files' format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from attnzoo.cli import cli
from attnzoo.errors import DataError
from attnzoo_datasets.taobao import UTC8, load_taobao_ad

START = 1494000000 - 8 * 3600 + 3 * 86400  # a midnight in UTC+8, as the real data's first day


def write_taobao(folder: Path, n_users: int = 40, n_ads: int = 30, n: int = 1600, seed: int = 0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user,time_stamp,adgroup_id,pid,nonclk,clk"]
    for _ in range(n):
        u, a = int(rng.integers(1, n_users + 1)), int(rng.integers(1, n_ads + 1))
        t = START + int(rng.integers(0, 8 * 86400)) // 60 * 60  # minutes: ties happen
        clk = int(((a % 6) % 2 == u % 2) == (rng.random() < 0.8))
        lines.append(f"{u},{t},{a},430548_1007,{1 - clk},{clk}")
    (folder / "raw_sample.csv").write_text("\n".join(lines) + "\n")
    ads = ["adgroup_id,cate_id,campaign_id,customer,brand,price"]
    ads += [
        f"{a},{a % 6 + 1},{100 + a},{200 + a // 2},{'NULL' if a % 5 == 0 else 300 + a},{a * 1.5}"
        for a in range(1, n_ads)  # the last ad has no features
    ]
    (folder / "ad_feature.csv").write_text("\n".join(ads) + "\n")
    users = [
        "userid,cms_segid,cms_group_id,final_gender_code,age_level,pvalue_level,shopping_level,"
        "occupation,new_user_class_level "  # the public file's header ends with a space
    ]
    users += [
        f"{u},0,{u % 12},{u % 2 + 1},{u % 7},{'' if u % 4 == 0 else u % 3 + 1},3,0,{u % 4 + 1}"
        for u in range(1, n_users - 4)  # the last users have no profile
    ]
    (folder / "user_profile.csv").write_text("\n".join(users) + "\n")
    return folder


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


def test_a_taobao_miniature_trains_din_end_to_end(tmp_path):
    folder = write_taobao(tmp_path / "t", n=3000)
    res = CliRunner().invoke(
        cli,
        [
            "train", "--model", "din.tiny", "--dataset", "taobao-ad", "--out", str(tmp_path / "r"),
            "--name", "r", "--json", "--set", f"dataset.path={folder}",
            "--set", "dataset.max_history=10", "--set", "train.progress=false",
            "--set", "train.epochs=3", "--set", "train.batch_size=256", "--set", "train.lr=1e-2",
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.output[res.output.index("{") :])
    assert result["status"] == "completed"
    assert {"auc", "gauc", "logloss"} <= set(result["test"])
    assert result["test"]["auc"] > 0.6, result  # the miniature's click signal is learnable
    schema = json.loads((tmp_path / "r" / "r" / "model" / "schema.json").read_text())
    assert {s["name"]: s["shares"] for s in schema["sequences"]} == {
        "adgroup_history": "adgroup_id", "cate_history": "cate_id"
    }  # fmt: skip
