"""Tiny, deterministic, learnable data for tests (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

_TOPICS = {
    "sport": "match goal team player coach season league score win striker",
    "tech": "software chip phone internet data computer network device app code",
    "money": "bank market shares profit price economy growth trade rates investor",
}


def make_texts(
    n: int, seed: int = 0, *, length: tuple[int, int] = (6, 20)
) -> tuple[list[str], list[str]]:
    """``n`` short texts from three topics with shared filler words; labels are the topic names."""
    rng = np.random.default_rng(seed)
    filler = ["the", "a", "of", "and", "to", "in", "on", "with", "for", "said", "this", "that"]
    names = sorted(_TOPICS)
    texts, labels = [], []
    for i in range(n):
        label = names[i % len(names)]
        words = _TOPICS[label].split()
        k = int(rng.integers(*length))
        picks = [
            words[j] if rng.random() < 0.5 else filler[j % len(filler)]
            for j in rng.integers(0, len(words), size=k)
        ]
        texts.append(" ".join(picks))
        labels.append(label)
    return texts, labels


def make_text_dataset(folder: str | Path, n: int = 90, seed: int = 0, fmt: str = "csv") -> Path:
    """Write a labelled file (``csv`` or ``jsonl``) with ``n`` rows; returns its path."""
    import csv
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    texts, labels = make_texts(n, seed)
    path = folder / f"tiny.{fmt}"
    if fmt == "csv":
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "label"])
            w.writerows(zip(texts, labels, strict=True))
    else:
        path.write_text(
            "".join(
                json.dumps({"text": t, "label": y}) + "\n"
                for t, y in zip(texts, labels, strict=True)
            )
        )
    return path


def tiny_batch(
    vocab_size: int,
    num_classes: int,
    batch: int = 4,
    length: int = 12,
    seed: int = 0,
    pad_token_id: int = 0,
) -> dict[str, np.ndarray]:
    """Random ids with ragged lengths (trailing padding) and labels that depend on the ids."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, vocab_size, size=(batch, length)).astype(np.int64)
    lengths = np.linspace(length, max(2, length // 2), batch).astype(int)
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)
    ids = np.where(mask == 1, ids, pad_token_id)
    labels = (ids[:, 0] % num_classes).astype(np.int64)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
