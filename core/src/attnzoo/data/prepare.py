"""Encoding and batching: token ids stored once per split, padded per batch (never to max_length)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnzoo.data.dataset import SPLITS, TextDataset
from attnzoo.data.tokenizer import UNK, pad_id
from attnzoo.errors import DataError


@dataclass
class PreparedData:
    """Encoded splits ready for any trainer.

    ``ids[split]`` is a list of int64 arrays (one per example, truncated), ``labels[split]`` an
    int64 array. Batches are dicts of numpy arrays: ``input_ids`` and ``attention_mask`` (B, L)
    padded to the longest sequence in the batch, and ``labels`` (B,).
    """

    ids: dict[str, list[np.ndarray]]
    labels: dict[str, np.ndarray]
    label_names: list[str]
    tokenizer: Any
    vocab_size: int
    pad_token_id: int
    max_length: int
    encode_seconds: float = 0.0

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def num_examples(self, split: str) -> int:
        return len(self.labels[split])

    def collate(self, split: str, indices: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        seqs = [self.ids[split][i] for i in indices]
        return pad_batch(
            seqs, self.pad_token_id, labels=self.labels[split][np.asarray(indices, dtype=np.int64)]
        )

    def batches(
        self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0, epoch: int = 0
    ) -> Iterator[dict[str, np.ndarray]]:
        """Batches of one split, in order or shuffled by ``(seed, epoch)``."""
        if batch_size < 1:
            raise DataError(f"batch_size must be positive, got {batch_size}.")
        order = np.arange(self.num_examples(split))
        if shuffle:
            order = np.random.default_rng([seed, epoch]).permutation(order)
        for start in range(0, len(order), batch_size):
            yield self.collate(split, order[start : start + batch_size])

    def num_tokens(self, split: str) -> int:
        return int(sum(len(x) for x in self.ids[split]))


def pad_batch(
    seqs: Sequence[np.ndarray], pad_token_id: int, labels: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    longest = max((len(s) for s in seqs), default=1) or 1
    input_ids = np.full((len(seqs), longest), pad_token_id, dtype=np.int64)
    mask = np.zeros((len(seqs), longest), dtype=np.int64)
    for row, s in enumerate(seqs):
        input_ids[row, : len(s)] = s
        mask[row, : len(s)] = 1
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if labels is not None:
        batch["labels"] = np.asarray(labels, dtype=np.int64)
    return batch


def encode_texts(
    tokenizer: Any, texts: Sequence[str], max_length: int, chunk: int = 1024
) -> list[np.ndarray]:
    if max_length < 1:
        raise DataError(f"max_length must be positive, got {max_length}.")
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    # an empty text becomes one unknown token, so every sequence has at least one real position
    empty = np.asarray([tokenizer.token_to_id(UNK) or 0], dtype=np.int64)
    out: list[np.ndarray] = []
    for start in range(0, len(texts), chunk):
        for enc in tokenizer.encode_batch(list(texts[start : start + chunk])):
            ids = np.asarray(enc.ids, dtype=np.int64)
            out.append(ids if len(ids) else empty)
    return out


def prepare_data(ds: TextDataset, tokenizer: Any, max_length: int) -> PreparedData:
    """Encode every split (truncating to ``max_length``); the tokenizer is already fitted."""
    t0 = time.perf_counter()
    ids: dict[str, list[np.ndarray]] = {}
    labels: dict[str, np.ndarray] = {}
    for split in SPLITS:
        if split not in ds.splits:
            continue
        table = ds.splits[split]
        labels[split] = np.asarray(table[ds.label_column], dtype=np.int64)
        if ds.pretokenized:
            ids[split] = [np.asarray(x[:max_length], dtype=np.int64) for x in table["input_ids"]]
        else:
            ids[split] = encode_texts(tokenizer, table[ds.text_column], max_length)
    if ds.pretokenized:
        vocab, pad = int(ds.pretokenized_vocab_size or 0), 0
    else:
        vocab, pad = int(tokenizer.get_vocab_size()), pad_id(tokenizer)
    return PreparedData(
        ids,
        labels,
        list(ds.label_names),
        tokenizer,
        vocab,
        pad,
        max_length,
        time.perf_counter() - t0,
    )
