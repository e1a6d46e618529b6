"""Text-classification datasets: local CSV/JSONL/Parquet files, hub datasets, recipes.

A :class:`TextDataset` holds up to three splits with a text and an integer label column and the
label names. Missing validation/test splits are made by a seeded stratified split of train.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.errors import DataError

SPLITS = ("train", "validation", "test")
_SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
}
_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


@dataclass
class TextDataset:
    """Splits of labelled text (or of pre-tokenized ids) plus what is needed to read them.

    Args:
        splits: ``{"train": datasets.Dataset, ...}``; the label column holds ints indexing ``label_names``.
        label_names: name of each class, in id order.
        tokenizer_hint: defaults for the tokenizer config (e.g. ``{"kind": "word"}``).
        max_length_hint: a natural maximum length for this data (e.g. 2000 for ListOps).
        pretokenized_vocab_size: set when splits hold ``input_ids`` lists instead of text.
        split_info: how missing splits were made (recorded in run.yaml).
    """

    splits: dict[str, Any]
    label_names: list[str]
    name: str = "dataset"
    text_column: str = "text"
    label_column: str = "label"
    tokenizer_hint: dict[str, Any] | None = None
    max_length_hint: int | None = None
    pretokenized_vocab_size: int | None = None
    description: str = ""
    split_info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def pretokenized(self) -> bool:
        return self.pretokenized_vocab_size is not None

    def ensure_splits(self, val_fraction: float, test_fraction: float, seed: int) -> TextDataset:
        """Make missing validation/test splits from train (stratified, seeded); returns self."""
        if "train" not in self.splits:
            raise DataError(
                f"Dataset {self.name!r} has no 'train' split (splits: {sorted(self.splits)})."
            )
        missing = [s for s in ("validation", "test") if s not in self.splits]
        if not missing:
            return self
        train = self.splits["train"]
        labels = np.asarray(train[self.label_column])
        fractions = {"validation": val_fraction, "test": test_fraction}
        parts = stratified_split(labels, [fractions[s] for s in missing], seed)
        for split_name, idx in zip(missing, parts[1:], strict=True):
            self.splits[split_name] = train.select(idx)
        self.splits["train"] = train.select(parts[0])
        self.split_info = {
            "made": missing,
            "fractions": {s: fractions[s] for s in missing},
            "seed": seed,
            "method": "stratified",
        }
        return self

    def check_labels(self) -> None:
        """Every label is an int in range; validation/test use no class absent from train."""
        n = self.num_classes
        seen_in_train: set[int] = set()
        for split in SPLITS:
            if split not in self.splits:
                continue
            labels = self.splits[split][self.label_column]
            for row, y in enumerate(labels):
                if y is None or not isinstance(y, int | np.integer) or not 0 <= int(y) < n:
                    raise DataError(
                        f"{self.name}: split {split!r} row {row}: label {y!r} is not a class id in 0..{n - 1}."
                    )
            present = set(int(y) for y in labels)
            if split == "train":
                seen_in_train = present
            elif present - seen_in_train:
                unseen = sorted(self.label_names[i] for i in present - seen_in_train)
                raise DataError(
                    f"{self.name}: split {split!r} has labels never seen in training: {unseen}. "
                    "A model cannot learn them; remove those rows or add training examples."
                )


def stratified_split(labels: np.ndarray, fractions: list[float], seed: int) -> list[np.ndarray]:
    """Indices ``[rest, part_1, ...]``: each part takes ``fraction`` of every class."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(len(fractions) + 1)]
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        start = 0
        for k, frac in enumerate(fractions, start=1):
            take = math.floor(len(idx) * frac + 0.5) if len(idx) > 2 else 0
            parts[k].extend(idx[start : start + take].tolist())
            start += take
        parts[0].extend(idx[start:].tolist())
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


# ---------------------------------------------------------------------------------------
# Local files
# ---------------------------------------------------------------------------------------


def _read_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if not path.exists():
        raise DataError(f"Data file {str(path)!r} does not exist.")
    if path.stat().st_size == 0:
        raise DataError(
            f"Data file {str(path)!r} is empty: it needs a header and at least one row."
        )
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    text: str
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {bad_line} is not valid UTF-8 (byte {exc.object[exc.start]:#x} at offset {exc.start}). "
            "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        ) from None
    if suffix in (".jsonl", ".json"):
        rows = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {lineno} is not valid JSON: {exc.msg}.") from None
            if not isinstance(obj, dict):
                raise DataError(
                    f"{path}: line {lineno} is a JSON {type(obj).__name__}, expected an object per line."
                )
            rows.append(obj)
        return rows
    delimiter = "\t" if suffix == ".tsv" else ","
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise DataError(f"Data file {str(path)!r} has no header row.")
    rows = []
    for lineno, values in enumerate(reader, start=2):
        if not values:
            continue
        if len(values) != len(header):
            raise DataError(
                f"{path}: row at line {lineno} has {len(values)} fields, the header has {len(header)} "
                f"({', '.join(header)}). Quote fields that contain the delimiter."
            )
        rows.append(dict(zip(header, values, strict=True)))
    return rows


def _columns(
    path: Path, rows: list[dict[str, Any]], text_column: str, label_column: str
) -> tuple[list[str], list[Any]]:
    if not rows:
        raise DataError(f"Data file {str(path)!r} has a header but no rows.")
    for col in (text_column, label_column):
        if col not in rows[0]:
            raise DataError(
                f"{path}: no column {col!r}; columns are {sorted(rows[0])}. "
                f"Set the column with --set data.{'text' if col == text_column else 'label'}_column=NAME."
            )
    texts, labels = [], []
    for i, row in enumerate(rows):
        text, label = row.get(text_column), row.get(label_column)
        if (
            label is None
            or (isinstance(label, float) and math.isnan(label))
            or (isinstance(label, str) and label.strip() in ("", "nan", "NaN"))
        ):
            raise DataError(
                f"{path}: row {i + 1} has no label (value {label!r} in column {label_column!r})."
            )
        if text is None:
            raise DataError(f"{path}: row {i + 1} has no text in column {text_column!r}.")
        texts.append(str(text))
        labels.append(label.strip() if isinstance(label, str) else label)
    return texts, labels


def _label_key(label: Any) -> tuple[int, Any]:
    if isinstance(label, bool):
        return (0, int(label))
    if isinstance(label, int | float):
        return (0, label)
    try:
        return (0, int(label))
    except (TypeError, ValueError):
        return (1, str(label))


def _find_split_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        alias = _SPLIT_ALIASES.get(p.stem.lower())
        if alias and p.suffix.lower() in _SUFFIXES:
            if alias in found:
                raise DataError(
                    f"{folder}: two files for split {alias!r}: {found[alias].name} and {p.name}."
                )
            found[alias] = p
    if "train" not in found:
        raise DataError(
            f"{folder}: no training file; expected train.csv / train.jsonl / train.parquet (found {[p.name for p in folder.iterdir()]})."
        )
    return found


def load_local_files(
    source: str | os.PathLike[str] | Mapping[str, str],
    text_column: str = "text",
    label_column: str = "label",
) -> TextDataset:
    """Load a CSV/TSV/JSONL/Parquet file, a folder of ``train/validation/test`` files, or a split->path map."""
    import datasets

    if isinstance(source, Mapping):
        files = {_SPLIT_ALIASES.get(k, k): Path(v) for k, v in source.items()}
        name = Path(files.get("train", next(iter(files.values())))).stem
    else:
        path = Path(source)
        files = _find_split_files(path) if path.is_dir() else {"train": path}
        name = path.stem
    raw = {
        split: _columns(p, _read_rows(p), text_column, label_column) for split, p in files.items()
    }
    train_labels = raw["train"][1] if "train" in raw else []
    label_names_raw = sorted(set(train_labels), key=_label_key)
    index = {str(v): i for i, v in enumerate(label_names_raw)}
    splits = {}
    for split, (texts, labels) in raw.items():
        ids = []
        for row, lab in enumerate(labels):
            if str(lab) not in index:
                raise DataError(
                    f"{files[split]}: row {row + 1} has label {lab!r}, never seen in the training data "
                    f"(training labels: {sorted(index)}). Remove the row or add training examples."
                )
            ids.append(index[str(lab)])
        splits[split] = datasets.Dataset.from_dict({"text": texts, "label": ids})
    return TextDataset(splits, [str(v) for v in label_names_raw], name=name)


def load_hub_dataset(
    name: str, text_column: str = "text", label_column: str = "label", **kwargs: Any
) -> TextDataset:
    """``hf:<name>`` datasets. Offline, fails at once with a message saying how to use a local file."""
    import datasets

    if os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        raise DataError(_offline_message(name, "HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set"))
    if not _hub_reachable():
        raise DataError(_offline_message(name, "huggingface.co cannot be reached"))
    try:
        dd = datasets.load_dataset(name, **kwargs)
    except Exception as exc:
        raise DataError(f"Could not load hub dataset {name!r}: {exc}") from exc
    feature = dd["train"].features.get(label_column)
    names = (
        list(feature.names)
        if hasattr(feature, "names")
        else [str(v) for v in sorted(set(dd["train"][label_column]))]
    )
    splits = {}
    for split, ds in dd.items():
        alias = _SPLIT_ALIASES.get(split)
        if alias:
            splits[alias] = (
                ds.rename_columns({text_column: "text", label_column: "label"})
                if text_column != "text" or label_column != "label"
                else ds
            )
    return TextDataset(splits, names, name=name)


def _hub_reachable(timeout: float = 3.0) -> bool:
    import socket

    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _offline_message(name: str, why: str) -> str:
    return (
        f"Cannot load hub dataset {name!r}: {why}. Download it where you have a network and export it "
        f"to a local file (e.g. `datasets.load_dataset({name!r})['train'].to_csv('train.csv')`), then pass "
        "--dataset path/to/train.csv (or a folder with train/validation/test files)."
    )


def resolve_dataset(
    name: str,
    args: Mapping[str, Any] | None = None,
    *,
    text_column: str = "text",
    label_column: str = "label",
) -> TextDataset:
    """A registered recipe name, ``hf:<name>``, or a local file/folder path."""
    args = dict(args or {})
    if name.startswith("hf:"):
        return load_hub_dataset(
            name[3:], text_column=text_column, label_column=label_column, **args
        )
    path = Path(name)
    if path.suffix.lower() in _SUFFIXES or path.is_dir() or os.sep in name:
        if not path.exists():
            raise DataError(f"Dataset path {name!r} does not exist.")
        return load_local_files(path, text_column=text_column, label_column=label_column)
    from attnzoo.registry import get_dataset_spec

    spec = get_dataset_spec(name)
    ds = spec.load_factory()(**{**spec.defaults, **args})
    if not isinstance(ds, TextDataset):
        raise DataError(
            f"Dataset recipe {name!r} ({spec.factory}) returned {type(ds).__name__}, expected TextDataset."
        )
    return ds
