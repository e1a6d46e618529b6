"""The ATRT classifier: shapes, padding, gradients, plain vs ATRT, save/load."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from attnzoo_atrt.config import ATRTConfig  # noqa: E402
from attnzoo_atrt.layers import ATRTAttention  # noqa: E402
from attnzoo_atrt.model import ATRTClassifier  # noqa: E402

TINY = dict(
    vocab_size=40, num_classes=3, d_model=16, n_heads=2, n_layers=2, d_ff=32, max_seq_len=64
)


def _batch(seed=0, b=4, length=9):
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, 40, size=(b, length)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[1, 5:] = 0
    mask[3, 2:] = 0
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask}


def _model(**overrides):
    keras.utils.set_random_seed(0)
    return ATRTClassifier(ATRTConfig(**{**TINY, **overrides}))


def test_logits_shape_and_finite():
    logits = _model()(_batch()).numpy()
    assert logits.shape == (4, 3)
    assert np.all(np.isfinite(logits))


def test_padding_never_changes_the_output():
    model = _model(dropout=0.0)
    batch = _batch()
    before = model(batch).numpy()
    changed = {k: v.copy() for k, v in batch.items()}
    changed["input_ids"][batch["attention_mask"] == 0] = 7  # other ids at padded positions
    np.testing.assert_allclose(model(changed).numpy(), before, atol=1e-5)
    # Extra padding columns do not change anything either.
    longer = {k: np.pad(v, [(0, 0), (0, 5)]) for k, v in batch.items()}
    np.testing.assert_allclose(model(longer).numpy(), before, atol=1e-5)


def test_layer_weights_rows_sum_to_one_and_skip_padding():
    cfg = ATRTConfig(**TINY)
    layer = ATRTAttention(cfg)
    x = tf.random.stateless_normal([2, 6, 16], seed=[1, 2])
    mask = tf.constant([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], tf.float32)
    out, weights = layer(x, mask, return_attention_scores=True)
    assert out.shape == (2, 6, 16)
    w = weights.numpy()
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[1, :, :, 3:] == 0)


def test_plain_attention_is_softmax_and_atrt_differs():
    x = tf.random.stateless_normal([1, 8, 16], seed=[3, 4])
    mask = tf.ones([1, 8])
    plain = ATRTAttention(ATRTConfig(**TINY, attention="plain"))
    _, w_plain = plain(x, mask, return_attention_scores=True)
    atrt = ATRTAttention(ATRTConfig(**TINY))
    atrt(x, mask)  # build, then share the projections
    atrt.set_weights(plain.get_weights())
    _, w_atrt = atrt(x, mask, return_attention_scores=True)
    q = plain.query(x)
    assert not np.allclose(w_plain.numpy(), w_atrt.numpy())
    assert q.shape == (1, 8, 16)


@pytest.mark.parametrize("attention", ["atrt", "plain"])
def test_every_trainable_variable_gets_a_finite_gradient(attention):
    model = _model(attention=attention, dropout=0.0)
    batch = _batch()
    labels = tf.constant([0, 1, 2, 1])
    with tf.GradientTape() as tape:
        logits = model(batch, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        loss = tf.reduce_mean(loss)
    grads = tape.gradient(loss, model.trainable_variables)
    assert len(grads) == len(model.trainable_variables) > 0
    for var, grad in zip(model.trainable_variables, grads, strict=True):
        assert grad is not None, var.path
        g = tf.convert_to_tensor(grad).numpy()
        assert np.all(np.isfinite(g)), var.path
        assert np.abs(g).sum() > 0, var.path


def test_save_load_gives_identical_predictions(tmp_path):
    model = _model()
    batch = _batch(seed=3)
    expected = model(batch).numpy()
    path = tmp_path / "model.weights.h5"
    model.save_weights(str(path))

    keras.utils.set_random_seed(123)  # different init: the weights must come from the file
    clone = ATRTClassifier(model.config.model_dump())
    assert not np.allclose(clone(batch).numpy(), expected)
    clone.load_weights(str(path))
    np.testing.assert_array_equal(clone(batch).numpy(), expected)


def test_seeded_builds_are_identical():
    a = _model()(_batch()).numpy()
    b = _model()(_batch()).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_only_in_training():
    model = _model(dropout=0.5)
    batch = _batch()
    np.testing.assert_array_equal(model(batch).numpy(), model(batch).numpy())
    assert not np.allclose(model(batch, training=True).numpy(), model(batch).numpy())
