"""The ``tabular`` input kind: CTR tables with categorical, numeric and behaviour-sequence fields.

Batches follow :class:`attnzoo.config.CTRConfig`: ``categorical`` (B, F) int64 ids (0 = padding,
1 = unknown or missing), ``numeric`` (B, N) float32, ``sequences`` and ``sequence_mask``
(B, S, L) int64, right-padded, keeping each row's most recent ``L = max_history`` events.

Field kinds come from the settings (``data.processor`` over the dataset's hints) or, for the
kinds not given, from the Arrow column types of the training split: strings and ints are
categorical, floats numeric, lists (and strings named like ``item_history``) sequences. The
label, group and time columns are never fields. Everything is fitted on the training split
only; the fitted schema (field kinds, vocabularies, statistics) is saved as ``schema.json``.

Encoded layout (one split, field-major so each field's ids are written in place):
``categorical`` (F, N) int32, ``numeric`` (N_num, N) float32, ``sequences`` (S, N, L) int32
right-padded with 0 and ``lengths`` (S, N) int32. Encoding runs over blocks of rows with
whole-column Arrow/numpy operations, so memory stays near the encoded arrays' size.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from attnzoo.data.processors.base import Encoded, Processor
from attnzoo.data.processors.tabular_columns import (
    FIRST_ID,
    UNKNOWN,
    Vocabulary,
    as_array,
    is_list_type,
    is_string_type,
    scatter_rows,
    sequence_lists,
    truncated_parts,
)
from attnzoo.errors import CheckpointError, DataError

logger = logging.getLogger(__name__)

SCHEMA_FILE = "schema.json"
SCHEMA_FORMAT = "attnzoo-tabular-schema/1"
DEFAULT_MAX_HISTORY = 50
#: rows encoded per block: bounds the temporaries of one pass
BLOCK_ROWS = 1 << 17
#: names of behaviour sequences: item_history, hist_item_id, item_seq ...
_HISTORY_NAME = re.compile(
    r"^(?:hist|history|seq)_(?P<a>.+)$|^(?P<b>.+?)_(?:history|hist|seq|sequence|list)$"
)


class TabularSettings(BaseModel):
    """Settings of the tabular processor (``data.processor`` in the run config)."""

    model_config = ConfigDict(extra="forbid")

    categorical: list[str] | None = Field(
        None, description="Categorical fields, in batch order; default: string and integer columns."
    )
    numeric: list[str] | None = Field(
        None, description="Numeric fields, in batch order; default: floating-point columns."
    )
    sequences: dict[str, str | None] | list[str] | None = Field(
        None,
        description="Behaviour sequences, each mapped to the categorical field whose vocabulary it "
        "shares (null: its own); a list pairs by name (item_history -> item_id); default: list "
        "columns and strings named like <field>_history.",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Columns that are never fields (the label, group and time columns always are).",
    )
    min_count: int = Field(
        1, ge=1, description="Values seen fewer times in train map to unknown (id 1)."
    )
    numeric_transform: Literal["standardize", "bucketize"] = Field(
        "standardize",
        description="'standardize': (x - train mean) / train std; 'bucketize': train-quantile "
        "buckets, which become categorical fields (after the categorical ones).",
    )
    num_buckets: int = Field(10, ge=2, description="Buckets per numeric field for 'bucketize'.")
    max_history: int | None = Field(
        None,
        ge=1,
        description="Length L of every sequence: the last L events are kept; default: the model's max_history.",
    )
    separator: str = Field(
        " ", min_length=1, description="Separator of sequences stored as strings (CSV)."
    )


@dataclass
class Schema:
    """What fitting learned: field kinds, vocabularies and statistics (``schema.json``)."""

    categorical: dict[str, Vocabulary] = field(default_factory=dict)
    buckets: dict[str, np.ndarray] = field(default_factory=dict)
    numeric: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: sequence field -> the categorical field whose vocabulary it uses (itself: ``own``)
    sequences: dict[str, str] = field(default_factory=dict)
    own: dict[str, Vocabulary] = field(default_factory=dict)

    def vocabulary_of(self, seq: str) -> Vocabulary:
        shares = self.sequences[seq]
        return self.own[seq] if shares == seq else self.categorical[shares]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SCHEMA_FORMAT,
            "categorical": [{"name": n, **v.to_json()} for n, v in self.categorical.items()],
            "bucketized": [{"name": n, "boundaries": b.tolist()} for n, b in self.buckets.items()],
            "numeric": [{"name": n, "mean": m, "std": s} for n, (m, s) in self.numeric.items()],
            "sequences": [
                {"name": n, "shares": s, **(self.own[n].to_json() if s == n else {})}
                for n, s in self.sequences.items()
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schema:
        if data.get("format") != SCHEMA_FORMAT:
            raise CheckpointError(
                f"{SCHEMA_FILE} has format {data.get('format')!r}, expected {SCHEMA_FORMAT!r}."
            )
        schema = cls()
        for f in data["categorical"]:
            schema.categorical[f["name"]] = Vocabulary(f["values"], f["dtype"])
        for f in data["bucketized"]:
            schema.buckets[f["name"]] = np.asarray(f["boundaries"], dtype=np.float64)
        for f in data["numeric"]:
            schema.numeric[f["name"]] = (float(f["mean"]), float(f["std"]))
        for f in data["sequences"]:
            schema.sequences[f["name"]] = f["shares"]
            if f["shares"] == f["name"]:
                schema.own[f["name"]] = Vocabulary(f["values"], f["dtype"])
        return schema


class TabularProcessor(Processor):
    """CTR rows to ``categorical``, ``numeric``, ``sequences`` and ``sequence_mask`` arrays.

    Args:
        settings: the validated :class:`TabularSettings`.
        max_history: the sequence length L.
        schema: the fitted schema (``None`` until :meth:`fit`).
    """

    kind = "tabular"

    def __init__(
        self,
        settings: TabularSettings | None = None,
        *,
        max_history: int = DEFAULT_MAX_HISTORY,
        schema: Schema | None = None,
    ) -> None:
        self.options = settings or TabularSettings()
        self.max_history = int(self.options.max_history or max_history)
        self.schema = schema

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_run(cls, data_config: Any, dataset: Any, model_config: Any) -> TabularProcessor:
        from attnzoo.config import validate_config

        values = {**dict(dataset.processor_hints or {}), **dict(data_config.processor or {})}
        settings = validate_config(TabularSettings, values, where="data.processor (tabular)")
        never = [dataset.label_column, dataset.group_column, dataset.time_column]
        settings.exclude = list(dict.fromkeys([*settings.exclude, *(c for c in never if c)]))
        default_len = getattr(model_config, "max_history", None) or DEFAULT_MAX_HISTORY
        return cls(settings, max_history=int(default_len))

    def fit(self, dataset: Any) -> None:
        if self.schema is None:
            self.schema = fit_schema(self.options, dataset.splits["train"])

    @property
    def fitted(self) -> Schema:
        if self.schema is None:
            raise DataError("The tabular processor is not fitted: call fit() on a dataset first.")
        return self.schema

    # -- encoding --------------------------------------------------------------------------------
    def encode(
        self, table: Any, *, label_column: str | None = "label", group_column: str | None = None
    ) -> Encoded:
        enc = self.encode_inputs(table)
        columns = _column_names(table)
        if label_column and label_column in columns:
            enc.labels = as_array(_column(table, label_column)).to_numpy(zero_copy_only=False)
            enc.labels = enc.labels.astype(np.int64)
        if group_column and group_column in columns:
            groups = (
                as_array(_column(table, group_column)).dictionary_encode().indices.fill_null(-1)
            )
            enc.groups = groups.to_numpy(zero_copy_only=False).astype(np.int64)
        return enc

    def encode_inputs(self, table: Any) -> Encoded:
        schema = self.fitted
        columns = _column_names(table)
        needed = [*schema.categorical, *schema.buckets, *schema.numeric, *schema.sequences]
        missing = [c for c in needed if c not in columns]
        if missing:
            raise DataError(
                f"The table lacks the columns {missing} this model was trained with "
                f"(columns: {columns}). Add them (empty values read as unknown)."
            )
        n = _num_rows(table)
        out = self._allocate(n)
        for start, block in _blocks(table, needed):
            self._encode_block(block, start, out)
        return Encoded(n, out)

    def _allocate(self, n: int) -> dict[str, np.ndarray]:
        """Field-major arrays: every field's block of rows is contiguous, so lookups write in place."""
        s = self.fitted
        n_cat = len(s.categorical) + len(s.buckets)
        n_seq, length = len(s.sequences), self.max_history
        return {
            "categorical": np.empty((n_cat, n), dtype=np.int32),
            "numeric": np.empty((len(s.numeric), n), dtype=np.float32),
            "sequences": np.zeros((n_seq, n, length), dtype=np.int32),
            "lengths": np.zeros((n_seq, n), dtype=np.int32),
        }

    def _encode_block(self, block: Mapping[str, Any], start: int, out: dict[str, Any]) -> None:
        s = self.fitted
        rows = slice(start, start + len(next(iter(block.values())))) if block else slice(0, 0)
        j = 0
        for name, vocab in s.categorical.items():
            vocab.lookup(block[name], out=out["categorical"][j, rows])
            j += 1
        for name, boundaries in s.buckets.items():
            x = _floats(block[name], name)
            ids = np.searchsorted(boundaries, x, side="right") + FIRST_ID
            out["categorical"][j, rows] = np.where(np.isnan(x), UNKNOWN, ids)
            j += 1
        for k, (name, (mean, std)) in enumerate(s.numeric.items()):
            x = (_floats(block[name], name) - mean) / std
            out["numeric"][k, rows] = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        for k, name in enumerate(s.sequences):
            try:
                lists = sequence_lists(block[name], self.options.separator)
            except DataError as exc:
                raise DataError(f"Column {name!r}: {exc}") from None
            values, lengths, full = truncated_parts(lists, self.max_history)
            dense = out["sequences"][k, rows]  # (b, L), contiguous
            if full:  # every row holds L events: the ids are the block, row after row
                s.vocabulary_of(name).lookup(values, out=dense.reshape(-1))
            else:
                scatter_rows(s.vocabulary_of(name).lookup(values), lengths, dense)
            out["lengths"][k, rows] = lengths

    def collate(
        self, encoded: Encoded, indices: Sequence[int] | np.ndarray, *, train: bool = False
    ) -> dict[str, np.ndarray]:
        idx = np.asarray(indices, dtype=np.int64)
        a = encoded.arrays
        lengths = a["lengths"][:, idx].T  # (B, S)
        mask = np.arange(a["sequences"].shape[2])[None, None, :] < lengths[:, :, None]
        seqs = a["sequences"][:, idx].transpose(1, 0, 2)
        return {
            "categorical": np.ascontiguousarray(a["categorical"][:, idx].T, dtype=np.int64),
            "numeric": np.ascontiguousarray(a["numeric"][:, idx].T),
            "sequences": np.ascontiguousarray(seqs, dtype=np.int64),
            "sequence_mask": mask.astype(np.int64),
        }

    def from_records(self, records: Sequence[Any]) -> Encoded:
        s = self.fitted
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise DataError(
                    f"Input {i}: a CTR model reads one JSON object of fields per row, got "
                    f"{type(rec).__name__} {str(rec)[:60]!r}."
                )
        columns: dict[str, pa.Array] = {}
        for name in s.categorical:
            columns[name] = _categorical_records(records, name)
        for name in [*s.buckets, *s.numeric]:
            columns[name] = _numeric_records(records, name)
        for name in s.sequences:
            columns[name] = _sequence_records(records, name, self.options.separator)
        return self.encode_inputs(pa.table(columns) if columns else _empty_table(len(records)))

    # -- config, tests ------------------------------------------------------------------------------
    def config_fields(self) -> dict[str, Any]:
        s = self.fitted
        sizes = {n: v.size for n, v in s.categorical.items()}
        sizes.update({n: len(b) + 1 + FIRST_ID for n, b in s.buckets.items()})
        return {
            "categorical_sizes": sizes,
            "numeric_fields": list(s.numeric),
            "sequence_fields": dict(s.sequences),
            "sequence_sizes": {n: v.size for n, v in s.own.items()},
            "max_history": self.max_history,
        }

    @classmethod
    def synthetic(
        cls,
        vocab_size: int = 64,
        max_history: int = 16,
        categorical_sizes: Mapping[str, int] | None = None,
        numeric_fields: Sequence[str] = ("price", "age"),
        sequence_fields: Mapping[str, str] | None = None,
        **_: Any,
    ) -> TabularProcessor:
        """A fitted schema of integer vocabularies (default: user_id, item_id, category, two
        numeric fields and an ``item_history`` sharing ``item_id``)."""
        sizes = dict(
            categorical_sizes or {"user_id": vocab_size, "item_id": vocab_size, "category": 8}
        )
        seqs = dict(
            sequence_fields
            if sequence_fields is not None
            else ({"item_history": "item_id"} if "item_id" in sizes else {})
        )
        schema = Schema(
            categorical={
                n: Vocabulary(range(max(size - FIRST_ID, 0)), "int") for n, size in sizes.items()
            },
            numeric={n: (0.0, 1.0) for n in numeric_fields},
            sequences=seqs,
        )
        for seq, shares in seqs.items():
            if shares == seq:
                schema.own[seq] = Vocabulary(range(max(vocab_size - FIRST_ID, 0)), "int")
            elif shares not in sizes:
                raise DataError(
                    f"Synthetic sequence {seq!r} shares {shares!r}, not a categorical field."
                )
        return cls(TabularSettings(max_history=max_history), schema=schema)

    def synthetic_batch(self, batch: int, size: int, seed: int) -> dict[str, np.ndarray]:
        """Random ids (including unknowns) and histories of ragged length ``<= size`` (the first
        row's history is empty)."""
        rng = np.random.default_rng(seed)
        sizes = self.config_fields()["categorical_sizes"]
        cat = (
            np.stack(
                [rng.integers(UNKNOWN, max(v, FIRST_ID), size=batch) for v in sizes.values()],
                axis=1,
            )
            if sizes
            else np.zeros((batch, 0))
        )
        s = self.fitted
        seq_sizes = [s.vocabulary_of(n).size for n in s.sequences]
        ids = (
            np.stack(
                [
                    rng.integers(FIRST_ID, max(v, FIRST_ID + 1), size=(batch, size))
                    for v in seq_sizes
                ],
                axis=1,
            )
            if seq_sizes
            else np.zeros((batch, 0, size))
        )
        lengths = rng.integers(1, size + 1, size=(batch, len(seq_sizes)))
        lengths[:1] = 0
        mask = np.arange(size)[None, None, :] < lengths[:, :, None]
        return {
            "categorical": cat.astype(np.int64).reshape(batch, len(sizes)),
            "numeric": rng.standard_normal((batch, len(s.numeric))).astype(np.float32),
            "sequences": np.where(mask, ids, 0).astype(np.int64),
            "sequence_mask": mask.astype(np.int64),
        }

    # -- persistence ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {
            **self.options.model_dump(mode="json"),
            "max_history": self.max_history,
            "schema": SCHEMA_FILE,
        }

    def save_files(self, directory: Path) -> None:
        from attnzoo.io import atomic_write_json

        atomic_write_json(directory / SCHEMA_FILE, self.fitted.to_json())

    @classmethod
    def load(cls, directory: Path, settings: Mapping[str, Any]) -> TabularProcessor:
        from attnzoo.config import validate_config

        values = {k: v for k, v in settings.items() if k != "schema"}
        options = validate_config(TabularSettings, values, where=f"{directory}/processor.json")
        path = Path(directory) / SCHEMA_FILE
        if not path.exists():
            raise CheckpointError(f"{directory} is incomplete: {SCHEMA_FILE} is missing.")
        try:
            schema = Schema.from_json(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path} is unreadable or damaged: {exc!r}") from None
        return cls(options, schema=schema)

    def describe(self) -> str:
        if self.schema is None:
            return "tabular (not fitted)"
        s = self.schema
        return (
            f"tabular ({len(s.categorical) + len(s.buckets)} categorical, {len(s.numeric)} numeric, "
            f"{len(s.sequences)} sequences of {self.max_history})"
        )


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------


def infer_fields(settings: TabularSettings, types: Mapping[str, pa.DataType]) -> dict[str, Any]:
    """Field kinds: the settings' lists, and for kinds not given, the columns' Arrow types."""
    given = [*(settings.categorical or []), *(settings.numeric or []), *(settings.sequences or [])]
    unknown = [c for c in given if c not in types]
    if unknown:
        raise DataError(
            f"data.processor names columns {unknown} that the training split lacks "
            f"(columns: {list(types)})."
        )
    for name in [*(settings.categorical or []), *(settings.numeric or [])]:
        if is_list_type(types[name]):
            raise DataError(
                f"Column {name!r} holds lists ({types[name]}): list it under "
                "data.processor.sequences, not as a categorical or numeric field."
            )
    free = [c for c in types if c not in given and c not in settings.exclude]
    inferred: dict[str, list[str]] = {"categorical": [], "numeric": [], "sequences": []}
    for name in free:
        t = types[name]
        if is_list_type(t) or (is_string_type(t) and _HISTORY_NAME.match(name)):
            inferred["sequences"].append(name)
        elif is_string_type(t) or pa.types.is_integer(t) or pa.types.is_boolean(t):
            inferred["categorical"].append(name)
        elif pa.types.is_floating(t) or pa.types.is_decimal(t):
            inferred["numeric"].append(name)
        else:
            logger.info("tabular: column %r (%s) is not used as a field", name, t)
    categorical = (
        settings.categorical if settings.categorical is not None else inferred["categorical"]
    )
    numeric = settings.numeric if settings.numeric is not None else inferred["numeric"]
    seqs = settings.sequences if settings.sequences is not None else inferred["sequences"]
    return {
        "categorical": list(categorical),
        "numeric": list(numeric),
        "sequences": pair_sequences(seqs, categorical),
    }


def pair_sequences(
    sequences: Mapping[str, str | None] | Sequence[str], categorical: Sequence[str]
) -> dict[str, str]:
    """Each sequence field -> the categorical field whose vocabulary it shares (or itself)."""
    pairs: dict[str, str] = {}
    for seq in sequences:
        shares = (
            sequences[seq] if isinstance(sequences, Mapping) else shared_field(seq, categorical)
        )
        if shares is None:
            shares = seq
        elif shares != seq and shares not in categorical:
            raise DataError(
                f"Sequence {seq!r} shares the vocabulary of {shares!r}, which is not a categorical "
                f"field (categorical: {list(categorical)}). Fix data.processor.sequences."
            )
        pairs[seq] = shares
    return pairs


def shared_field(seq: str, categorical: Sequence[str]) -> str | None:
    """The categorical field a sequence is named after: item_history / hist_item -> item_id."""
    m = _HISTORY_NAME.match(seq)
    if not m:
        return None
    base = m.group("a") or m.group("b")
    return next((c for c in (base, f"{base}_id") if c in categorical), None)


def fit_schema(settings: TabularSettings, train: Any) -> Schema:
    """Vocabularies and statistics from the training split (a ``datasets.Dataset`` or Arrow table)."""
    table = _arrow_table(train)
    fields = infer_fields(settings, dict(zip(table.column_names, table.schema.types, strict=True)))
    if not any(fields.values()):
        raise DataError(
            f"The training split has no usable field columns (columns: {table.column_names}); "
            "name them with data.processor.categorical / numeric / sequences."
        )
    seq_lists = {s: sequence_lists(table[s], settings.separator) for s in fields["sequences"]}
    schema = Schema(sequences=fields["sequences"])
    for name in fields["categorical"]:
        parts = [as_array(table[name])]
        parts += [seq_lists[s].flatten() for s, c in fields["sequences"].items() if c == name]
        schema.categorical[name] = Vocabulary.fit(parts, settings.min_count)
    for seq, shares in fields["sequences"].items():
        if shares == seq:
            schema.own[seq] = Vocabulary.fit([seq_lists[seq].flatten()], settings.min_count)
    for name in fields["numeric"]:
        x = _floats(table[name], name)
        if settings.numeric_transform == "bucketize":
            qs = np.linspace(0, 1, settings.num_buckets + 1)[1:-1]
            finite = x[np.isfinite(x)]
            edges = np.unique(np.quantile(finite, qs)) if len(finite) else np.zeros(0)
            schema.buckets[name] = edges
        else:
            mean = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
            std = float(np.nanstd(x)) if np.isfinite(x).any() else 1.0
            schema.numeric[name] = (mean, std if np.isfinite(std) and std > 0 else 1.0)
    return schema


# ---------------------------------------------------------------------------------------------
# Tables: datasets.Dataset or pyarrow.Table, read in blocks of rows
# ---------------------------------------------------------------------------------------------


def _arrow_table(table: Any) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    if hasattr(table, "with_format"):  # datasets.Dataset: applies select()'s index mapping
        return table.with_format("arrow")[:]
    raise DataError(f"Expected a datasets.Dataset or pyarrow.Table, got {type(table).__name__}.")


def _column_names(table: Any) -> list[str]:
    return list(table.column_names)


def _num_rows(table: Any) -> int:
    return int(table.num_rows) if isinstance(table, pa.Table) else len(table)


def _column(table: Any, name: str) -> Any:
    if isinstance(table, pa.Table):
        return table[name]
    return table.with_format("arrow")[name]


def _blocks(table: Any, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, pa.Array]]]:
    """``(start, {column: array})`` for consecutive blocks of ``BLOCK_ROWS`` rows."""
    n = _num_rows(table)
    if isinstance(table, pa.Table):
        view = table.select(list(columns))
        get = view.slice
    else:
        view = table.select_columns(list(columns)).with_format("arrow")

        def get(start: int, length: int) -> pa.Table:
            return view[start : start + length]

    for start in range(0, n, BLOCK_ROWS):
        block = get(start, min(BLOCK_ROWS, n - start))
        yield start, {c: as_array(block[c]) for c in columns}


def _empty_table(n: int) -> pa.Table:
    return pa.table({"_": pa.nulls(n)})


def _floats(column: Any, name: str) -> np.ndarray:
    arr = as_array(column)
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        try:
            arr = arr.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DataError(
                f"Numeric column {name!r} holds non-numeric values ({arr.type}); list it under "
                "data.processor.categorical instead."
            ) from None
    return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)


# ---------------------------------------------------------------------------------------------
# predict: rows as dicts
# ---------------------------------------------------------------------------------------------


def _categorical_records(records: Sequence[Mapping[str, Any]], name: str) -> pa.Array:
    values = [rec.get(name) for rec in records]
    for i, v in enumerate(values):
        if v is not None and not isinstance(v, str | int | float):
            raise DataError(
                f"Input {i}: field {name!r} is categorical (a string or an integer), got "
                f"{type(v).__name__} {str(v)[:60]!r}."
            )
    if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
        return pa.array(values, pa.int64())
    return pa.array([None if v is None else _key_text(v) for v in values], pa.string())


def _key_text(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _numeric_records(records: Sequence[Mapping[str, Any]], name: str) -> pa.Array:
    out = []
    for i, rec in enumerate(records):
        v = rec.get(name)
        if isinstance(v, str):
            try:
                v = float(v) if v.strip() else None
            except ValueError:
                v = "bad"
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise DataError(
                f"Input {i}: field {name!r} is numeric, got {type(rec.get(name)).__name__} "
                f"{str(rec.get(name))[:60]!r}."
            )
        out.append(None if v is None else float(v))
    return pa.array(out, pa.float64())


def _sequence_records(records: Sequence[Mapping[str, Any]], name: str, separator: str) -> pa.Array:
    lists: list[list[Any]] = []
    for i, rec in enumerate(records):
        v = rec.get(name)
        if v is None:
            v = []
        elif isinstance(v, str):
            v = [t for t in (p.strip() for p in v.split(separator)) if t]
        if not isinstance(v, list | tuple) or not all(
            isinstance(x, str | int) and not isinstance(x, bool) for x in v
        ):
            raise DataError(
                f"Input {i}: field {name!r} is a behaviour sequence (a list of ids or a "
                f"{separator!r}-separated string), got {str(rec.get(name))[:60]!r}."
            )
        lists.append(list(v))
    if all(isinstance(x, int) for v in lists for x in v):
        return pa.array(lists, pa.list_(pa.int64()))
    return pa.array([[str(x) for x in v] for v in lists], pa.list_(pa.string()))
