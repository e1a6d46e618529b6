"""The classic recurrent baseline: embedding, bidirectional LSTM, max/mean pooling, head.

Sequences are packed with ``pack_padded_sequence`` so the LSTM never reads padding in either
direction; batches are right-padded (real tokens first), as the attnzoo collator makes them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attnzoo.nn.pooling import masked_max, masked_mean
from attnzoo_baselines.config import BiLSTMConfig


class BiLSTMClassifier(nn.Module):
    """Embedding -> BiLSTM (packed) -> masked max or mean over time -> dropout -> linear."""

    def __init__(self, config: BiLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.emb = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.lstm = nn.LSTM(
            config.d_model,
            config.d_hidden,
            num_layers=config.n_layers,
            bidirectional=True,
            batch_first=True,
            dropout=config.dropout if config.n_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * config.d_hidden, config.num_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> dict:
        n = input_ids.shape[1]
        x = self.drop(self.emb(input_ids))  # (B, L, E)
        # pack_padded_sequence wants CPU int64 lengths >= 1; an all-padding row reads one pad.
        lengths = attention_mask.sum(1).clamp_min(1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out = self.lstm(packed)[0]
        h = pad_packed_sequence(out, batch_first=True, total_length=n)[0]  # (B, L, 2 * Dh)
        if self.config.pooling == "max":
            pooled = masked_max(h, attention_mask)
        else:
            pooled = masked_mean(h, attention_mask)  # (B, 2 * Dh)
        return {"logits": self.head(self.drop(pooled))}
