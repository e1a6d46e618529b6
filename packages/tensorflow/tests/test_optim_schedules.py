"""The schedule adapter evaluates core's one schedule definition; the optimizer is the torch
engine's AdamW recipe (decay on weight matrices only)."""

from __future__ import annotations

import numpy as np
import pytest

from attnzoo.config import TrainConfig
from attnzoo.trainers.schedules import lr_factor
from attnzoo_tensorflow.on_tensorflow import keras, tf
from attnzoo_tensorflow.optim import build_optimizer
from attnzoo_tensorflow.schedules import WarmupSchedule


@pytest.mark.parametrize("kind", ["constant", "linear", "cosine"])
@pytest.mark.parametrize("grad_accum", [1, 3])
def test_the_keras_schedule_is_cores_formula_per_optimizer_step(kind, grad_accum):
    schedule = WarmupSchedule(0.1, kind, warmup=4, total=20, grad_accum=grad_accum)
    for batch in range(0, 25 * grad_accum):
        step = batch // grad_accum  # Keras counts batches; the schedule counts updates
        expected = 0.1 * lr_factor(step, kind, 4, 20)
        assert float(schedule(tf.constant(batch))) == pytest.approx(expected, rel=1e-6, abs=1e-8), (
            batch
        )  # float32


class _Net(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = keras.layers.Embedding(10, 4)
        self.norm = keras.layers.LayerNormalization()
        self.dense = keras.layers.Dense(3)

    def call(self, ids):  # type: ignore[no-untyped-def]
        return self.dense(self.norm(self.embedding(ids)))


@pytest.mark.parametrize(
    ("decay_norm_and_bias", "marked"), [(False, False), (True, False), (False, True)]
)
def test_weight_decay_only_on_weight_matrices_unless_asked(decay_norm_and_bias, marked):
    keras.utils.set_random_seed(0)
    model = _Net()
    model(np.zeros((1, 2), dtype=np.int64))
    if marked:  # the torch engine's marker (mamba_ssm's convention) exempts a matrix too
        model.dense.kernel._no_weight_decay = True
    cfg = TrainConfig(
        lr=0.1,
        weight_decay=0.5,
        scheduler="constant",
        warmup_ratio=0.0,
        decay_norm_and_bias=decay_norm_and_bias,
    )
    optimizer = build_optimizer(model, cfg, total_steps=10)
    before = {v.path: keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables}
    # zero gradients: Adam's step is 0, so whatever changes is decoupled weight decay
    optimizer.apply_gradients([(tf.zeros_like(v), v) for v in model.trainable_variables])
    changed = {
        v.path: not np.array_equal(keras.ops.convert_to_numpy(v), before[v.path])
        for v in model.trainable_variables
        if np.any(before[v.path] != 0)
    }
    decayed = sorted(p for p, c in changed.items() if c)
    if decay_norm_and_bias:
        assert decayed == sorted(changed)
    elif marked:
        assert decayed == []
    else:
        assert decayed == [model.dense.kernel.path]  # not by name: Keras numbers layers


@pytest.mark.parametrize("grad_clip", [None, 0.01])
def test_a_repeated_token_trains_as_on_the_dense_gradient(grad_clip):
    """Keras gives an embedding a ``tf.IndexedSlices`` gradient, one row per token: with a
    token repeated, the optimizer must still train as on the dense gradient (the clip's norm
    and Adam's second moment are per row of the table, as in torch)."""
    keras.utils.set_random_seed(0)
    model = _Net()
    ids = np.array([[1, 1, 2, 1]], dtype=np.int64)
    model(ids)
    start = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables]
    cfg = TrainConfig(lr=0.1, scheduler="constant", warmup_ratio=0.0, grad_clip=grad_clip)

    def gradients() -> list:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(ids) - 1.0))
        return tape.gradient(loss, model.trainable_variables)

    def train(dense: bool) -> list[np.ndarray]:
        for variable, value in zip(model.trainable_variables, start, strict=True):
            variable.assign(value)
        optimizer = build_optimizer(model, cfg, total_steps=10)
        for _ in range(3):
            grads = gradients()
            if dense:
                grads = [tf.convert_to_tensor(g) for g in grads]
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]

    assert any(isinstance(g, tf.IndexedSlices) for g in gradients())  # the sparse path is taken
    for sparse, dense in zip(train(dense=False), train(dense=True), strict=True):
        np.testing.assert_allclose(sparse, dense, rtol=1e-6, atol=1e-7)
