"""Local CSV/TSV/JSONL/Parquet files and Hugging Face hub datasets."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attnzoo.data.dataset import FILE_SUFFIXES as _SUFFIXES
from attnzoo.data.dataset import SPLIT_ALIASES, Dataset
from attnzoo.errors import DataError

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
        alias = SPLIT_ALIASES.get(p.stem.lower())
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
    input_kind: str = "text",
) -> Dataset:
    """Load a CSV/TSV/JSONL/Parquet file, a folder of ``train/validation/test`` files, or a split->path map."""
    import datasets

    if input_kind != "text":
        raise DataError(f"Reading local files as {input_kind!r} data is not supported yet.")

    if isinstance(source, Mapping):
        files = {SPLIT_ALIASES.get(k, k): Path(v) for k, v in source.items()}
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
    return Dataset(splits, [str(v) for v in label_names_raw], name=name)


def load_hub_dataset(
    name: str, text_column: str = "text", label_column: str = "label", **kwargs: Any
) -> Dataset:
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
        alias = SPLIT_ALIASES.get(split)
        if alias:
            splits[alias] = (
                ds.rename_columns({text_column: "text", label_column: "label"})
                if text_column != "text" or label_column != "label"
                else ds
            )
    return Dataset(splits, names, name=name)


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
