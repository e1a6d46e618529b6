"""Config of the example model: a pydantic model, closed to unknown keys (inherited)."""

from __future__ import annotations

from pydantic import Field

from attnzoo.config import TextClassifierConfig


class BagOfEmbeddingsConfig(TextClassifierConfig):
    """A mean of token embeddings followed by an MLP head.

    ``vocab_size``, ``num_classes``, ``pad_token_id`` and ``max_seq_len`` come from
    :class:`~attnzoo.config.TextClassifierConfig` and are filled in by the trainer.
    """

    d_model: int = Field(64, ge=1, description="Embedding width.")
    d_hidden: int = Field(64, ge=1, description="Width of the hidden layer of the head.")
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="Dropout before the output layer.")
