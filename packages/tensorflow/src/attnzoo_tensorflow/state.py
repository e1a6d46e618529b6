"""Resume state of the Keras engine: every model and optimizer variable in one ``.npz``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.errors import CheckpointError
from attnzoo_tensorflow.on_tensorflow import keras

STATE_FILE = "variables.npz"


def _state_variables(model: keras.Model, optimizer: Any) -> list[Any]:
    return [*model.variables, *optimizer.variables]


def write_state(path: Path, model: keras.Model, optimizer: Any) -> None:
    """Every model and optimizer variable, in order, as a pickle-free ``.npz``.

    Not ``tf.train.Checkpoint``: with Keras 3 models it misses the dropout ``SeedGenerator``
    states (and reaches list-held layers only through the optimizer), so a resumed run would
    drift from an uninterrupted one. Variables are matched by position and shape, since Keras
    names seed generators by a per-process counter.
    """
    arrays = {
        f"v{i}": keras.ops.convert_to_numpy(v)
        for i, v in enumerate(_state_variables(model, optimizer))
    }
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def read_state(path: Path, model: keras.Model, optimizer: Any) -> None:
    variables = _state_variables(model, optimizer)
    with np.load(path, allow_pickle=False) as saved:
        if len(saved.files) != len(variables):
            raise CheckpointError(
                f"{path} holds {len(saved.files)} variables but the model and optimizer have "
                f"{len(variables)}: it was written for another model; start without --resume."
            )
        for i, var in enumerate(variables):
            value = saved[f"v{i}"]
            if tuple(value.shape) != tuple(var.shape):
                raise CheckpointError(
                    f"{path}: variable {i} ({var.path}) has shape {value.shape}, "
                    f"expected {tuple(var.shape)}."
                )
            var.assign(value)
