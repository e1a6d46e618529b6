"""A generic CTR table: any CSV/TSV/JSONL/Parquet file (or train/validation/test files) with a
declared schema, from ``schema.yaml`` beside the files or given in Python.

``schema.yaml``::

    label: clicked              # the 0/1 (or two-valued) label column (default: label)
    categorical: [user_id, item_id, category]
    numeric: [price]
    sequences: {item_history: item_id, tags: null}   # shares item_id's vocabulary / its own
    user: user_id               # group column: per-user temporal split and gAUC
    time: timestamp             # time column of temporal splits
    separator: " "              # of sequences stored as text (CSV)

Columns the schema does not name are not fields. The file is read with :mod:`yaml`'s safe
loader (no code runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from attnzoo.data import Dataset
from attnzoo.errors import DataError

SCHEMA_FILE = "schema.yaml"


class CTRSchema(BaseModel):
    """What each column of a CTR table is."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field("label", description="The click label column (0/1 or two values).")
    categorical: list[str] = Field(default_factory=list, description="Categorical fields.")
    numeric: list[str] = Field(default_factory=list, description="Numeric fields.")
    sequences: dict[str, str | None] = Field(
        default_factory=dict,
        description="Behaviour sequences -> the categorical field whose vocabulary each shares "
        "(null: its own).",
    )
    user: str | None = Field(None, description="The user column (group of splits and gAUC).")
    time: str | None = Field(None, description="The time column of temporal splits.")
    separator: str = Field(" ", min_length=1, description="Separator of text sequences.")


def read_schema(schema: str | Path | dict[str, Any] | None, data: Path) -> CTRSchema:
    """The schema given (a mapping or a YAML file), else ``schema.yaml`` beside ``data``."""
    import yaml

    from attnzoo.config import validate_config

    if schema is None:
        folder = data if data.is_dir() else data.parent
        schema = folder / SCHEMA_FILE
        if not schema.is_file():
            raise DataError(
                f"ctr-table: no {SCHEMA_FILE} in {folder}. Write one (label, categorical, numeric, "
                "sequences, user, time) or pass --set dataset.schema=path/to/schema.yaml."
            )
    where = "dataset.schema"
    if not isinstance(schema, dict):
        path = Path(schema)
        where = str(path)
        try:
            schema = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise DataError(f"ctr-table: cannot read the schema {path}: {exc}") from None
        if not isinstance(schema, dict):
            raise DataError(f"ctr-table: {path} must hold a mapping of schema keys.")
    return validate_config(CTRSchema, schema, where=where)


def load_ctr_table(path: str | None = None, schema: Any = None) -> Dataset:
    """A CTR table of local files with its declared schema (see the module docstring)."""
    from attnzoo.data.files import load_local_files

    if path is None:
        raise DataError("ctr-table needs --set dataset.path=<file or folder of CTR files>.")
    data = Path(path).expanduser()
    if not data.exists():
        raise DataError(f"ctr-table: {data} does not exist.")
    s = read_schema(schema, data)
    files = data
    if data.is_dir():  # a folder of one table file beside its schema
        tables = [
            p for p in sorted(data.iterdir()) if p.suffix in (".csv", ".tsv", ".jsonl", ".parquet")
        ]
        if len(tables) == 1:
            files = tables[0]
    ds = load_local_files(files, label_column=s.label, input_kind="tabular")
    columns = set(ds.splits["train"].column_names)
    named = [*s.categorical, *s.numeric, *s.sequences, *(c for c in (s.user, s.time) if c)]
    missing = [c for c in named if c not in columns]
    if missing:
        raise DataError(
            f"ctr-table: the schema names columns {missing} that {data} lacks "
            f"(columns: {sorted(columns)})."
        )
    ds.processor_hints = {
        "categorical": list(s.categorical),
        "numeric": list(s.numeric),
        "sequences": dict(s.sequences),
        "separator": s.separator,
    }
    ds.group_column, ds.time_column = s.user, s.time
    ds.name = data.stem
    return ds
