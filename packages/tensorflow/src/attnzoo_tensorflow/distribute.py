"""The ``tf.distribute`` strategy of this process and which process writes files.

``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several workers, ``MirroredStrategy``
with more than one GPU, else the default strategy (one device).
"""

from __future__ import annotations

import json
import os

from attnzoo_tensorflow.on_tensorflow import tf


def make_strategy() -> tf.distribute.Strategy:
    """The strategy for this process (see the module docstring)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if len(tf_config.get("cluster", {}).get("worker", [])) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the one process that writes files (every process but MWMS's other workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )
