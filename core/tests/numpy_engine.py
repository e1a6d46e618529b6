"""A third framework, as a plugin author writes one: a numpy bag-of-words softmax regression
with its own backend (no torch, no Keras). Core's tests run ``ModelConformance`` on it to show
the suite goes through the engine only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from attnzoo import hookimpl
from attnzoo.config import TextClassifierConfig
from attnzoo.errors import CheckpointError
from attnzoo.specs import ModelSpec, TrainerSpec

_SEED = [0]  # the framework's global seed, as torch.manual_seed is torch's


class BowConfig(TextClassifierConfig):
    init_std: float = Field(0.1, gt=0, description="Standard deviation of the initial weights.")


class BowModel:
    """``logits = mean_t W[input_ids_t] + b`` over the real tokens."""

    def __init__(self, config: BowConfig) -> None:
        rng = np.random.default_rng(_SEED[0])
        self.params = {
            "W": rng.normal(0.0, config.init_std, (config.vocab_size, config.num_classes)),
            "b": np.zeros(config.num_classes),
        }

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        weights = attention_mask / np.maximum(attention_mask.sum(1, keepdims=True), 1)
        return np.einsum("bl,blc->bc", weights, self.params["W"][input_ids]) + self.params["b"]


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class BowStepper:
    """Plain gradient descent on the mean cross-entropy."""

    def __init__(self, model: BowModel, *, lr: float = 0.1, **_: Any) -> None:
        self.model, self.lr = model, lr

    def gradients(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray | None]:
        ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
        probs = _softmax(self.model.logits(ids, mask))
        d_logits = probs.copy()
        d_logits[np.arange(len(labels)), labels] -= 1.0
        d_logits /= len(labels)
        weights = mask / np.maximum(mask.sum(1, keepdims=True), 1)
        d_w = np.zeros_like(self.model.params["W"])
        np.add.at(d_w, ids, weights[:, :, None] * d_logits[:, None, :])
        return {"W": d_w, "b": d_logits.sum(0)}

    def step(self, batch: dict[str, np.ndarray]) -> float:
        logits = self.model.logits(batch["input_ids"], batch["attention_mask"])
        logp = np.log(_softmax(logits))
        loss = float(-logp[np.arange(len(batch["labels"])), batch["labels"]].mean())
        for name, grad in self.gradients(batch).items():
            self.model.params[name] -= self.lr * grad
        return loss


class NumpyBackend:
    weights_file = "weights.npz"

    def seed(self, seed: int) -> None:
        _SEED[0] = seed

    def build_model(self, spec: Any, config: Any) -> BowModel:
        return spec.load_factory()(config)  # type: ignore[no-any-return]

    def save_weights(self, model: BowModel, model_dir: Path) -> Path:
        path = Path(model_dir) / self.weights_file
        np.savez(path, **model.params)
        return path

    def load_weights(self, model: BowModel, model_dir: Path) -> None:
        with np.load(Path(model_dir) / self.weights_file, allow_pickle=False) as saved:
            if set(saved.files) != set(model.params):
                raise CheckpointError(f"{model_dir} holds {saved.files}, not {list(model.params)}")
            model.params = {k: saved[k] for k in model.params}

    def num_parameters(self, model: BowModel) -> int:
        return sum(p.size for p in model.params.values())

    def predict_proba(self, model: BowModel, batches: Any) -> np.ndarray:
        out = [_softmax(model.logits(b["input_ids"], b["attention_mask"])) for b in batches]
        return np.concatenate(out) if out else np.zeros((0, 0))

    def training_step(self, model: BowModel, **settings: Any) -> BowStepper:
        return BowStepper(model, **settings)

    def fit(self, run: Any, model: BowModel, data: Any) -> dict[str, Any]:
        raise NotImplementedError("this test engine is for the conformance suite only")


@hookimpl
def register_trainers(registry):  # type: ignore[no-untyped-def]
    registry.add(TrainerSpec("numpy", "numpy_engine:NumpyBackend", "numpy (core's tests)"))


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    registry.add(
        ModelSpec(
            name="bow-numpy",
            config="numpy_engine:BowConfig",
            factory="numpy_engine:BowModel",
            framework="numpy",
            description="bag-of-words softmax regression in numpy (core's tests)",
        )
    )
