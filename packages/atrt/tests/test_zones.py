"""Zone assignment, statistics and renormalisation on hand-made attention matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from attnzoo_atrt.config import ATRTConfig  # noqa: E402
from attnzoo_atrt.layers import (  # noqa: E402
    ZONE_BASE,
    ZONE_HIGH,
    ZONE_MODERATE,
    ZONE_PAD,
    rescale_attention,
    token_importance,
    zone_scales,
    zone_statistics,
)

CFG = ATRTConfig()


def _t(x, dtype=tf.float32):
    return tf.constant(np.asarray(x), dtype=dtype)


def test_zone_assignment_with_given_statistics():
    # mu = 0.1, sigma = 0.1 -> moderate zone (0.1, 0.25], high zone > 0.25.
    r = [0.5, 0.3, 0.4, 0.2, 0.175, 0.1, 0.05, 0.9, 0.9]
    valid = [1, 1, 1, 1, 1, 1, 1, 0, 0]  # the 0.9s are padding: they must be ignored
    scales, zones = zone_scales(_t([[r]]), _t([valid]), CFG, mu=_t([[[0.1]]]), sigma=_t([[[0.1]]]))
    scales, zones = scales.numpy()[0, 0], zones.numpy()[0, 0]

    assert zones.tolist() == [
        ZONE_HIGH,
        ZONE_HIGH,
        ZONE_HIGH,
        ZONE_MODERATE,
        ZONE_MODERATE,
        ZONE_BASE,
        ZONE_BASE,
        ZONE_PAD,
        ZONE_PAD,
    ]
    # High zone: by rank 0.5 > 0.4 > 0.3, linear from 1.30 to 1.25.
    np.testing.assert_allclose(scales[[0, 2, 1]], [1.30, 1.275, 1.25], rtol=1e-6)
    # Moderate zone: Gaussian centred at mu + 0.75 sigma = 0.175 with width 0.75 sigma.
    c, w = 0.175, 0.075
    expected = 1.10 + 0.05 * math.exp(-((0.2 - c) ** 2) / (2 * w**2))
    np.testing.assert_allclose(scales[3], expected, rtol=1e-6)
    np.testing.assert_allclose(scales[4], 1.15, rtol=1e-6)  # the peak
    np.testing.assert_allclose(scales[5:7], [1.0, 1.0])
    np.testing.assert_array_equal(scales[7:], [0.0, 0.0])


def test_single_high_token_gets_the_top_scale():
    scales, zones = zone_scales(
        _t([[[0.9, 0.05, 0.05]]]), _t([[1, 1, 1]]), CFG, mu=_t([[[0.1]]]), sigma=_t([[[0.1]]])
    )
    assert zones.numpy()[0, 0, 0] == ZONE_HIGH
    np.testing.assert_allclose(scales.numpy()[0, 0, 0], 1.30, rtol=1e-6)


def test_custom_zone_parameters_are_used():
    cfg = ATRTConfig(
        high_threshold_std=0.5, high_max=2.0, high_min=1.5, moderate_threshold_std=-1.0
    )
    scales, zones = zone_scales(
        _t([[[0.3, 0.2, 0.12, 0.05]]]),
        _t([[1, 1, 1, 1]]),
        cfg,
        mu=_t([[[0.1]]]),
        sigma=_t([[[0.1]]]),
    )
    # high > 0.15: 0.3 (2.0), 0.2 (1.5); moderate (0.0, 0.15]: 0.12, 0.05.
    assert zones.numpy()[0, 0].tolist() == [ZONE_HIGH, ZONE_HIGH, ZONE_MODERATE, ZONE_MODERATE]
    np.testing.assert_allclose(scales.numpy()[0, 0, :2], [2.0, 1.5], rtol=1e-6)


def _hand_attention():
    # One sequence, one head, 4 positions, the last is padding (its column is 0).
    a = np.array(
        [
            [0.70, 0.20, 0.10, 0.0],
            [0.50, 0.30, 0.20, 0.0],
            [0.60, 0.30, 0.10, 0.0],
            [0.20, 0.30, 0.50, 0.0],  # a padding query: must not vote
        ],
        dtype=np.float32,
    )
    return a, np.array([1, 1, 1, 0], dtype=np.float32)


def test_importance_is_the_column_mean_over_valid_queries():
    a, valid = _hand_attention()
    r = token_importance(_t(a[None, None]), _t(valid[None])).numpy()[0, 0]
    np.testing.assert_allclose(r, a[:3].mean(axis=0), rtol=1e-6)


def test_statistics_importance_and_all():
    a, valid = _hand_attention()
    r = a[:3, :3].mean(axis=0)
    mu, sigma = zone_statistics(_t(r[None, None]), _t(valid[None][:, :3]))
    np.testing.assert_allclose(mu.numpy().ravel(), [r.mean()], rtol=1e-6)
    np.testing.assert_allclose(sigma.numpy().ravel(), [r.std()], rtol=1e-5)

    importance = token_importance(_t(a[None, None]), _t(valid[None]))
    mu, sigma = zone_statistics(importance, _t(valid[None]), "all", _t(a[None, None]))
    block = a[:3, :3]
    np.testing.assert_allclose(mu.numpy().ravel(), [block.mean()], rtol=1e-6)
    np.testing.assert_allclose(sigma.numpy().ravel(), [block.std()], rtol=1e-5)


@pytest.mark.parametrize("statistic", ["importance", "all"])
def test_rescaled_rows_sum_to_one_and_padding_gets_no_weight(statistic):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 2, 7, 7)).astype(np.float32) * 3
    valid = np.ones((3, 7), np.float32)
    valid[1, 4:] = 0
    valid[2, 1:] = 0  # a single valid token
    logits = logits + (1 - valid)[:, None, None, :] * -1e9
    attn = tf.nn.softmax(_t(logits), axis=-1)
    cfg = ATRTConfig(statistic=statistic)
    scaled, scales, zones = rescale_attention(attn, _t(valid), cfg)
    scaled = scaled.numpy()
    np.testing.assert_allclose(scaled.sum(-1), 1.0, rtol=1e-5)
    pad = valid == 0
    assert np.all(scaled.transpose(0, 1, 3, 2)[np.broadcast_to(pad[:, None], (3, 2, 7))] == 0)
    assert np.all(zones.numpy()[np.broadcast_to(pad[:, None], (3, 2, 7))] == ZONE_PAD)
    # Every valid token gets a scale within [1.0, 1.30].
    s = scales.numpy()[np.broadcast_to(~pad[:, None], (3, 2, 7))]
    assert s.min() >= 1.0 - 1e-6 and s.max() <= 1.30 + 1e-6
    # The rescaling moves weight towards important tokens: it changes the matrix.
    assert not np.allclose(scaled[0], attn.numpy()[0])


def test_fully_padded_sequence_gives_zeros_not_nan():
    attn = tf.fill([1, 1, 3, 3], 1.0 / 3)
    scaled, _, _ = rescale_attention(attn, _t([[0, 0, 0]]), CFG)
    assert np.all(scaled.numpy() == 0)


def test_gradients_skip_the_statistics_but_reach_the_logits():
    logits = tf.Variable(np.random.default_rng(1).normal(size=(2, 2, 5, 5)).astype(np.float32))
    valid = _t([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    weights = _t(np.random.default_rng(2).normal(size=(2, 2, 5, 5)))
    with tf.GradientTape() as tape:
        attn = tf.nn.softmax(logits + (1 - valid)[:, None, None, :] * -1e9)
        scaled, _, _ = rescale_attention(attn, valid, CFG)
        loss = tf.reduce_sum(scaled * weights)
    grad = tape.gradient(loss, logits).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0
