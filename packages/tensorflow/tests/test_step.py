"""``TensorFlowBackend.training_step``: the step the scaling sweep times and the conformance
suite trains with, on any loss of core's registry."""

from __future__ import annotations

import numpy as np
import pytest
from tinykeras import TinyKerasConfig, TinyKerasModel

from attnzoo.config import LossConfig
from attnzoo.testing.data import tiny_batch
from attnzoo_tensorflow.backend import TensorFlowBackend
from attnzoo_tensorflow.on_tensorflow import keras


def _model() -> TinyKerasModel:
    keras.utils.set_random_seed(0)
    return TinyKerasModel(TinyKerasConfig(vocab_size=30, num_classes=3, dropout=0.0))


@pytest.mark.parametrize("loss", ["cross_entropy", "focal"])
def test_repeated_steps_fit_one_batch(loss):
    batch = tiny_batch(vocab_size=30, num_classes=3, batch=8, length=6)
    stepper = TensorFlowBackend().training_step(_model(), lr=0.05, loss=LossConfig(name=loss))
    losses = [stepper.step(batch) for _ in range(30)]
    assert all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0]


def test_gradients_reach_every_variable_without_an_update():
    model = _model()
    batch = tiny_batch(vocab_size=30, num_classes=3, batch=8, length=6)
    stepper = TensorFlowBackend().training_step(model)
    model(stepper._tensors(batch)[0])
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables]
    grads = stepper.gradients(batch)
    assert set(grads) == {v.path for v in model.trainable_variables}
    assert all(
        g is not None and np.isfinite(g).all() and np.abs(g).sum() > 0 for g in grads.values()
    )
    after = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_lr_multipliers_are_refused_with_a_clear_error():
    from attnzoo.config import TrainConfig
    from attnzoo.errors import ConfigError
    from attnzoo_tensorflow.optim import build_optimizer

    model = TinyKerasModel(TinyKerasConfig(vocab_size=20, num_classes=2))
    with pytest.raises(ConfigError, match="lr_multipliers is not supported by the tensorflow"):
        build_optimizer(model, TrainConfig(lr_multipliers={"*": 2.0}), total_steps=10)
