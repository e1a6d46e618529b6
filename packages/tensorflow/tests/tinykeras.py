"""A tiny Keras model plugin the engine's tests register by hand: embedding, dropout, masked
mean pooling, a dense head (the attnzoo Keras contract in a dozen lines)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from attnzoo import hookimpl
from attnzoo.config import TextClassifierConfig
from attnzoo.specs import ModelSpec
from attnzoo_tensorflow.on_tensorflow import keras, tf


class TinyKerasConfig(TextClassifierConfig):
    d_model: int = Field(16, ge=1, description="Embedding width.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout before the head.")


class TinyKerasModel(keras.Model):
    def __init__(self, config: TinyKerasConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.embedding = keras.layers.Embedding(config.vocab_size, config.d_model)
        self.drop = keras.layers.Dropout(config.dropout)
        self.head = keras.layers.Dense(config.num_classes)

    def call(self, inputs: dict[str, Any], training: bool = False) -> Any:
        mask = tf.cast(inputs["attention_mask"], tf.float32)[:, :, None]
        x = self.embedding(inputs["input_ids"])
        pooled = tf.reduce_sum(x * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
        return self.head(self.drop(pooled, training=training))


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    registry.add(
        ModelSpec(
            name="tinykeras",
            config="tinykeras:TinyKerasConfig",
            factory="tinykeras:TinyKerasModel",
            framework="tensorflow",
            description="test model (Keras)",
        )
    )
