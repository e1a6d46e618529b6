"""The loss registry, framework-neutral: every loss is written once, per example.

A formula is ``make(cfg) -> fn(ops, logits, labels)`` returning one value per example (B,),
where ``ops`` is an engine's array namespace (see :class:`LossOps`). The torch engine
(``attnzoo.losses``) averages over the batch; the Keras engine (``attnzoo_tensorflow.losses``) lets
Keras average over the global batch; :func:`loss_from_probabilities` evaluates a loss on
predictions with numpy (validation logs the configured loss beside cross-entropy).
A plugin adds a loss with :func:`register_loss`, e.g. from
its ``register_models`` hook; the formula then works on every engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from attnzoo.config import LossConfig
from attnzoo.errors import ConfigError
from attnzoo.suggest import did_you_mean


class LossOps(Protocol):
    """What a formula may call; each engine implements these for its tensors."""

    def log_softmax(self, logits: Any) -> Any:
        """float32 log-probabilities over the last axis."""

    def take(self, values: Any, labels: Any) -> Any:
        """``values[i, labels[i]]`` for each row i: shape (B,)."""

    def exp(self, x: Any) -> Any: ...

    def mean_classes(self, values: Any) -> Any:
        """The mean over the last (class) axis: shape (B,)."""

    def binary_logit(self, logits: Any) -> Any:
        """One float32 logit per example, (B,): a (B, 2) output becomes its difference."""

    def sigmoid_bce(self, logit: Any, labels: Any) -> Any:
        """Binary cross-entropy with logits, per example."""


PerExample = Callable[[Any, Any, Any], Any]  # fn(ops, logits, labels) -> (B,)


def cross_entropy(cfg: LossConfig) -> PerExample:
    return lambda ops, logits, labels: -ops.take(ops.log_softmax(logits), labels)


def label_smoothing(cfg: LossConfig) -> PerExample:
    """``(1 - eps) CE + eps mean_k(-log p_k)``: torch's ``cross_entropy(label_smoothing=eps)``."""
    eps = cfg.label_smoothing

    def fn(ops: Any, logits: Any, labels: Any) -> Any:
        logp = ops.log_softmax(logits)
        return (1.0 - eps) * -ops.take(logp, labels) - eps * ops.mean_classes(logp)

    return fn


def focal(cfg: LossConfig) -> PerExample:
    """Focal loss (Lin et al. 2017): ``-alpha (1 - p_t)^gamma log p_t``."""

    def fn(ops: Any, logits: Any, labels: Any) -> Any:
        logp_t = ops.take(ops.log_softmax(logits), labels)
        return -cfg.focal_alpha * (1.0 - ops.exp(logp_t)) ** cfg.focal_gamma * logp_t

    return fn


def bce(cfg: LossConfig) -> PerExample:
    """Binary cross-entropy on one logit per example ((B,) or (B, 1); two logits: their difference)."""
    return lambda ops, logits, labels: ops.sigmoid_bce(ops.binary_logit(logits), labels)


def combined(cfg: LossConfig) -> PerExample:
    """Weighted sum of registered losses, e.g. AMSDFF's 0.4 CE + 0.4 focal + 0.2 LS."""
    if not cfg.weights:
        raise ConfigError(
            "Loss 'combined' needs train.loss.weights, e.g. "
            "{cross_entropy: 0.4, focal: 0.4, label_smoothing: 0.2}."
        )
    parts = [(w, loss_formula(cfg.model_copy(update={"name": n}))) for n, w in cfg.weights.items()]
    return lambda ops, logits, labels: sum(w * fn(ops, logits, labels) for w, fn in parts)


LOSSES: dict[str, Callable[[LossConfig], PerExample]] = {
    "cross_entropy": cross_entropy,
    "label_smoothing": label_smoothing,
    "focal": focal,
    "bce": bce,
    "combined": combined,
}


def register_loss(name: str, make: Callable[[LossConfig], PerExample]) -> None:
    """Add a loss under ``name`` (``train.loss.name``); ``make(cfg)`` returns the per-example
    ``fn(ops, logits, labels)``. Registering a taken name with another formula is an error."""
    if LOSSES.get(name, make) is not make:
        raise ConfigError(f"Loss {name!r} is already registered; pick another name.")
    LOSSES[name] = make


def loss_formula(cfg: LossConfig) -> PerExample:
    """The per-example formula named by ``cfg.name``, with a clear error for a wrong name."""
    if cfg.name not in LOSSES:
        hint = did_you_mean(cfg.name, LOSSES, n=2)
        raise ConfigError(f"Unknown loss {cfg.name!r}.{hint} Available: {', '.join(LOSSES)}.")
    if cfg.name == "combined" and "combined" in cfg.weights:
        raise ConfigError("Loss 'combined' cannot contain itself.")
    return LOSSES[cfg.name](cfg)


class _NumpyOps:
    """:class:`LossOps` on numpy arrays: the registry's losses evaluated on predictions."""

    exp = staticmethod(np.exp)

    @staticmethod
    def log_softmax(logits: Any) -> Any:
        x = np.asarray(logits, dtype=np.float64)
        x = x - x.max(axis=-1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))

    @staticmethod
    def take(values: Any, labels: Any) -> Any:
        return np.take_along_axis(values, np.asarray(labels, dtype=np.int64)[:, None], 1)[:, 0]

    @staticmethod
    def mean_classes(values: Any) -> Any:
        return values.mean(axis=-1)

    @staticmethod
    def binary_logit(logits: Any) -> Any:
        x = np.asarray(logits, dtype=np.float64)
        if x.ndim == 2 and x.shape[-1] == 2:
            x = x[:, 1] - x[:, 0]
        return x.reshape(-1)

    @staticmethod
    def sigmoid_bce(logit: Any, labels: Any) -> Any:
        y = np.asarray(labels, dtype=np.float64)
        # log(1 + e^x) - y x, written to stay finite for large |x|
        return np.logaddexp(0.0, logit) - y * logit


NUMPY_OPS = _NumpyOps()
#: probabilities are clipped here before the log (a hard 0 would make every loss infinite)
_PROB_FLOOR = 1e-15


def loss_from_probabilities(cfg: LossConfig, labels: Any, probs: Any) -> float:
    """The mean of the loss ``cfg`` names over predicted class probabilities (N, C).

    ``log p`` stands in for the logits: every formula reads logits through a softmax (or, for
    two classes, their difference), and ``softmax(log p) = p``, so the value is the loss of the
    logits that gave ``p``. A model's own ``compute_loss`` terms (a weight penalty) are not in it.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:  # the positive class's probability
        p = np.stack([1.0 - p, p], axis=1)
    if not len(p):
        return float("nan")
    per_example = loss_formula(cfg)(NUMPY_OPS, np.log(np.clip(p, _PROB_FLOOR, 1.0)), labels)
    return float(np.mean(per_example))
