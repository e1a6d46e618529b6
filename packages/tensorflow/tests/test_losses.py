"""Core's loss registry through the TensorFlow operations (``attnzoo_tensorflow.losses``)."""

from __future__ import annotations

import numpy as np

from attnzoo.config import LossConfig
from attnzoo.loss_formulas import LOSSES, register_loss
from attnzoo_tensorflow.losses import build_loss
from attnzoo_tensorflow.on_tensorflow import keras, tf

LOGITS = tf.constant([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
LABELS = tf.constant([0, 2], dtype=tf.int64)


def _loss(name: str, **fields) -> np.ndarray:
    return build_loss(LossConfig(name=name, **fields))(LABELS, LOGITS).numpy()


def test_cross_entropy_matches_keras_and_focal_reduces_to_it():
    keras_ce = keras.losses.sparse_categorical_crossentropy(LABELS, LOGITS, from_logits=True)
    ce = _loss("cross_entropy")
    assert ce.shape == (2,)  # per example: Keras averages over the global batch
    np.testing.assert_allclose(ce, keras.ops.convert_to_numpy(keras_ce), rtol=1e-6)
    np.testing.assert_allclose(_loss("focal", focal_gamma=0.0), ce, rtol=1e-6)
    assert (_loss("focal") < ce).all()
    logp = np.log(np.exp(LOGITS.numpy()) / np.exp(LOGITS.numpy()).sum(-1, keepdims=True))
    smoothed = 0.9 * ce - 0.1 * logp.mean(-1)
    np.testing.assert_allclose(_loss("label_smoothing", label_smoothing=0.1), smoothed, rtol=1e-6)


def test_a_loss_registered_in_core_runs_on_tensorflow(request):
    register_loss("halved_ce", lambda cfg: lambda ops, z, y: 0.5 * -ops.take(ops.log_softmax(z), y))
    request.addfinalizer(lambda: LOSSES.pop("halved_ce"))
    np.testing.assert_allclose(_loss("halved_ce"), 0.5 * _loss("cross_entropy"), rtol=1e-6)
    combined = _loss("combined", weights={"halved_ce": 2.0, "cross_entropy": 1.0})
    np.testing.assert_allclose(combined, 2.0 * _loss("cross_entropy"), rtol=1e-6)
