"""The processor protocol: the third object of a model, next to its config and its network.

A processor turns one input kind (text, CTR tables, images) into batches of numpy arrays that
any framework consumes. It is fitted on the training split only, encodes each split once
(columnar), collates batches by index, encodes raw records for ``predict``, tells the trainer
which config fields it determines (vocabulary sizes, fields, image size), makes synthetic
batches for conformance tests and scaling sweeps, and saves itself as JSON into the model
folder (``processor.json`` plus ``tokenizer.json`` or ``schema.json``), never pickled.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from attnzoo.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from attnzoo.data.dataset import Dataset

PROCESSOR_FILE = "processor.json"


@dataclass
class Encoded:
    """One split, encoded once: ``n`` examples as columnar numpy arrays the processor laid out.

    ``labels`` holds class ids (N,) when the split is labelled; ``groups`` an int64 id per row
    for grouped metrics (gAUC: the user of each impression) when the data has a group column.
    """

    n: int
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    labels: np.ndarray | None = None
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return self.n


class Processor(ABC):
    """Base class of every input kind. Subclasses set :attr:`kind` and implement the methods."""

    #: the input kind's registered name ("text", "tabular", "image")
    kind: ClassVar[str] = ""

    # -- construction ------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def from_run(cls, data_config: Any, dataset: Dataset, model_config: Any) -> Processor:
        """An unfitted processor for a run: settings from ``data`` config, dataset hints, model."""

    @abstractmethod
    def fit(self, dataset: Dataset) -> None:
        """Learn vocabularies/statistics from ``dataset.splits['train']`` only."""

    # -- encoding ------------------------------------------------------------------------------
    @abstractmethod
    def encode_inputs(self, table: Any) -> Encoded:
        """Encode the inputs of one split (a ``datasets.Dataset``), vectorised, without labels."""

    def encode(
        self, table: Any, *, label_column: str | None = "label", group_column: str | None = None
    ) -> Encoded:
        """Encode one split: its inputs, its class ids and (if any) its group ids."""
        enc = self.encode_inputs(table)
        if label_column and label_column in table.column_names:
            enc.labels = np.asarray(table[label_column], dtype=np.int64)
        if group_column and group_column in table.column_names:
            enc.groups = group_ids(table[group_column])
        return enc

    @abstractmethod
    def collate(
        self, encoded: Encoded, indices: Sequence[int] | np.ndarray, *, train: bool = False
    ) -> dict[str, np.ndarray]:
        """The model inputs of the examples at ``indices`` (no labels), as numpy arrays.

        ``train`` is true for training batches only: the place for augmentation, which must be
        a deterministic function of the batch (e.g. seeded by its indices) so resume stays exact.
        """

    @abstractmethod
    def from_records(self, records: Sequence[Any]) -> Encoded:
        """Encode raw inputs for ``predict`` (texts, row dicts, image paths); never crashes on unseen values."""

    @abstractmethod
    def config_fields(self) -> dict[str, Any]:
        """The model-config fields this processor determines, e.g. ``{"vocab_size": 16000}``."""

    # -- tests and sweeps ----------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def synthetic(cls, **settings: Any) -> Processor:
        """A fitted processor with a small synthetic vocabulary/schema (conformance, sweeps)."""

    @abstractmethod
    def synthetic_batch(self, batch: int, size: int, seed: int) -> dict[str, np.ndarray]:
        """Random model inputs for ``batch`` examples; ``size`` is the sequence length, history
        length or image side, depending on the kind."""

    # -- persistence ----------------------------------------------------------------------------
    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """JSON-serialisable settings written to ``processor.json`` (beside ``kind``)."""

    def save(self, directory: str | Path) -> None:
        """Write ``processor.json`` (and the kind's own files) into ``directory``."""
        from attnzoo.io import atomic_write_json

        directory = Path(directory)
        self.save_files(directory)
        atomic_write_json(directory / PROCESSOR_FILE, {"kind": self.kind, **self.settings()})

    def save_files(self, directory: Path) -> None:
        """Write the kind's own files (``tokenizer.json``, ``schema.json``); default: none."""
        return None

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, settings: Mapping[str, Any]) -> Processor:
        """Rebuild a fitted processor from ``settings`` (processor.json) and the folder's files."""

    def describe(self) -> str:
        """One line for logs and ``attnzoo info``."""
        return self.kind


def group_ids(values: Any) -> np.ndarray:
    """Dense int64 ids for arbitrary group values (users), vectorised."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        arr = arr.astype(str)
    _, inverse = np.unique(arr, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1)


def processor_class(kind: str) -> type[Processor]:
    """The processor class registered for input kind ``kind``."""
    from attnzoo.registry import get_input_kind_spec

    cls = get_input_kind_spec(kind).load_factory()
    if not (isinstance(cls, type) and issubclass(cls, Processor)):
        raise ConfigError(f"Input kind {kind!r} names {cls!r}, which is not a Processor class.")
    return cls


def load_processor(directory: str | Path) -> Processor | None:
    """The processor saved in a model folder, or ``None`` for a folder without one."""
    directory = Path(directory)
    path = directory / PROCESSOR_FILE
    if not path.exists():
        return None
    try:
        settings = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is unreadable or not JSON: {exc}") from None
    if not isinstance(settings, dict) or not isinstance(settings.get("kind"), str):
        raise CheckpointError(f"{path} has no input 'kind': the model folder is damaged.")
    kind = settings.pop("kind")
    return processor_class(kind).load(directory, settings)
