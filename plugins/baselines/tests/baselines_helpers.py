"""Test helpers: right-padded batches like the attnzoo collator makes them.

(A uniquely named module rather than conftest.py, so it cannot clash with another package's
test helpers when several test folders run in one session.)
"""

from __future__ import annotations

import torch

PAD = 0
VOCAB = 50


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


def assert_padding_invariant(
    model: torch.nn.Module, seqs: list[list[int]], atol: float = 1e-5
) -> None:
    """Eval logits must not change when more padding is appended."""
    model.eval()
    longest = max(len(s) for s in seqs)
    with torch.no_grad():
        short = model(*padded_batch(seqs, longest))["logits"]
        long = model(*padded_batch(seqs, longest + 9))["logits"]
        alone = torch.cat([model(*padded_batch([s], len(s)))["logits"] for s in seqs])
    torch.testing.assert_close(long, short, atol=atol, rtol=0)
    torch.testing.assert_close(alone, short, atol=atol, rtol=0)
