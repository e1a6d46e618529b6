"""Datasets of every input kind: labelled splits (``datasets.Dataset``) and how to read them.

A :class:`Dataset` holds up to three splits that keep every column, the label names, its
input kind (``text``, ``tabular``, ``image``) and its task. Missing validation/test splits are
made by a seeded split of train (stratified by default; see :mod:`attnzoo.data.splits`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.errors import DataError

SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
}
FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


@dataclass
class Dataset:
    """Labelled splits of one input kind plus what is needed to read them.

    Args:
        splits: ``{"train": datasets.Dataset, ...}``; the label column holds ints indexing ``label_names``.
        label_names: name of each class, in id order (``["0", "1"]`` for click/no click).
        input_kind: the processor that reads it: ``text``, ``tabular``, ``image`` (or a plugin's).
        task: ``text-classification``, ``sequence-classification``, ``ctr``, ``image-classification``.
        processor_hints: defaults for the processor's settings (e.g. a CTR table's field kinds).
        group_column: the column of grouped metrics and per-group splits (the user, for CTR).
        time_column: the column temporal splits order by.
        tokenizer_hint: defaults for the tokenizer config (e.g. ``{"kind": "word"}``).
        max_length_hint: a natural maximum length for this data (e.g. 2000 for ListOps).
        pretokenized_vocab_size: set when splits hold ``input_ids`` lists instead of text.
        split_info: how missing splits were made (recorded in run.yaml).
    """

    splits: dict[str, Any]
    label_names: list[str]
    name: str = "dataset"
    input_kind: str = "text"
    task: str = "text-classification"
    text_column: str = "text"
    label_column: str = "label"
    processor_hints: dict[str, Any] = field(default_factory=dict)
    group_column: str | None = None
    time_column: str | None = None
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

    def ensure_splits(
        self, val_fraction: float, test_fraction: float, seed: int, method: str = "auto"
    ) -> Dataset:
        """Make missing validation/test splits from train; returns self.

        ``method``: ``auto`` (stratified for classification; for ctr per-group temporal with a
        group and time column, temporal with a time column, else random), ``stratified``,
        ``random``, ``temporal`` or ``group_temporal`` (see :mod:`attnzoo.data.splits`).
        How the splits were made is recorded in :attr:`split_info`.
        """
        from attnzoo.data.splits import resolve_method

        if "train" not in self.splits:
            raise DataError(
                f"Dataset {self.name!r} has no 'train' split (splits: {sorted(self.splits)})."
            )
        train = self.splits["train"]
        self._check_columns(train)
        missing = [s for s in ("validation", "test") if s not in self.splits]
        if not missing:
            self.split_info = {"method": "given", "made": []}
            return self
        method = resolve_method(method, self.task, self.group_column, self.time_column)
        fractions = {s: f for s, f in (("validation", val_fraction), ("test", test_fraction))}
        fractions = {s: fractions[s] for s in missing}
        parts = self._split_parts(train, method, fractions, seed)
        for split_name, idx in zip(missing, parts[1:], strict=True):
            self.splits[split_name] = train.select(idx)
        self.splits["train"] = train.select(parts[0])
        self.split_info = {
            "method": method,
            "made": missing,
            "fractions": fractions,
            "seed": seed,
            "group_column": self.group_column,
            "time_column": self.time_column,
            "sizes": {s: len(self.splits[s]) for s in ["train", *missing]},
        }
        return self

    def _split_parts(
        self, train: Any, method: str, fractions: dict[str, float], seed: int
    ) -> list[Any]:
        """Row indices of train and of each missing split (in ``fractions``' order), none empty."""
        from attnzoo.data.splits import split_indices

        missing, n = list(fractions), len(train)
        if n < len(missing) + 1:
            raise DataError(
                f"Dataset {self.name!r} has {'one training row' if n == 1 else f'{n} training rows'}: "
                f"too few to make {' and '.join(missing)} splits from. Give at least "
                f"{len(missing) + 1} rows (tens per class to learn anything), or pass "
                "validation/test files beside train."
            )
        parts = split_indices(
            method,
            train,
            list(fractions.values()),
            seed,
            label_column=self.label_column,
            group_column=self.group_column,
            time_column=self.time_column,
            where=f"Dataset {self.name!r}",
        )
        for split_name, idx in zip(["train", *missing], parts, strict=True):
            if len(idx) == 0:
                raise DataError(
                    f"Dataset {self.name!r}: {n} training rows are too few for a {method} split "
                    f"with {', '.join(f'{s} {fractions[s]:g}' for s in missing)}: the "
                    f"{split_name} split would be empty. Give more rows, raise "
                    "data.val_fraction/data.test_fraction, or pass validation/test files."
                )
        return list(parts)

    def _check_columns(self, train: Any) -> None:
        """The group and time columns named for this dataset exist in its training split."""
        for col, config_field in (
            (self.group_column, "group_column"),
            (self.time_column, "time_column"),
        ):
            if col and col not in train.column_names:
                raise DataError(
                    f"Dataset {self.name!r} has no {config_field.split('_')[0]} column {col!r} "
                    f"(columns: {train.column_names}). Set --set data.{config_field}=NAME."
                )

    def check_labels(self, training: bool = True) -> None:
        """Every label is an int in range; validation/test use no class absent from train;
        for ``training``, train has rows of two classes or more."""
        n = self.num_classes
        seen_in_train: set[int] = set()
        for split in SPLITS:
            if split not in self.splits:
                continue
            labels = np.asarray(self.splits[split][self.label_column])
            if len(labels) == 0:
                if split == "train" and training:
                    raise DataError(f"{self.name}: the training split is empty; give it rows.")
                continue
            if labels.dtype.kind not in "iu" or (
                len(labels) and (labels.min() < 0 or labels.max() >= n)
            ):
                bad = next(
                    (i, y)
                    for i, y in enumerate(self.splits[split][self.label_column])
                    if not isinstance(y, int | np.integer) or not 0 <= int(y) < n
                )
                raise DataError(
                    f"{self.name}: split {split!r} row {bad[0]}: label {bad[1]!r} is not a class id in 0..{n - 1}."
                )
            present = set(np.unique(labels).tolist())
            if split == "train":
                if training:
                    self._check_train_classes(labels)
                seen_in_train = present
            elif present - seen_in_train:
                unseen = sorted(self.label_names[i] for i in present - seen_in_train)
                raise DataError(
                    f"{self.name}: split {split!r} has labels never seen in training: {unseen}. "
                    "A model cannot learn them; remove those rows or add training examples."
                )

    def _check_train_classes(self, labels: np.ndarray) -> None:
        message = _train_classes_message(self.name, labels, self.label_names)
        if message:
            raise DataError(message)


#: the name recipes written before input kinds use; a text :class:`Dataset`
TextDataset = Dataset


def resolve_dataset(
    name: str,
    args: Mapping[str, Any] | None = None,
    *,
    text_column: str = "text",
    label_column: str = "label",
    input_kind: str = "text",
) -> Dataset:
    """A registered recipe name, ``hf:<name>``, or a local file/folder path.

    Files and hub datasets are read as ``input_kind`` (the model's); a recipe says its own.
    """
    args = dict(args or {})
    from attnzoo.data.files import load_hub_dataset, load_local_files

    if name.startswith("hf:"):
        return load_hub_dataset(
            name[3:], text_column=text_column, label_column=label_column, **args
        )
    path = Path(name)
    if path.suffix.lower() in FILE_SUFFIXES or path.is_dir() or os.sep in name:
        if not path.exists():
            raise DataError(f"Dataset path {name!r} does not exist.")
        if input_kind == "image" and path.is_dir():
            from attnzoo.data.images import load_image_folder

            return load_image_folder(path, label_column=label_column)
        return load_local_files(
            path, text_column=text_column, label_column=label_column, input_kind=input_kind
        )
    from attnzoo.registry import get_dataset_spec

    spec = get_dataset_spec(name)
    ds = spec.load_factory()(**{**spec.defaults, **args})
    if not isinstance(ds, Dataset):
        raise DataError(
            f"Dataset recipe {name!r} ({spec.factory}) returned {type(ds).__name__}, expected attnzoo.data.Dataset."
        )
    if ds.input_kind != spec.input_kind:
        raise DataError(
            f"Dataset recipe {name!r} is registered as input kind {spec.input_kind!r} but returned {ds.input_kind!r} data."
        )
    return ds


def _train_classes_message(name: str, labels: np.ndarray, label_names: list[str]) -> str | None:
    classes = np.unique(labels)
    if len(classes) > 1:
        return None
    only = label_names[int(classes[0])] if 0 <= int(classes[0]) < len(label_names) else classes[0]
    rows = "its one row" if len(labels) == 1 else f"all {len(labels)} rows"
    return (
        f"{name}: the training split has a single class ({only!r}, {rows}): a model "
        "cannot learn to tell classes apart from it. Add training rows of the other "
        f"class{'es' if len(label_names) > 2 else ''} ({', '.join(n for n in label_names if n != only) or 'another label'})."
    )
