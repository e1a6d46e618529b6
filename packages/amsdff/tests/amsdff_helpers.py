"""Test helpers: tiny encoders saved as local "pretrained" folders, right-padded batches.

(A uniquely named module rather than conftest.py, so it cannot clash with another package's
test helpers when several test folders run in one session.)
"""

from __future__ import annotations

from pathlib import Path

import torch

from attnzoo.testing.data import make_texts

PAD = 0
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
#: every word of attnzoo's tiny test texts, so a word-level vocabulary covers them
WORDS = sorted({w for text in make_texts(300)[0] for w in text.split()})
VOCAB = len(SPECIALS) + len(WORDS)
TINY_BERT = {
    "vocab_size": VOCAB,
    "hidden_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 96,
    "max_position_embeddings": 64,
}


def save_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised BERT with a word-level vocab.txt, saved like a downloaded model."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    BertModel(BertConfig(**TINY_BERT)).save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(SPECIALS + WORDS) + "\n")
    return folder


def padded_batch(seqs: list[list[int]], length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``seqs`` with PAD to ``length`` -> (input_ids, attention_mask), both (B, length)."""
    ids = torch.full((len(seqs), length), PAD, dtype=torch.long)
    mask = torch.zeros((len(seqs), length), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def sample_seqs() -> list[list[int]]:
    g = torch.Generator().manual_seed(0)
    return [torch.randint(1, VOCAB, (n,), generator=g).tolist() for n in (3, 7, 11)]
