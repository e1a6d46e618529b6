"""The ``text`` input kind: Hugging Face ``tokenizers``, truncation, per-batch padding.

Encoded layout: every split's token ids as one flat int64 array plus offsets (Arrow's list
layout), so a batch is gathered with a few vectorised numpy operations. Pre-tokenized id
streams (ListOps) skip the tokenizer and read an ``input_ids`` column.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.config import DEFAULT_MAX_LENGTH
from attnzoo.data.processors.base import Encoded, Processor
from attnzoo.errors import CheckpointError, DataError

TOKENIZER_FILE = "tokenizer.json"
#: characters kept per allowed token before encoding a long text (see ``_head``)
_CHARS_PER_TOKEN = 16


class TextProcessor(Processor):
    """Texts (or pre-tokenized id lists) to ``input_ids`` and ``attention_mask`` (B, L).

    Args:
        tokenizer: a fitted ``tokenizers.Tokenizer`` (``None`` for pre-tokenized data).
        max_length: truncate every sequence to this many tokens.
        text_column: the column holding the text.
        tokenizer_config: how the tokenizer is trained or loaded (``data.tokenizer``).
        pretokenized_vocab_size: set when the data holds ``input_ids`` lists instead of text.
    """

    kind = "text"

    def __init__(
        self,
        tokenizer: Any = None,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        text_column: str = "text",
        tokenizer_config: Mapping[str, Any] | None = None,
        pretokenized_vocab_size: int | None = None,
    ) -> None:
        if max_length < 1:
            raise DataError(f"max_length must be positive, got {max_length}.")
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.text_column = text_column
        self.tokenizer_config = dict(tokenizer_config or {})
        self.pretokenized_vocab_size = pretokenized_vocab_size

    @property
    def pretokenized(self) -> bool:
        return self.pretokenized_vocab_size is not None

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_run(cls, data_config: Any, dataset: Any, model_config: Any) -> TextProcessor:
        return cls(
            max_length=int(data_config.max_length or DEFAULT_MAX_LENGTH),
            text_column=dataset.text_column,
            tokenizer_config=data_config.tokenizer.model_dump(),
            pretokenized_vocab_size=dataset.pretokenized_vocab_size,
        )

    def fit(self, dataset: Any) -> None:
        if self.pretokenized or self.tokenizer is not None:
            return
        self.tokenizer = cached_tokenizer(
            self.tokenizer_config, dataset.splits["train"][self.text_column]
        )

    # -- encoding --------------------------------------------------------------------------------
    def encode_inputs(self, table: Any) -> Encoded:
        if self.pretokenized:
            if "input_ids" not in table.column_names:
                raise DataError(
                    f"Pre-tokenized data needs an 'input_ids' column (columns: {table.column_names})."
                )
            seqs = [np.asarray(x[: self.max_length], dtype=np.int64) for x in table["input_ids"]]
            return _pack(seqs)
        if self.text_column not in table.column_names:
            raise DataError(
                f"No text column {self.text_column!r} (columns: {table.column_names}). "
                "Set it with --set data.text_column=NAME."
            )
        return self.encode_texts(table[self.text_column])

    def encode_texts(self, texts: Sequence[str]) -> Encoded:
        """Token ids of ``texts``, truncated to ``max_length`` (an empty text is one [UNK])."""
        if self.tokenizer is None:
            raise DataError(
                "This model was trained on pre-tokenized ids and has no tokenizer: pass lists of token ids."
            )
        return _pack(encode_texts(self.tokenizer, texts, self.max_length))

    def collate(
        self, encoded: Encoded, indices: Sequence[int] | np.ndarray, *, train: bool = False
    ) -> dict[str, np.ndarray]:
        idx = np.asarray(indices, dtype=np.int64)
        flat, offsets = encoded.arrays["ids"], encoded.arrays["offsets"]
        starts, lengths = offsets[idx], offsets[idx + 1] - offsets[idx]
        longest = max(int(lengths.max(initial=0)), 1)
        positions = np.arange(longest)
        mask = positions[None, :] < lengths[:, None]
        gather = np.minimum(starts[:, None] + positions[None, :], max(len(flat) - 1, 0))
        ids = np.where(mask, flat[gather] if len(flat) else 0, self.pad_token_id)
        return {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}

    def from_records(self, records: Sequence[Any]) -> Encoded:
        if self.pretokenized:
            seqs = []
            for i, rec in enumerate(records):
                ids = rec.get("input_ids") if isinstance(rec, Mapping) else rec
                if isinstance(ids, str) or not isinstance(ids, Sequence):
                    raise DataError(
                        f"Input {i}: this model reads lists of token ids, got {type(ids).__name__}."
                    )
                seqs.append(np.asarray(ids[: self.max_length], dtype=np.int64))
            return _pack(seqs)
        texts = []
        for i, rec in enumerate(records):
            if isinstance(rec, Mapping):
                if self.text_column not in rec and "text" not in rec:
                    raise DataError(
                        f"Input {i} has no {self.text_column!r} field (keys: {sorted(rec)})."
                    )
                rec = rec.get(self.text_column, rec.get("text"))
            texts.append(str(rec))
        return self.encode_texts(texts)

    # -- config, tests ------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        if self.pretokenized:
            return int(self.pretokenized_vocab_size or 0)
        return int(self.tokenizer.get_vocab_size())

    @property
    def pad_token_id(self) -> int:
        from attnzoo.data.tokenizer import pad_id

        return 0 if self.tokenizer is None else pad_id(self.tokenizer)

    def config_fields(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "pad_token_id": self.pad_token_id,
            "max_seq_len": self.max_length,
        }

    @classmethod
    def synthetic(cls, vocab_size: int = 64, max_length: int = 64, **_: Any) -> TextProcessor:
        return cls(max_length=max_length, pretokenized_vocab_size=vocab_size)

    def synthetic_batch(self, batch: int, size: int, seed: int) -> dict[str, np.ndarray]:
        """Random ids in ``[2, vocab)`` with ragged lengths (trailing padding)."""
        rng = np.random.default_rng(seed)
        ids = rng.integers(2, max(self.vocab_size, 3), size=(batch, size)).astype(np.int64)
        lengths = np.linspace(size, max(2, size // 2), batch).astype(int)
        mask = (np.arange(size)[None, :] < lengths[:, None]).astype(np.int64)
        return {"input_ids": np.where(mask == 1, ids, self.pad_token_id), "attention_mask": mask}

    # -- persistence ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {
            "max_length": self.max_length,
            "text_column": self.text_column,
            "tokenizer": TOKENIZER_FILE if self.tokenizer is not None else None,
            "tokenizer_config": self.tokenizer_config,
            "pretokenized_vocab_size": self.pretokenized_vocab_size,
        }

    def save_files(self, directory: Path) -> None:
        if self.tokenizer is not None:
            from attnzoo.io import atomic_write

            atomic_write(directory / TOKENIZER_FILE, lambda tmp: self.tokenizer.save(str(tmp)))

    @classmethod
    def load(cls, directory: Path, settings: Mapping[str, Any]) -> TextProcessor:
        from attnzoo.data.tokenizer import load_tokenizer

        tokenizer = None
        if settings.get("tokenizer"):
            path = directory / TOKENIZER_FILE
            if not path.exists():
                raise CheckpointError(
                    f"{directory} is incomplete: processor.json names {TOKENIZER_FILE}, which is missing."
                )
            tokenizer = load_tokenizer(path)
        return cls(
            tokenizer,
            max_length=int(settings.get("max_length") or DEFAULT_MAX_LENGTH),
            text_column=str(settings.get("text_column") or "text"),
            tokenizer_config=settings.get("tokenizer_config") or {},
            pretokenized_vocab_size=settings.get("pretokenized_vocab_size"),
        )

    def describe(self) -> str:
        if self.pretokenized:
            return f"text (pre-tokenized ids, vocabulary {self.vocab_size}, max_length {self.max_length})"
        kind = self.tokenizer_config.get("kind", "tokenizer")
        return f"text ({kind}, vocabulary {self.vocab_size}, max_length {self.max_length})"


def _pack(seqs: Sequence[np.ndarray]) -> Encoded:
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate(seqs).astype(np.int64) if len(seqs) else np.zeros(0, dtype=np.int64)
    return Encoded(len(seqs), {"ids": flat, "offsets": offsets})


def encode_texts(
    tokenizer: Any, texts: Sequence[str], max_length: int, chunk: int = 4096, fast: bool = True
) -> list[np.ndarray]:
    """Token ids per text, truncated to ``max_length``; an empty text becomes one [UNK].

    The pipelines attnzoo trains (``wordpiece``, ``word``) take an exact fast path for the
    texts it can handle (see :mod:`attnzoo.data.processors.text_fast`). Other texts are encoded
    by ``tokenizers``; long ones are cut at a space after ``max_length * 16`` characters before
    encoding (a whitespace-splitting tokenizer gives the same first tokens for the head as for
    the whole text); a head that yields fewer than ``max_length`` tokens is encoded again in full.
    """
    from attnzoo.data.processors.text_fast import encode_fast, pipeline
    from attnzoo.data.tokenizer import UNK

    if max_length < 1:
        raise DataError(f"max_length must be positive, got {max_length}.")
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    empty = np.asarray([tokenizer.token_to_id(UNK) or 0], dtype=np.int64)
    kind = pipeline(tokenizer) if fast else None
    if kind == "word":
        # measured slower than the library's own (parallel) encoder on an idle 2-core machine:
        # core/benchmarks/results/data_throughput.json
        kind = None
    if kind is not None:
        texts = [str(t) for t in texts]
        fast_ids, left = encode_fast(tokenizer, texts, max_length, kind, empty)
        if left:
            rest = encode_texts(tokenizer, [texts[i] for i in left], max_length, chunk, fast=False)
            for i, ids in zip(left, rest, strict=True):
                fast_ids[i] = ids
        return [ids for ids in fast_ids if ids is not None]
    can_cut = tokenizer.pre_tokenizer is not None
    budget = max_length * _CHARS_PER_TOKEN
    batch_encode = _batch_encoder(tokenizer)
    out: list[np.ndarray] = []
    for start in range(0, len(texts), chunk):
        block = [str(t) for t in texts[start : start + chunk]]
        heads = [_head(t, budget) if can_cut else t for t in block]
        encs = batch_encode(heads)
        redo = [
            i
            for i, (t, h, e) in enumerate(zip(block, heads, encs, strict=True))
            if len(h) < len(t) and len(e.ids) < max_length
        ]
        if redo:
            for i, e in zip(redo, batch_encode([block[i] for i in redo]), strict=True):
                encs[i] = e
        for enc in encs:
            ids = np.asarray(enc.ids, dtype=np.int64)
            out.append(ids if len(ids) else empty)
    return out


def _batch_encoder(tokenizer: Any) -> Any:
    """``encode_batch_fast`` (no offsets), except for byte-level BPE, which it makes slower:
    on bbc-news (tokenizers 0.23) 16.7 s against 12 s for ``encode_batch``, while WordPiece
    gains 13 % (``core/benchmarks/data_throughput.py``)."""
    pre = type(tokenizer.pre_tokenizer).__name__ if tokenizer.pre_tokenizer is not None else ""
    if pre == "ByteLevel" or not hasattr(tokenizer, "encode_batch_fast"):
        return tokenizer.encode_batch
    return tokenizer.encode_batch_fast


def _head(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    cut = text.rfind(" ", 0, budget)
    return text[:cut] if cut > 0 else text


# ---------------------------------------------------------------------------------------------
# One tokenizer per (training texts, settings): cached by content
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where trained tokenizers are cached: ``$ATTNZOO_CACHE`` or ``~/.cache/attnzoo``."""
    root = os.environ.get("ATTNZOO_CACHE") or Path.home() / ".cache" / "attnzoo"
    return Path(root) / "tokenizers"


def tokenizer_key(tokenizer_config: Mapping[str, Any], texts: Sequence[str]) -> str:
    """A content hash of the tokenizer settings and every training text, in order."""
    h = hashlib.sha256(json.dumps(dict(tokenizer_config), sort_keys=True).encode())
    for t in texts:
        h.update(str(t).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def cached_tokenizer(tokenizer_config: Mapping[str, Any], texts: Sequence[str]) -> Any:
    """Train (or load) the tokenizer for these texts and settings.

    The ``tokenizers`` WordPiece/BPE trainers break frequency ties in hash order, so two
    processes can learn different vocabularies from the same text. Caching the trained
    tokenizer by content gives every run and bench cell on the same data the same vocabulary,
    which makes re-running a ``run.yaml`` exact. ``ATTNZOO_CACHE=off`` disables the cache.
    """
    from attnzoo.data.tokenizer import build_tokenizer, load_tokenizer

    cfg = dict(tokenizer_config)
    kind = cfg.get("kind", "wordpiece")
    build_args = {
        k: cfg[k] for k in ("vocab_size", "min_frequency", "lowercase", "path") if k in cfg
    }
    if kind == "pretrained" or os.environ.get("ATTNZOO_CACHE") == "off":
        return build_tokenizer(kind, texts, **build_args)
    texts = list(texts)
    path = cache_dir() / f"{tokenizer_key(cfg, texts)}.json"
    if path.exists():
        try:
            return load_tokenizer(path)
        except DataError:
            pass  # a damaged cache entry is rebuilt
    tok = build_tokenizer(kind, texts, **build_args)
    try:
        from attnzoo.io import atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: tok.save(str(tmp)))
    except OSError:
        pass  # a read-only home still trains, just without sharing
    return tok
