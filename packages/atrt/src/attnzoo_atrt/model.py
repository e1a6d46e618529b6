"""The ATRT text classifier (Keras 3, TensorFlow backend).

Source: the ATRT README ("ATRT: Attention-Regularized Transformer for Text Classification",
TensorFlow, IMDb). The notebook is not public, so the network is rebuilt from the README's
description; see ``layers.py`` and ``config.py`` for what is stated and what is
[reconstructed].

Network: Embedding (x sqrt(D)) + sinusoidal positions for the actual length -> Dropout ->
``n_layers`` post-LN encoder blocks with ATRT attention -> masked global average pooling ->
Dropout -> Dense(num_classes) logits.

[reconstructed] The seed ends in Dense(1, sigmoid) with binary cross-entropy; here the head
gives ``num_classes`` logits for softmax cross-entropy, of which the binary head is the
2-class special case (same decision function, one redundant logit).

Saving is weights-only: ``config.json`` (the pydantic config) next to ``model.weights.h5``
(``save_weights``). No ``get_config``, no custom-object registry: load by building the model
from its config, running one dummy batch to create the variables, then ``load_weights``.
"""

from __future__ import annotations

import math
from typing import Any

from attnzoo_atrt.config import ATRTConfig
from attnzoo_atrt.layers import EncoderBlock, sinusoidal_positions
from attnzoo_tensorflow.on_tensorflow import keras, tf


class ATRTClassifier(keras.Model):
    """ATRT encoder classifier.

    Args:
        config: an :class:`ATRTConfig` (or a mapping validated into one).

    ``call(inputs, training=False)`` takes ``{"input_ids": (B, L) int, "attention_mask": (B, L)
    int}`` (1 = token, 0 = padding; optional, default ``input_ids != pad_token_id``) and returns
    logits (B, num_classes).
    """

    def __init__(self, config: ATRTConfig | dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cfg = config if isinstance(config, ATRTConfig) else ATRTConfig.model_validate(config)
        self.config = cfg
        self.embedding = keras.layers.Embedding(cfg.vocab_size, cfg.d_model, name="embedding")
        self.embed_dropout = keras.layers.Dropout(cfg.dropout)
        self.blocks = [EncoderBlock(cfg, name=f"block_{i}") for i in range(cfg.n_layers)]
        self.head_dropout = keras.layers.Dropout(cfg.dropout)
        self.classifier = keras.layers.Dense(cfg.num_classes, name="classifier")

    def call(self, inputs: dict[str, Any], training: bool = False) -> tf.Tensor:
        ids = inputs["input_ids"]
        mask = inputs.get("attention_mask")
        if mask is None:
            mask = tf.not_equal(ids, self.config.pad_token_id)
        valid = tf.cast(mask, tf.float32)  # (B, L)

        x = self.embedding(ids)  # (B, L, D)
        if self.config.scale_embeddings:
            x = x * math.sqrt(self.config.d_model)
        x = x + tf.cast(sinusoidal_positions(tf.shape(ids)[1], self.config.d_model), x.dtype)[None]
        x = self.embed_dropout(x, training=training)
        for block in self.blocks:
            x = block(x, valid, training=training)

        # Masked global average pooling: padding positions never reach the head.
        w = tf.cast(valid, x.dtype)[:, :, None]  # (B, L, 1)
        pooled = tf.reduce_sum(x * w, axis=1) / tf.maximum(tf.reduce_sum(w, axis=1), 1.0)  # (B, D)
        return self.classifier(self.head_dropout(pooled, training=training))
