"""fastText for classification (Joulin et al., 2017, "Bag of Tricks for Efficient Text
Classification"): the mean of word and hashed n-gram embeddings, then a linear head.

N-gram ids are computed inside ``forward`` from ``input_ids`` with a fixed polynomial hash, so
the model needs no special tokenizer and its checkpoints are plain tensors. An n-gram counts
only when all of its tokens are real (no padding), so padding never changes the output.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo_baselines.config import FastTextConfig

# Polynomial hash h <- (h * _MULT + token) mod _PRIME, seeded with the n-gram order so that
# bigrams and trigrams of the same ids land in different buckets. Values stay below
# _PRIME * _MULT + vocab_size, far below 2**63: int64 arithmetic never overflows.
_MULT = 1_000_003
_PRIME = 2_147_483_647


def hash_ngrams(input_ids: torch.Tensor, n: int, num_buckets: int) -> torch.Tensor:
    """Bucket ids (B, L - n + 1) of the n-grams starting at each position of ``input_ids`` (B, L)."""
    count = input_ids.shape[1] - n + 1
    h = torch.full_like(input_ids[:, :count], n)
    for offset in range(n):
        h = (h * _MULT + input_ids[:, offset : offset + count]) % _PRIME
    return h % num_buckets


def ngram_mask(attention_mask: torch.Tensor, n: int) -> torch.Tensor:
    """1 where all ``n`` tokens of the n-gram starting there are real: (B, L) -> (B, L - n + 1)."""
    count = attention_mask.shape[1] - n + 1
    m = attention_mask[:, :count].bool()
    for offset in range(1, n):
        m = m & attention_mask[:, offset : offset + count].bool()
    return m


class FastTextClassifier(nn.Module):
    """Bag of words and hashed n-grams, mean-pooled (padding excluded), linear head."""

    def __init__(self, config: FastTextConfig) -> None:
        super().__init__()
        self.config = config
        self.words = nn.EmbeddingBag(config.vocab_size, config.d_model, mode="sum")
        self.buckets = (
            nn.EmbeddingBag(config.num_buckets, config.d_model, mode="sum")
            if config.ngrams > 1
            else None
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.d_model, config.num_classes)
        # fastText's init: inputs uniform in +-1/d; a small random head (not zeros) so every
        # parameter gets a gradient from the first step.
        bound = 1.0 / config.d_model
        nn.init.uniform_(self.words.weight, -bound, bound)
        if self.buckets is not None:
            nn.init.uniform_(self.buckets.weight, -bound, bound)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> dict:
        weights = attention_mask.to(self.head.weight.dtype)  # (B, L): padding has weight 0
        total = self.words(input_ids, per_sample_weights=weights)  # (B, D) sum over real words
        count = weights.sum(1)  # (B,)
        if self.buckets is not None:
            for n in range(2, self.config.ngrams + 1):
                if input_ids.shape[1] < n:
                    break
                ids = hash_ngrams(input_ids, n, self.config.num_buckets)  # (B, L - n + 1)
                w = ngram_mask(attention_mask, n).to(weights.dtype)
                total = total + self.buckets(ids, per_sample_weights=w)
                count = count + w.sum(1)
        mean = total / count.clamp_min(1.0).unsqueeze(1)  # (B, D)
        return {"logits": self.head(self.drop(mean))}
