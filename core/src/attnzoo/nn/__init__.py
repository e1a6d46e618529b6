"""Torch building blocks shared by model plugins: masked pooling and the CTR layers.

Importing this package imports torch; plugin modules (``plugin.py``) must not import it.

- :mod:`attnzoo.nn.pooling`: ``masked_mean``, ``masked_max`` over (B, L, D) with a (B, L) mask.
- :mod:`attnzoo.nn.ctr`: ``FieldEmbeddings`` (one table per :class:`attnzoo.config.CTRConfig`
  layout), ``MLP``, ``Dice``, ``mean_pool`` and ``bce_with_embedding_l2``, with FuxiCTR's
  initialisation and embedding regulariser.
"""

from attnzoo.nn.ctr import MLP, Dice, FieldEmbeddings, bce_with_embedding_l2, mean_pool
from attnzoo.nn.pooling import masked_max, masked_mean

__all__ = [
    "MLP",
    "Dice",
    "FieldEmbeddings",
    "bce_with_embedding_l2",
    "masked_max",
    "masked_mean",
    "mean_pool",
]
