"""The torch backend: building, saving, loading and predicting with ``torch.nn.Module`` models.

Training is the shared loop (:mod:`attnzoo.trainers.loop`) driving
:class:`attnzoo.trainers.torch_engine.TorchEngine` (Hugging Face Accelerate).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attnzoo.losses import probabilities

logger = logging.getLogger(__name__)


def _guard_against_triton_after_tensorflow() -> None:
    """TensorFlow and triton each bundle LLVM; importing triton after TensorFlow aborts the
    process ("option registered more than once"). torch imports triton lazily (for
    ``use_deterministic_algorithms`` and ``torch.compile``), so when TensorFlow came first we
    block triton: torch then runs without it (the CPU never needs it; ``train.compile`` on
    CUDA would, in such a process)."""
    import sys

    if "tensorflow" in sys.modules and "triton" not in sys.modules:
        logger.info("TensorFlow is loaded: blocking triton in this process (LLVM clash).")
        sys.modules["triton"] = None  # type: ignore[assignment]


class TorchBackend:
    framework = "torch"
    weights_file = "model.safetensors"

    # -- building, saving, loading ------------------------------------------------------
    def seed(self, seed: int) -> None:
        """Seed python, numpy and torch before the model is built (so init is reproducible)."""
        from accelerate.utils import set_seed

        _guard_against_triton_after_tensorflow()
        set_seed(seed)

    def build_model(self, spec: Any, config: Any) -> torch.nn.Module:
        model = spec.load_factory()(config)
        if not isinstance(model, torch.nn.Module):
            raise TypeError(
                f"{spec.factory} built a {type(model).__name__}, not a torch.nn.Module."
            )
        return model

    def save_weights(self, model: torch.nn.Module, model_dir: Path) -> Path:
        from safetensors.torch import save_model

        from attnzoo.io import atomic_write

        path = Path(model_dir) / self.weights_file
        model = getattr(model, "module", model)  # unwrap DDP
        atomic_write(path, lambda tmp: save_model(model, tmp, metadata={"format": "pt"}))
        return path

    def load_weights(self, model: torch.nn.Module, model_dir: Path) -> None:
        from safetensors.torch import load_model

        missing, unexpected = load_model(
            getattr(model, "module", model), str(Path(model_dir) / self.weights_file), strict=False
        )
        if missing or unexpected:
            from attnzoo.errors import CheckpointError

            raise CheckpointError(
                f"{model_dir / self.weights_file} does not match the model built from config.json: "
                f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}."
            )

    def num_parameters(self, model: torch.nn.Module) -> int:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    @torch.no_grad()
    def predict_proba(
        self, model: torch.nn.Module, batches: Any, device: str | torch.device | None = None
    ) -> np.ndarray:
        model.eval()
        device = device or next(model.parameters()).device
        out = []
        for batch in batches:
            inputs = {k: torch.as_tensor(v).to(device) for k, v in batch.items() if k != "labels"}
            out.append(probabilities(model(**inputs)["logits"]).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)

    # -- training -----------------------------------------------------------------------
    def training_step(self, model: torch.nn.Module, **settings: Any) -> Any:
        """A :class:`attnzoo.trainers.torch_step.TorchStepper` (``lr``, ``loss``,
        ``weight_decay``): the scaling sweep's and the conformance suite's training step."""
        from attnzoo.trainers.torch_step import TorchStepper

        return TorchStepper(model, **settings)

    def fit(self, run: Any, model: torch.nn.Module, data: Any) -> dict[str, Any]:
        """The shared loop (:mod:`attnzoo.trainers.loop`) driving an Accelerate engine."""
        from attnzoo.trainers.loop import fit
        from attnzoo.trainers.torch_engine import TorchEngine

        _guard_against_triton_after_tensorflow()
        return fit(run, TorchEngine(self, run.config.train, model, data))
