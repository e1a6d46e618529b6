"""Fine-tune any Hugging Face encoder with a linear head: the fair pretrained baseline.

The encoder comes from a local folder (loaded with ``local_files_only=True``), a hub id (needs
a network) or a transformers config dict (random init, for tests and from-scratch runs). The
head sees the CLS (first) token or the mean of the non-padding tokens of the last hidden
state; the encoder's own pooler, if it has one, is dropped so every parameter is trained.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from attnzoo.hf import load_encoder
from attnzoo.nn.pooling import masked_mean
from attnzoo_baselines.config import HFEncoderConfig

logger = logging.getLogger(__name__)


def build_encoder(config: HFEncoderConfig) -> Any:
    """The bare encoder (``AutoModel``) described by ``config`` (see :func:`attnzoo.hf.load_encoder`)."""
    return load_encoder(
        config.pretrained,
        hf_config=config.hf_config,
        # the trainer trains a tokenizer for a from-scratch encoder: its vocabulary wins
        vocab_size=config.vocab_size,
        pad_token_id=config.pad_token_id,
    )


class HFEncoderClassifier(nn.Module):
    """A Hugging Face encoder, masked pooling, dropout and a linear head."""

    def __init__(self, config: HFEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder: Any = build_encoder(config)  # a transformers PreTrainedModel
        if isinstance(getattr(self.encoder, "pooler", None), nn.Module):
            # BERT-style poolers are unused by our pooling and would never get a gradient.
            self.encoder.pooler = None
        enc_cfg = self.encoder.config
        max_positions = getattr(enc_cfg, "max_position_embeddings", None)
        if isinstance(max_positions, int) and config.max_seq_len > max_positions:
            raise ValueError(
                f"max_seq_len={config.max_seq_len} exceeds the encoder's max_position_embeddings="
                f"{max_positions}; set max_seq_len <= {max_positions}."
            )
        if config.pretrained is not None and config.vocab_size != enc_cfg.vocab_size:
            logger.warning(
                "vocab_size=%d differs from the pretrained encoder's %d: use the encoder's own "
                "tokenizer (pretrained_tokenizer) so token ids match its embeddings.",
                config.vocab_size,
                enc_cfg.vocab_size,
            )
        if config.freeze_encoder:
            self.encoder.requires_grad_(False)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(enc_cfg.hidden_size, config.num_classes)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def train(self, mode: bool = True) -> HFEncoderClassifier:
        super().train(mode)
        if self.config.freeze_encoder:
            self.encoder.eval()  # a frozen encoder is a fixed feature extractor: no dropout
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> dict:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        # hidden: (B, L, H)
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            pooled = masked_mean(hidden, attention_mask)  # (B, H)
        return {"logits": self.head(self.drop(pooled))}
