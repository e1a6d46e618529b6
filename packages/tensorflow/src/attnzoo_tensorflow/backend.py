"""The ``tensorflow`` backend: building, saving, loading and predicting with Keras 3 models.

It implements :class:`attnzoo.backend.Backend` for any Keras model that follows the attnzoo
Keras contract (``Model(config)``; ``call({"input_ids", "attention_mask"}, training)`` returns
logits). Training is core's shared loop (:mod:`attnzoo.trainers.loop`) driving
:class:`attnzoo_tensorflow.engine.KerasEngine` under the strategy of
:func:`attnzoo_tensorflow.distribute.make_strategy`.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.errors import CheckpointError
from attnzoo.io import atomic_write
from attnzoo_tensorflow.data import INPUT_SPEC
from attnzoo_tensorflow.distribute import make_strategy
from attnzoo_tensorflow.losses import probabilities
from attnzoo_tensorflow.on_tensorflow import keras, require_tensorflow_backend, tf

logger = logging.getLogger(__name__)

_PREDICT_FNS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


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
        require_tensorflow_backend()
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
    def training_step(
        self, model: keras.Model, *, lr: float = 1e-4, loss: Any = None, weight_decay: float = 0.004
    ) -> Any:
        """One step on a numpy batch for the scaling sweep and the conformance suite."""
        from attnzoo_tensorflow.step import KerasStepper

        return KerasStepper(model, lr=lr, loss=loss, weight_decay=weight_decay)

    def fit(self, run: Any, model: keras.Model, data: Any) -> dict[str, Any]:
        """Core's shared loop (:mod:`attnzoo.trainers.loop`) driving the Keras engine."""
        from attnzoo.trainers.loop import fit
        from attnzoo_tensorflow.engine import KerasEngine

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
