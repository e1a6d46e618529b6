"""Keras 3 on the TensorFlow backend, imported without changing the caller's environment.

Every module of a Keras model package (and of this engine) takes Keras and TensorFlow from
here: ``from attnzoo_tensorflow.on_tensorflow import keras, tf``.
"""

from __future__ import annotations

import os
from typing import Any

from attnzoo.errors import ConfigError


def _import_keras_on_tensorflow() -> tuple[Any, Any]:
    """Import Keras (on the TensorFlow backend unless the user chose one) and TensorFlow.

    Keras reads ``KERAS_BACKEND`` once, when it is first imported, so the default is set only
    around that import and the environment is restored afterwards: a library user's process
    keeps the environment it had. TensorFlow's C++ start-up chatter is quieted the same way.
    """
    defaults = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    added = [name for name in defaults if name not in os.environ]
    os.environ.update({name: defaults[name] for name in added})
    try:
        import keras
        import tensorflow as tf
    finally:
        for name in added:
            os.environ.pop(name, None)
    return keras, tf


keras, tf = _import_keras_on_tensorflow()


def require_tensorflow_backend(who: str = "attnzoo-tensorflow") -> None:
    """Raise a clear error when Keras was loaded on another backend.

    Called when a model is built (by the engine and by layers), not at import, so importing a
    module that uses Keras never fails on its own.
    """
    if keras.backend.backend() != "tensorflow":
        raise ConfigError(
            f"{who} needs Keras on the TensorFlow backend, but Keras was loaded with "
            f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow before anything "
            "imports keras."
        )
