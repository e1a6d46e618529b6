"""ATRT layers (Keras 3 on the TensorFlow backend): zone-scaled attention and the encoder block.

ATRT ("Attention-Regularized Transformer", README only; the notebook is not public) rescales
the softmax attention of every head by the *importance* of each key token:

1. ``A = softmax(Q K^T / sqrt(d_k) + mask)``                                   (B, H, L, L)
2. ``r_j = mean_i A_ij`` over the valid queries i: the attention key j receives  (B, H, L)
   ``mu``, ``sigma``: mean and std of r over the valid tokens of each (sequence, head)
3. zones and scales ``s_j`` (thresholds and factors stated by the README):
   - high      ``r_j > mu + 1.5 sigma``: top-down decay by rank, 1.30 (top) to 1.25 (last)
   - moderate  ``mu < r_j <= mu + 1.5 sigma``: ``1.10 + 0.05 exp(-(r - c)^2 / (2 w^2))``
   - baseline  otherwise: 1.0; padding keys: 0
4. ``A'_ij = A_ij s_j`` renormalised over j; zone masks, ranks, mu and sigma are constants
   for the gradient (``tf.stop_gradient``).
5. ``out = A' V`` -> concatenate heads -> ``W_o``.

[reconstructed] Everything but the thresholds and factors: importance as the column mean over
valid queries, per-(sequence, head) statistics, linear decay by rank, the Gaussian's centre
(middle of the zone) and width (half the zone), and that the Gaussian keeps its gradient
through ``r`` while the statistics do not.

The zone functions are pure (tensors in, tensors out) so they can be tested on hand-made
attention matrices; they read the zone parameters from any object with the
:class:`~attnzoo_atrt.config.ATRTConfig` attribute names.
"""

from __future__ import annotations

import math
from typing import Any

from attnzoo_tensorflow.on_tensorflow import keras, require_tensorflow_backend, tf

# Zone ids returned by :func:`zone_scales` (for tests and inspection).
ZONE_PAD, ZONE_BASE, ZONE_MODERATE, ZONE_HIGH = -1, 0, 1, 2

# Added to the logits of padding keys; large enough to give them exactly 0 after softmax in
# float32, small enough not to overflow.
_MASK_VALUE = -1e9
# Floor of the Gaussian width, so a zone of width 0 (sigma = 0) gives exp(-inf) = 0, not NaN.
_MIN_WIDTH = 1e-9


# ---------------------------------------------------------------------------------------
# Pure zone functions
# ---------------------------------------------------------------------------------------


def token_importance(attn: tf.Tensor, valid_mask: tf.Tensor) -> tf.Tensor:
    """Attention each key receives, averaged over the valid queries.

    Args:
        attn: (B, H, L, L) attention probabilities (rows: queries, columns: keys).
        valid_mask: (B, L), 1 for real tokens and 0 for padding.

    Returns:
        (B, H, L) importance ``r``; 0 at padding keys (their column is 0 after the mask).
    """
    valid = tf.cast(valid_mask, attn.dtype)
    n_valid = tf.maximum(tf.reduce_sum(valid, axis=-1), 1.0)[:, None, None]  # (B, 1, 1)
    # Padding queries still have rows (over the valid keys); they must not vote.
    return tf.reduce_sum(attn * valid[:, None, :, None], axis=2) / n_valid  # (B, H, L)


def zone_statistics(
    importance: tf.Tensor,
    valid_mask: tf.Tensor,
    statistic: str = "importance",
    attn: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and (population) std per sequence and head, as gradient-free constants.

    ``statistic="importance"`` uses ``r_j`` over the valid tokens; ``"all"`` uses every entry
    ``A_ij`` with a valid query and a valid key (then ``attn`` is required). [reconstructed]

    Returns:
        ``mu``, ``sigma``: each (B, H, 1).
    """
    valid = tf.cast(valid_mask, importance.dtype)
    if statistic == "importance":
        values = tf.stop_gradient(importance)  # (B, H, L)
        weights = valid[:, None, :]  # (B, 1, L)
        axes = [-1]
    elif statistic == "all":
        if attn is None:
            raise ValueError("zone_statistics(statistic='all') needs the attention matrix `attn`.")
        values = tf.stop_gradient(attn)  # (B, H, L, L)
        weights = (valid[:, :, None] * valid[:, None, :])[:, None]  # (B, 1, L, L)
        axes = [-2, -1]
    else:
        raise ValueError(f"Unknown statistic {statistic!r}; expected 'importance' or 'all'.")
    weights = tf.broadcast_to(weights, tf.shape(values))
    count = tf.maximum(tf.reduce_sum(weights, axis=axes), 1.0)  # (B, H)
    mu = tf.reduce_sum(values * weights, axis=axes) / count
    centred = (values - tf.reshape(mu, tf.concat([tf.shape(mu), [1] * len(axes)], 0))) * weights
    sigma = tf.sqrt(tf.reduce_sum(tf.square(centred), axis=axes) / count)
    return tf.stop_gradient(mu[..., None]), tf.stop_gradient(sigma[..., None])


def _rank_descending(values: tf.Tensor, member: tf.Tensor) -> tf.Tensor:
    """0-based rank of each member by ``values`` descending, among the members of its row.

    Ties keep index order (stable sort). Non-members get ranks after every member.
    """
    keyed = tf.where(member, tf.stop_gradient(values), tf.fill(tf.shape(values), -math.inf))
    order = tf.argsort(keyed, axis=-1, direction="DESCENDING", stable=True)  # (B, H, L)
    return tf.argsort(order, axis=-1, stable=True)  # inverse permutation = rank


def zone_scales(
    importance: tf.Tensor,
    valid_mask: tf.Tensor,
    cfg: Any,
    *,
    mu: tf.Tensor | None = None,
    sigma: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Scale factor and zone of every key token.

    Args:
        importance: (B, H, L) token importance ``r``.
        valid_mask: (B, L), 1 for real tokens.
        cfg: zone parameters (``high_threshold_std``, ``high_max``, ``high_min``,
            ``moderate_threshold_std``, ``moderate_low``, ``moderate_high``,
            ``gaussian_center``, ``gaussian_width``, ``baseline_scale``).
        mu, sigma: (B, H, 1) statistics; default: those of ``importance`` over valid tokens.

    Returns:
        ``scales`` (B, H, L) float (0 at padding) and ``zones`` (B, H, L) int32 with values
        :data:`ZONE_PAD`, :data:`ZONE_BASE`, :data:`ZONE_MODERATE`, :data:`ZONE_HIGH`.
    """
    if mu is None or sigma is None:
        mu, sigma = zone_statistics(importance, valid_mask)
    dtype = importance.dtype
    valid = tf.broadcast_to(tf.cast(valid_mask, tf.bool)[:, None, :], tf.shape(importance))
    r_const = tf.stop_gradient(importance)

    lower = mu + cfg.moderate_threshold_std * sigma  # (B, H, 1)
    upper = mu + cfg.high_threshold_std * sigma
    high = valid & (r_const > upper)
    moderate = valid & (r_const > lower) & ~high

    # High zone: linear decay by rank, high_max for the top token down to high_min for the last.
    rank = tf.cast(_rank_descending(importance, high), dtype)
    n_high = tf.reduce_sum(tf.cast(high, dtype), axis=-1, keepdims=True)  # (B, H, 1)
    frac = rank / tf.maximum(n_high - 1.0, 1.0)
    high_scale = cfg.high_max - (cfg.high_max - cfg.high_min) * frac

    # Moderate zone: Gaussian bump centred inside the zone. ``importance`` keeps its gradient
    # here; the centre and width are constants. [reconstructed]
    band = upper - lower
    centre = lower + cfg.gaussian_center * band
    width = tf.maximum(cfg.gaussian_width * band, _MIN_WIDTH)
    bump = tf.exp(-tf.square(importance - centre) / (2.0 * tf.square(width)))
    moderate_scale = cfg.moderate_low + (cfg.moderate_high - cfg.moderate_low) * bump

    base = tf.fill(tf.shape(importance), tf.constant(cfg.baseline_scale, dtype))
    scales = tf.where(high, high_scale, tf.where(moderate, moderate_scale, base))
    scales = tf.where(valid, scales, tf.zeros_like(scales))

    zones = tf.fill(tf.shape(importance), ZONE_BASE)
    zones = tf.where(moderate, ZONE_MODERATE, zones)
    zones = tf.where(high, ZONE_HIGH, zones)
    zones = tf.where(valid, zones, ZONE_PAD)
    return scales, zones


def rescale_attention(
    attn: tf.Tensor, valid_mask: tf.Tensor, cfg: Any
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """ATRT steps 2-4 on softmax attention ``attn`` (B, H, L, L).

    Returns:
        the rescaled, row-renormalised attention (B, H, L, L), the scales and the zones
        (both (B, H, L)). Rows with no valid key (fully padded sequences) become 0.
    """
    importance = token_importance(attn, valid_mask)  # (B, H, L)
    mu, sigma = zone_statistics(importance, valid_mask, cfg.statistic, attn)
    scales, zones = zone_scales(importance, valid_mask, cfg, mu=mu, sigma=sigma)
    scaled = attn * scales[:, :, None, :]  # (B, H, L, L): column j times s_j
    total = tf.reduce_sum(scaled, axis=-1, keepdims=True)  # (B, H, L, 1)
    return tf.math.divide_no_nan(scaled, total), scales, zones


def sinusoidal_positions(length: tf.Tensor | int, d_model: int) -> tf.Tensor:
    """Sinusoidal encoding (Vaswani et al.) for the actual ``length``: (length, d_model).

    The README's "dynamic positional encoding": computed per batch, no learned table.
    """
    half = (d_model + 1) // 2
    pos = tf.cast(tf.range(length), tf.float32)[:, None]  # (L, 1)
    inv_freq = tf.exp(-math.log(10000.0) * tf.range(half, dtype=tf.float32) * 2.0 / d_model)
    angles = pos * inv_freq[None, :]  # (L, half)
    # Interleave sin (even dims) and cos (odd dims); slice for odd d_model.
    table = tf.reshape(tf.stack([tf.sin(angles), tf.cos(angles)], axis=-1), [-1, 2 * half])
    return table[:, :d_model]  # (L, D)


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------


class ATRTAttention(keras.layers.Layer):
    """Multi-head self-attention with ATRT zone scaling (or plain, ``cfg.attention="plain"``).

    Args:
        cfg: an :class:`~attnzoo_atrt.config.ATRTConfig`.
    """

    def __init__(self, cfg: Any, **kwargs: Any) -> None:
        require_tensorflow_backend("attnzoo-atrt")
        super().__init__(**kwargs)
        self.cfg = cfg
        self.n_heads = cfg.n_heads
        self.head_dim = cfg.d_model // cfg.n_heads
        self.query = keras.layers.Dense(cfg.d_model, name="query")
        self.key = keras.layers.Dense(cfg.d_model, name="key")
        self.value = keras.layers.Dense(cfg.d_model, name="value")
        self.out = keras.layers.Dense(cfg.d_model, name="out")
        self.attn_dropout = keras.layers.Dropout(cfg.attention_dropout)

    def _heads(self, x: tf.Tensor) -> tf.Tensor:
        b, length = tf.shape(x)[0], tf.shape(x)[1]
        x = tf.reshape(x, [b, length, self.n_heads, self.head_dim])  # (B, L, H, Dh)
        return tf.transpose(x, [0, 2, 1, 3])  # (B, H, L, Dh)

    def call(
        self,
        x: tf.Tensor,
        attention_mask: tf.Tensor,
        training: bool = False,
        return_attention_scores: bool = False,
    ) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        """``x`` (B, L, D), ``attention_mask`` (B, L) -> (B, L, D) [and the (B, H, L, L) weights]."""
        valid = tf.cast(attention_mask, tf.float32)
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        logits = tf.matmul(q, k, transpose_b=True) / math.sqrt(self.head_dim)  # (B, H, L, L)
        # Softmax in float32 whatever the compute dtype, so the mask value is safe.
        logits = tf.cast(logits, tf.float32) + (1.0 - valid)[:, None, None, :] * _MASK_VALUE
        attn = tf.nn.softmax(logits, axis=-1)
        if self.cfg.attention == "atrt":
            attn, _, _ = rescale_attention(attn, valid, self.cfg)
        weights = attn
        attn = self.attn_dropout(tf.cast(attn, v.dtype), training=training)
        out = tf.matmul(attn, v)  # (B, H, L, Dh)
        b, length = tf.shape(x)[0], tf.shape(x)[1]
        out = tf.reshape(
            tf.transpose(out, [0, 2, 1, 3]), [b, length, self.cfg.d_model]
        )  # (B, L, D)
        out = self.out(out)
        return (out, weights) if return_attention_scores else out


class EncoderBlock(keras.layers.Layer):
    """Post-LN encoder layer: ``x = LN(x + Drop(Attn(x)))``, ``x = LN(x + Drop(FFN(x)))``.

    [reconstructed] post-LN, ReLU FFN, LayerNorm epsilon 1e-6.
    """

    def __init__(self, cfg: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attention = ATRTAttention(cfg, name="attention")
        self.drop_attn = keras.layers.Dropout(cfg.dropout)
        self.norm_attn = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_attn")
        self.ff_in = keras.layers.Dense(cfg.d_ff, activation="relu", name="ff_in")
        self.ff_out = keras.layers.Dense(cfg.d_model, name="ff_out")
        self.drop_ff = keras.layers.Dropout(cfg.dropout)
        self.norm_ff = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_ff")

    def call(self, x: tf.Tensor, attention_mask: tf.Tensor, training: bool = False) -> tf.Tensor:
        a = self.attention(x, attention_mask, training=training)
        x = self.norm_attn(x + self.drop_attn(a, training=training))
        f = self.ff_out(self.ff_in(x))
        return self.norm_ff(x + self.drop_ff(f, training=training))
