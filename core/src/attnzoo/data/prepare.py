"""Encoded splits and batches: each split encoded once by the model's processor, batched by index."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnzoo.data.dataset import SPLITS, Dataset
from attnzoo.data.processors.base import Encoded, Processor
from attnzoo.errors import DataError


@dataclass
class PreparedData:
    """Encoded splits ready for any framework's engine.

    Batches are dicts of numpy arrays: the processor's model inputs (``input_ids`` and
    ``attention_mask`` padded per batch for text; ``categorical``/``numeric``/``sequences``
    for tables; ``pixel_values`` for images) plus ``labels`` (B,).
    """

    encoded: dict[str, Encoded]
    processor: Processor
    label_names: list[str]
    encode_seconds: float = 0.0

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def labels(self) -> dict[str, np.ndarray]:
        return {s: e.labels for s, e in self.encoded.items() if e.labels is not None}

    def groups(self, split: str) -> np.ndarray | None:
        return self.encoded[split].groups

    def num_examples(self, split: str) -> int:
        return self.encoded[split].n

    def collate(self, split: str, indices: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        enc = self.encoded[split]
        idx = np.asarray(indices, dtype=np.int64)
        batch = self.processor.collate(enc, idx, train=split == "train")
        if enc.labels is not None:
            batch["labels"] = enc.labels[idx]
        return batch

    def batches(
        self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0, epoch: int = 0
    ) -> Iterator[dict[str, np.ndarray]]:
        """Batches of one split, in order or shuffled by ``(seed, epoch)``."""
        yield from batches_of(
            lambda idx: self.collate(split, idx),
            self.num_examples(split),
            batch_size,
            shuffle=shuffle,
            seed=seed,
            epoch=epoch,
        )


def batches_of(
    collate: Any, n: int, batch_size: int, *, shuffle: bool = False, seed: int = 0, epoch: int = 0
) -> Iterator[dict[str, np.ndarray]]:
    """``collate(indices)`` over ``range(n)`` in batches, in order or shuffled by ``(seed, epoch)``."""
    if batch_size < 1:
        raise DataError(f"batch_size must be positive, got {batch_size}.")
    order = np.arange(n)
    if shuffle:
        order = np.random.default_rng([seed, epoch]).permutation(order)
    for start in range(0, n, batch_size):
        yield collate(order[start : start + batch_size])


def encoded_batches(
    processor: Processor, encoded: Encoded, batch_size: int
) -> Iterator[dict[str, np.ndarray]]:
    """Model inputs of an encoded split (no labels), in order: evaluate, predict, latency."""
    return batches_of(lambda idx: processor.collate(encoded, idx), encoded.n, batch_size)


def prepare_data(ds: Dataset, processor: Processor) -> PreparedData:
    """Encode every split of ``ds`` with a fitted ``processor``."""
    t0 = time.perf_counter()
    encoded = {
        split: processor.encode(
            ds.splits[split], label_column=ds.label_column, group_column=ds.group_column
        )
        for split in SPLITS
        if split in ds.splits
    }
    return PreparedData(encoded, processor, list(ds.label_names), time.perf_counter() - t0)
