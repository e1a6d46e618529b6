"""The ``tensorflow`` backend: building, saving, loading and predicting with Keras 3 models.

It implements :class:`attnzoo.backend.Backend` for any Keras model that follows the attnzoo
Keras contract (``Model(config)``; ``call({"input_ids", "attention_mask"}, training)`` returns
logits). Training is core's shared loop (:mod:`attnzoo.trainers.loop`) driving
:class:`attnzoo_atrt.engine.KerasEngine`.

Strategy: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several workers,
``MirroredStrategy`` with more than one GPU, else the default (one device).
"""

from __future__ import annotations

import json
import logging
import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.errors import CheckpointError
from attnzoo.io import atomic_write
from attnzoo_atrt.layers import keras, tf  # Keras on TensorFlow
from attnzoo_atrt.losses import probabilities

logger = logging.getLogger(__name__)

_PREDICT_FNS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
INPUT_SPEC = {
    "input_ids": tf.TensorSpec((None, None), tf.int64),
    "attention_mask": tf.TensorSpec((None, None), tf.int64),
}


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


def dummy_batch() -> dict[str, tf.Tensor]:
    ids = tf.ones([1, 2], dtype=tf.int64)
    return {"input_ids": ids, "attention_mask": tf.ones_like(ids)}


class TensorFlowBackend:
    """:class:`attnzoo.backend.Backend` for Keras 3 models on TensorFlow."""

    framework = "tensorflow"
    weights_file = "model.weights.h5"

    def __init__(self) -> None:
        self._strategy: tf.distribute.Strategy | None = None

    @property
    def strategy(self) -> tf.distribute.Strategy:
        if self._strategy is None:
            self._strategy = make_strategy()
        return self._strategy

    def seed(self, seed: int) -> None:
        """Seed Python, numpy, TensorFlow and Keras (called by core before the model is built)."""
        keras.utils.set_random_seed(seed)

    # -- building, saving, loading ------------------------------------------------------
    def build_model(self, spec: Any, config: Any) -> keras.Model:
        """Build under the strategy's scope and create every variable with a dummy batch."""
        with self.strategy.scope():
            model = spec.load_factory()(config)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"{spec.factory} built a {type(model).__name__}, not a keras.Model."
                )
            model(dummy_batch(), training=False)
        return model

    def save_weights(self, model: keras.Model, model_dir: Path) -> Path:
        """``model.save_weights`` to a temp name, then rename (Keras needs the ``.weights.h5`` suffix)."""
        path = Path(model_dir) / self.weights_file
        # Keras insists on the ``.weights.h5`` suffix, so the temp name keeps it
        atomic_write(
            path, lambda tmp: model.save_weights(tmp, overwrite=True), suffix=".weights.h5"
        )
        return path

    def load_weights(self, model: keras.Model, model_dir: Path) -> None:
        """``load_weights`` into a built model; HDF5 arrays only, nothing is executed."""
        path = Path(model_dir) / self.weights_file
        if not path.exists():
            raise CheckpointError(f"{path} is missing: the model folder is incomplete.")
        if not model.built:
            model(dummy_batch(), training=False)
        try:
            model.load_weights(str(path))
        except ValueError as exc:
            raise CheckpointError(
                f"{path} does not match the model built from config.json: {exc}"
            ) from exc

    def num_parameters(self, model: keras.Model) -> int:
        return int(sum(np.prod(v.shape) for v in model.trainable_variables))

    def predict_proba(self, model: keras.Model, batches: Any) -> np.ndarray:
        """Class probabilities (N, C) for numpy batches, in order (``labels`` are ignored)."""
        fn = _predict_fn(model)
        out = []
        for batch in batches:
            inputs = {
                k: tf.convert_to_tensor(np.asarray(batch[k], dtype=np.int64)) for k in INPUT_SPEC
            }
            out.append(probabilities(fn(inputs).numpy()))
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)

    # -- training -----------------------------------------------------------------------
    def fit(self, run: Any, model: keras.Model, data: Any) -> dict[str, Any]:
        """Core's shared loop (:mod:`attnzoo.trainers.loop`) driving the Keras engine."""
        from attnzoo.trainers.loop import fit
        from attnzoo_atrt.engine import KerasEngine

        return fit(run, KerasEngine(self, run.config.train, model, data))


# ---------------------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------------------


def _predict_fn(model: keras.Model) -> Any:
    """A traced ``model(inputs, training=False) -> logits`` (one per model, any batch shape)."""
    fn = _PREDICT_FNS.get(model)
    if fn is None:

        @tf.function(input_signature=[INPUT_SPEC], reduce_retracing=True)
        def fn(inputs: dict[str, tf.Tensor]) -> tf.Tensor:
            out = model(inputs, training=False)
            return out["logits"] if isinstance(out, dict) else out

        _PREDICT_FNS[model] = fn
    return fn
