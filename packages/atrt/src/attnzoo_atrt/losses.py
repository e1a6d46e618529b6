"""TensorFlow twins of core's loss registry (``attnzoo.losses`` is torch-only).

Same names, same ``LossConfig`` fields, same formulas. Each loss returns one value per
example (B,); Keras averages them over the global batch ("sum over batch size").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from attnzoo.errors import ConfigError

LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _labels(y: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.reshape(y, [-1]), tf.int32)


def cross_entropy(cfg: Any) -> LossFn:
    def fn(y: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        return tf.nn.sparse_softmax_cross_entropy_with_logits(
            _labels(y), tf.cast(logits, tf.float32)
        )

    return fn


def label_smoothing(cfg: Any) -> LossFn:
    """``(1 - eps) CE + eps mean_k(-log p_k)``: torch's ``cross_entropy(label_smoothing=eps)``."""
    eps = cfg.label_smoothing

    def fn(y: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        logp = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)  # (B, C)
        nll = -tf.gather(logp, _labels(y), axis=-1, batch_dims=1)  # (B,)
        return (1.0 - eps) * nll - eps * tf.reduce_mean(logp, axis=-1)

    return fn


def focal(cfg: Any) -> LossFn:
    """Focal loss (Lin et al. 2017): ``-alpha (1 - p_t)^gamma log p_t``."""

    def fn(y: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        logp = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        logp_t = tf.gather(logp, _labels(y), axis=-1, batch_dims=1)  # (B,)
        return -cfg.focal_alpha * tf.pow(1.0 - tf.exp(logp_t), cfg.focal_gamma) * logp_t

    return fn


def bce(cfg: Any) -> LossFn:
    """Binary cross-entropy on one logit per example ((B,) or (B, 1); two logits: their difference)."""

    def fn(y: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        logits = tf.cast(logits, tf.float32)
        if logits.shape.rank == 2 and logits.shape[-1] == 2:
            logits = logits[:, 1] - logits[:, 0]
        labels = tf.cast(tf.reshape(y, [-1]), tf.float32)
        return tf.nn.sigmoid_cross_entropy_with_logits(labels, tf.reshape(logits, [-1]))

    return fn


def combined(cfg: Any) -> LossFn:
    """Weighted sum of registered losses, e.g. 0.4 CE + 0.4 focal + 0.2 LS."""
    if not cfg.weights:
        raise ConfigError(
            "Loss 'combined' needs train.loss.weights, e.g. "
            "{cross_entropy: 0.4, focal: 0.4, label_smoothing: 0.2}."
        )
    parts = [(w, build_loss(cfg.model_copy(update={"name": n}))) for n, w in cfg.weights.items()]
    return lambda y, logits: tf.add_n([w * f(y, logits) for w, f in parts])


LOSSES: dict[str, Callable[[Any], LossFn]] = {
    "cross_entropy": cross_entropy,
    "label_smoothing": label_smoothing,
    "focal": focal,
    "bce": bce,
    "combined": combined,
}


def build_loss(cfg: Any) -> LossFn:
    """The per-example loss ``fn(labels, logits)`` named by ``cfg.name`` (a ``LossConfig``)."""
    if cfg.name not in LOSSES:
        import difflib

        close = difflib.get_close_matches(cfg.name, LOSSES, n=2)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown loss {cfg.name!r}.{hint} Available: {', '.join(LOSSES)}.")
    if cfg.name == "combined" and "combined" in cfg.weights:
        raise ConfigError("Loss 'combined' cannot contain itself.")
    return LOSSES[cfg.name](cfg)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities (N, C): softmax, or sigmoid for a single logit per example."""
    logits = np.asarray(logits, dtype=np.float32)
    if logits.ndim == 1 or logits.shape[-1] == 1:
        p = 1.0 / (1.0 + np.exp(-logits.reshape(-1)))
        return np.stack([1 - p, p], axis=-1)
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
