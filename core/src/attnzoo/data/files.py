"""Local CSV/TSV/JSONL/Parquet files and Hugging Face hub datasets.

Local files are read by ``datasets.load_dataset`` (pandas for CSV, pyarrow for JSON and
Parquet) into memory-mapped Arrow tables that keep every column. Only when the library
refuses a file does attnzoo read it again, line by line, to say which line is wrong and how
to fix it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from attnzoo.data.dataset import FILE_SUFFIXES as _SUFFIXES
from attnzoo.data.dataset import SPLIT_ALIASES, Dataset
from attnzoo.errors import DataError

#: input kinds whose local files this module reads
FILE_INPUT_KINDS = ("text", "tabular")
_MISSING_STRINGS = ("", "nan", "NaN")

# ---------------------------------------------------------------------------------------
# Reading one file into an Arrow-backed ``datasets.Dataset``
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_builders() -> Iterator[None]:
    """No progress bars (stdout stays clean for ``--json``), and no log line of a failure the
    packaged builders log before raising it: attnzoo says it better."""
    from datasets.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    names = ["datasets.packaged_modules.csv.csv", "datasets.packaged_modules.json.json"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    bars_were_off = are_progress_bars_disabled()
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    disable_progress_bars()
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        if not bars_were_off:
            enable_progress_bars()


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"Data file {str(path)!r} does not exist.")
    if path.is_dir():
        raise DataError(f"Data file {str(path)!r} is a folder, expected a file.")
    if path.stat().st_size == 0:
        raise DataError(
            f"Data file {str(path)!r} is empty: it needs a header and at least one row."
        )


def _utf8_error(path: Path) -> DataError | None:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        return DataError(
            f"{path}: line {bad_line} is not valid UTF-8 (byte {data[exc.start]:#x} at offset "
            f"{exc.start}). Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        )
    return None


def read_table(path: Path, *, all_strings: bool = False) -> Any:
    """One local file as a ``datasets.Dataset`` (Arrow, memory-mapped from the datasets cache).

    Args:
        all_strings: read every CSV/TSV column as text, as written (text data: a label ``01``
            or a text ``1234`` stays what the file says); otherwise pandas infers types and
            empty CSV cells become missing values (tabular data).
    """
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _load("parquet", path)
    if suffix in (".jsonl", ".json"):
        if (err := _utf8_error(path)) is not None:
            raise err
        return _read_json(path)
    return _read_csv(path, delimiter="\t" if suffix == ".tsv" else ",", all_strings=all_strings)


def _load(builder: str, path: Path, **kwargs: Any) -> Any:
    import datasets

    with _quiet_builders():
        return datasets.load_dataset(
            builder, data_files={"train": str(path)}, split="train", **kwargs
        )


def _read_csv(path: Path, delimiter: str, all_strings: bool) -> Any:
    import datasets
    import pandas as pd

    try:
        header = list(pd.read_csv(path, sep=delimiter, nrows=0, encoding="utf-8-sig").columns)
    except UnicodeDecodeError:
        raise _utf8_error(path) or DataError(f"{path}: not valid UTF-8.") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"Data file {str(path)!r} has no header row.") from None
    if not header:
        raise DataError(f"Data file {str(path)!r} has no header row.")
    kwargs: dict[str, Any] = {"sep": delimiter, "encoding": "utf-8-sig"}
    if all_strings:
        kwargs.update(
            features=datasets.Features({c: datasets.Value("string") for c in header}),
            keep_default_na=False,
            na_filter=False,
        )
    try:
        return _load("csv", path, **kwargs)
    except ValueError as exc:
        if "corresponds to no data" in str(exc):
            raise DataError(f"Data file {str(path)!r} has a header but no rows.") from None
        raise _csv_error(path, header, _root_cause(exc)) from exc
    except Exception as exc:
        raise _csv_error(path, header, _root_cause(exc)) from exc


def _csv_error(path: Path, header: list[str], cause: BaseException) -> DataError:
    if isinstance(cause, UnicodeDecodeError):
        return _utf8_error(path) or DataError(f"{path}: not valid UTF-8: {cause}.")
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(cause))
    if m:
        return DataError(
            f"{path}: row at line {m.group(2)} has {m.group(3)} fields, the header has "
            f"{len(header)} ({', '.join(map(str, header))}). Quote fields that contain the delimiter."
        )
    return DataError(
        f"{path}: could not be read as {'TSV' if path.suffix.lower() == '.tsv' else 'CSV'}: "
        f"{type(cause).__name__}: {cause}. If column types differ between rows, save the "
        "table as Parquet."
    )


def _first_char(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    return head[:1]


def _read_json(path: Path) -> Any:
    if _first_char(path) != "{":  # a JSON array or scalar per line: say which line
        _json_rows(path)
    try:
        return _load("json", path)
    except ValueError as exc:
        if "corresponds to no data" in str(exc):
            raise DataError(f"Data file {str(path)!r} has no rows.") from None
        first: Exception = exc
    except Exception as exc:  # pyarrow refuses NaN, mixed types, non-objects: find out which
        first = exc
    rows = _json_rows(path)
    if not rows:
        raise DataError(f"Data file {str(path)!r} has no rows.")
    import datasets

    try:  # valid JSON lines pyarrow's reader refuses (NaN, a value of mixed types)
        with _quiet_builders():
            return datasets.Dataset.from_list(rows)
    except Exception as exc:
        raise DataError(
            f"{path}: could not be read as JSON lines: {_root_cause(first)}; nor row by row: "
            f"{exc}. Give each column one type in every row."
        ) from exc


def _json_rows(path: Path) -> list[dict[str, Any]]:
    """Every line parsed with :mod:`json` (lines end at ``\\n`` only, as JSON lines define)."""
    rows = []
    text = path.read_bytes().decode("utf-8-sig")
    for lineno, line in enumerate(text.split("\n"), start=1):
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


# ---------------------------------------------------------------------------------------
# Columns: checks and label ids
# ---------------------------------------------------------------------------------------


def _require_columns(path: Path, table: Any, columns: dict[str, str]) -> None:
    """``columns`` maps a column name to the DataConfig field that names it."""
    for col, config_field in columns.items():
        if col not in table.column_names:
            raise DataError(
                f"{path}: no column {col!r}; columns are {sorted(table.column_names)}. "
                f"Set the column with --set data.{config_field}=NAME."
            )


def _arrow_column(table: Any, name: str) -> Any:
    import pyarrow as pa

    col = table.data.table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _check_text(path: Path, table: Any, text_column: str) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    col = _arrow_column(table, text_column)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        if pa.types.is_null(col.type):
            raise DataError(f"{path}: row 1 has no text in column {text_column!r}.")
        raise DataError(
            f"{path}: column {text_column!r} holds {col.type} values, not text. Point "
            "--set data.text_column=NAME at the column with the text, or store it as strings."
        )
    if col.null_count:
        row = int(pc.index(pc.is_null(col), True).as_py())
        raise DataError(f"{path}: row {row + 1} has no text in column {text_column!r}.")


def _missing_mask(col: Any) -> Any:
    """Rows whose value is null, NaN, empty or the string ``nan``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = pc.is_null(col, nan_is_null=True)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        stripped = pc.utf8_trim_whitespace(col)
        missing = pc.or_(missing, pc.is_in(stripped, pa.array(_MISSING_STRINGS)))
    return pc.fill_null(missing, True)


def _label_values(path: Path, table: Any, label_column: str) -> list[Any]:
    """The label of every row as Python values (strings stripped); no row may lack one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = _arrow_column(table, label_column)
    missing = _missing_mask(col)
    if pc.any(missing).as_py():
        row = int(pc.index(missing, True).as_py())
        raise DataError(
            f"{path}: row {row + 1} has no label (value {col[row].as_py()!r} in column "
            f"{label_column!r})."
        )
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.utf8_trim_whitespace(col)
    values: list[Any] = col.to_pylist()
    return values


def _label_key(label: Any) -> tuple[int, Any]:
    if isinstance(label, bool):
        return (0, int(label))
    if isinstance(label, int | float):
        return (0, label)
    try:
        return (0, int(label))
    except (TypeError, ValueError):
        return (1, str(label))


def _label_name(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _binary_index(path: Path, values: list[Any], label_column: str) -> dict[str, int]:
    """CTR labels: 0/1 as they are, or two distinct values mapped to 0/1 in sorted order."""
    distinct = sorted({_label_name(v) for v in values}, key=_label_key)
    if set(distinct) <= {"0", "1"}:
        return {"0": 0, "1": 1}
    if len(distinct) == 2:
        return {distinct[0]: 0, distinct[1]: 1}
    shown = ", ".join(repr(v) for v in distinct[:8]) + (", ..." if len(distinct) > 8 else "")
    raise DataError(
        f"{path}: the ctr task needs a binary label, but column {label_column!r} holds "
        f"{len(distinct)} distinct values ({shown}). Use 0/1 (or two values, mapped to 0/1 in "
        "sorted order), or point --set data.label_column=NAME at the click column."
    )


def _with_label_ids(
    path: Path, table: Any, values: list[Any], label_column: str, index: dict[str, int]
) -> Any:
    import numpy as np

    names = np.array([_label_name(v) for v in values], dtype=str)
    uniq, inverse = np.unique(names, return_inverse=True)
    lut = np.array([index.get(str(u), -1) for u in uniq], dtype=np.int64)
    ids = lut[inverse.reshape(-1)]
    if (ids < 0).any():
        row = int(np.flatnonzero(ids < 0)[0])
        raise DataError(
            f"{path}: row {row + 1} has label {values[row]!r}, never seen in the training data "
            f"(training labels: {sorted(index)}). Remove the row or add training examples."
        )
    order = table.column_names
    table = table.add_column("__attnzoo_label_ids", ids).remove_columns(label_column)
    return table.rename_column("__attnzoo_label_ids", label_column).select_columns(order)


def _canonical(table: Any, old: str, new: str) -> tuple[Any, str]:
    """Rename ``old`` to ``new`` unless another column already has that name."""
    if old == new or new in table.column_names:
        return table, old
    return table.rename_column(old, new), new


# ---------------------------------------------------------------------------------------
# Local files
# ---------------------------------------------------------------------------------------


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
            f"{folder}: no training file; expected train.csv / train.jsonl / train.parquet "
            f"(found {[p.name for p in folder.iterdir()]})."
        )
    return found


def _split_files(source: str | os.PathLike[str] | Mapping[str, str]) -> tuple[dict, str]:
    if isinstance(source, Mapping):
        files = {SPLIT_ALIASES.get(k, k): Path(v) for k, v in source.items()}
        if "train" not in files:
            raise DataError(f"Data files {dict(source)} name no 'train' split.")
        return files, files["train"].stem
    path = Path(source)
    files = _find_split_files(path) if path.is_dir() else {"train": path}
    return files, path.stem


def load_local_files(
    source: str | os.PathLike[str] | Mapping[str, str],
    text_column: str = "text",
    label_column: str = "label",
    input_kind: str = "text",
) -> Dataset:
    """Load a CSV/TSV/JSONL/Parquet file, a folder of ``train/validation/test`` files, or a
    split->path map, keeping every column.

    ``text``: the text and label columns are required; labels become ids into the sorted
    label names (numbers in numeric order). ``tabular`` (the ctr task): the label column is
    required and binary (0/1, or two values mapped to 0/1); every other column is a field.
    The text column is renamed ``text`` and the label column ``label`` where those names are free.
    """
    if input_kind not in FILE_INPUT_KINDS:
        raise DataError(
            f"Reading local files as {input_kind!r} data is not supported; files are read as "
            f"{' or '.join(FILE_INPUT_KINDS)} data (use a dataset recipe for {input_kind!r})."
        )
    files, name = _split_files(source)
    tables, labels = _read_split_tables(files, text_column, label_column, input_kind)
    if input_kind == "text":
        label_names = sorted({_label_name(v) for v in labels["train"]}, key=_label_key)
        index = {n: i for i, n in enumerate(label_names)}
    else:
        index = _binary_index(files["train"], labels["train"], label_column)
        label_names = ["0", "1"]
    splits = {}
    text_col, label_col = text_column, label_column
    for split, table in tables.items():
        table = _with_label_ids(files[split], table, labels[split], label_column, index)
        table, label_col = _canonical(table, label_column, "label")
        if input_kind == "text":
            table, text_col = _canonical(table, text_column, "text")
        splits[split] = table
    if input_kind == "text":
        return Dataset(splits, label_names, name=name, text_column=text_col, label_column=label_col)
    mapping = {k: v for k, v in index.items() if k != str(v)}
    return Dataset(
        splits,
        label_names,
        name=name,
        input_kind="tabular",
        task="ctr",
        text_column=text_col,
        label_column=label_col,
        description=f"labels mapped {mapping}" if mapping else "",
    )


def _read_split_tables(
    files: Mapping[str, Path], text_column: str, label_column: str, input_kind: str
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Each split's table, checked for its columns (and text), and its raw label values."""
    tables: dict[str, Any] = {}
    labels: dict[str, list[Any]] = {}
    for split, path in files.items():
        table = read_table(path, all_strings=input_kind == "text")
        if len(table) == 0:
            raise DataError(f"Data file {str(path)!r} has a header but no rows.")
        if input_kind == "text":
            _require_columns(
                path, table, {text_column: "text_column", label_column: "label_column"}
            )
            _check_text(path, table, text_column)
        else:
            _require_columns(path, table, {label_column: "label_column"})
        labels[split] = _label_values(path, table, label_column)
        tables[split] = table
    return tables, labels


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


__all__ = ["FILE_INPUT_KINDS", "load_hub_dataset", "load_local_files", "read_table"]
