"""attnzoo plugin of attnzoo-tensorflow: the ``tensorflow`` trainer.

The framework keeps the name users and run folders already use (``framework="tensorflow"`` in
a model spec and in ``model/attnzoo.json``). Imports neither tensorflow nor keras.
"""

from __future__ import annotations

from attnzoo.hookspecs import hookimpl
from attnzoo.specs import TrainerSpec


@hookimpl
def register_trainers(registry):  # type: ignore[no-untyped-def]
    registry.add(
        TrainerSpec(
            "tensorflow",
            "attnzoo_tensorflow.backend:TensorFlowBackend",
            "Keras 3 fit on the TensorFlow backend under tf.distribute",
        )
    )
