"""The framework boundary: what a training backend (``register_trainers``) provides.

Core knows no framework. It hands a backend the run, the model and the prepared data, whose
batches are dicts of numpy arrays (``input_ids``, ``attention_mask``, ``labels``), and asks it
to fit, save, load and predict. Core ships the ``torch`` backend; attnzoo-tensorflow ships
``tensorflow``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from attnzoo.data import PreparedData
    from attnzoo.runs import Run
    from attnzoo.specs import ModelSpec


@runtime_checkable
class Backend(Protocol):
    framework: str
    #: file name of the portable weights inside ``model/`` (no pickle)
    weights_file: str

    def build_model(self, spec: ModelSpec, config: Any) -> Any:
        """Instantiate ``spec``'s model class with a validated config instance."""

    def save_weights(self, model: Any, model_dir: Path) -> Path:
        """Write the weights into ``model_dir`` atomically; return the file written."""

    def load_weights(self, model: Any, model_dir: Path) -> None:
        """Load weights written by :meth:`save_weights`; never executes code from the file."""

    def predict_proba(self, model: Any, batches: Any) -> np.ndarray:
        """Class probabilities (N, C) for an iterable of numpy batches, in order."""

    def num_parameters(self, model: Any) -> int:
        """Number of trainable parameters."""

    def fit(self, run: Run, model: Any, data: PreparedData) -> dict[str, Any]:
        """Train with validation-only selection, restore the best weights, return a summary.

        Build the framework's engine and return ``attnzoo.trainers.loop.fit(run, engine)``:
        the shared loop writes ``metrics.jsonl``, saves the best weights and the resume state,
        and fires ``on_epoch_end`` and ``on_checkpoint_saved`` (contract:
        ``core/docs/engines.md``). Core evaluates test afterwards.
        """
