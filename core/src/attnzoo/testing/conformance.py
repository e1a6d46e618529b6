"""``ModelConformance``: the checks every attnzoo model package runs on its models.

Subclass it in a package's tests::

    class TestDiffusionConformance(ModelConformance):
        model_name = "diffusion.tiny"          # a small preset: each check builds the model
        distribution = "attnzoo-diffusion"

Checks: registration attributed to the distribution; listing models in a fresh interpreter
imports no framework; config JSON round trip, unknown keys rejected, every field described;
forward shapes; finite gradients for every trainable parameter; save/load gives identical
predictions; seeded determinism; a short fit on tiny data lowers the loss.

Framework-neutral: every check goes through the model's backend (``core/docs/engines.md``):
``predict_proba`` for outputs, ``save_weights``/``load_weights`` through ``attnzoo.save_model``,
and the engine's training step (``backend.training_step``, the one the scaling sweep times)
for the short fit and, where the step offers ``gradients``, the gradient check. A numpy
engine's model runs the same suite. Batches come from the model's processor
(``Processor.synthetic().synthetic_batch``), so a CTR or image model runs it as a text model does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, ClassVar

import numpy as np
import pytest


class ModelConformance:
    model_name: ClassVar[str] = ""
    distribution: ClassVar[str] = ""
    #: config overrides used when building the model in these checks
    overrides: ClassVar[dict[str, Any]] = {}
    vocab_size: ClassVar[int] = 64
    num_classes: ClassVar[int] = 3
    seq_len: ClassVar[int] = 12
    fit_steps: ClassVar[int] = 30
    fit_lr: ClassVar[float] = 3e-3
    #: parameters allowed to get no gradient from one batch (e.g. unused embedding rows are fine; whole modules are not)
    no_grad_ok: ClassVar[tuple[str, ...]] = ()
    atol: ClassVar[float] = 1e-5
    #: settings of the synthetic processor (e.g. a CTR schema); text uses ``vocab_size``
    processor_settings: ClassVar[dict[str, Any]] = {}

    # -- helpers ------------------------------------------------------------------------
    @property
    def spec(self) -> Any:
        from attnzoo.registry import get_model_spec

        return get_model_spec(self.model_name)

    @property
    def processor(self) -> Any:
        from attnzoo.data.processors import processor_class

        settings = {"vocab_size": self.vocab_size, **self.processor_settings}
        return processor_class(self.spec.input_kind).synthetic(**settings)

    @property
    def classes(self) -> int:
        """Number of classes the model predicts (2 for CTR: no click, click)."""
        return 2 if self.spec.task == "ctr" else self.num_classes

    def build(self, seed: int = 0) -> Any:
        import attnzoo
        from attnzoo.api import get_backend

        backend = get_backend(self.spec.framework)
        if hasattr(backend, "seed"):
            backend.seed(seed)
        cls = self.spec.load_config_class()
        derived = {**self.processor.config_fields(), "num_classes": self.num_classes}
        derived.pop("max_seq_len", None)  # keep the preset's own
        args = {k: v for k, v in derived.items() if k in cls.model_fields}
        return attnzoo.create_model(self.model_name, **{**args, **self.overrides})

    def batch(self, seed: int = 0, size: int = 4) -> dict[str, np.ndarray]:
        """Synthetic inputs from the model's processor and labels that depend on them."""
        batch = self.processor.synthetic_batch(size, self.seq_len, seed)
        if "input_ids" in batch:
            labels = batch["input_ids"][:, 0] % self.classes
        else:
            labels = np.random.default_rng([seed, 99]).integers(0, self.classes, size)
        return {**batch, "labels": labels.astype(np.int64)}

    def loss_config(self) -> Any:
        """The loss the trainer would use for this model's task (BCE for CTR)."""
        from attnzoo.api import TASK_TRAIN_DEFAULTS
        from attnzoo.config import LossConfig

        name = TASK_TRAIN_DEFAULTS.get(self.spec.task, {}).get("loss", {}).get("name")
        return LossConfig(name=name or "cross_entropy")

    def backend(self) -> Any:
        from attnzoo.api import get_backend

        return get_backend(self.spec.framework)

    def probabilities(self, model: Any, batch: dict[str, np.ndarray]) -> np.ndarray:
        """The engine's class probabilities (N, C) for ``batch`` (inference mode)."""
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        return np.asarray(self.backend().predict_proba(model, [inputs]))

    def stepper(self, model: Any, lr: float | None = None) -> Any:
        """The engine's training step (plain Adam: no weight decay) with the task's loss."""
        from attnzoo.bench.steps import make_stepper

        return make_stepper(
            self.spec.framework,
            model,
            lr=self.fit_lr if lr is None else lr,
            loss=self.loss_config(),
            weight_decay=0.0,
        )

    # -- registration and configs ---------------------------------------------------------
    def test_registered_by_distribution(self) -> None:
        assert self.spec.plugin == self.distribution, (
            f"{self.model_name} is registered by {self.spec.plugin!r}, expected {self.distribution!r}"
        )
        assert self.spec.description, "the spec needs a one-line description"

    def test_listing_imports_no_framework(self) -> None:
        code = (
            "import sys, json, attnzoo\n"
            "names = attnzoo.list_models(presets=True)\n"
            "print(json.dumps({'names': names, 'heavy': [m for m in ('torch', 'tensorflow', 'keras', 'transformers') if m in sys.modules]}))\n"
        )
        env = {**os.environ, "ATTNZOO_STRICT_PLUGINS": "1"}
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert self.model_name in out["names"]
        assert out["heavy"] == [], f"listing models imported {out['heavy']}"

    def test_config_round_trip_and_closed(self) -> None:
        from attnzoo.api import build_config
        from attnzoo.errors import ConfigError

        cfg = build_config(self.model_name, **self.overrides)
        again = type(cfg).model_validate_json(cfg.model_dump_json())
        assert again == cfg
        with pytest.raises(ConfigError, match="unknown key"):
            build_config(self.model_name, definitely_not_a_field=1)
        undocumented = [n for n, f in type(cfg).model_fields.items() if not f.description]
        assert not undocumented, f"config fields without Field(description=...): {undocumented}"

    # -- forward, gradients ---------------------------------------------------------------
    def test_forward_shapes(self) -> None:
        model = self.build()
        batch = self.batch()
        probs = self.probabilities(model, batch)
        assert probs.shape == (len(batch["labels"]), self.classes)
        assert np.isfinite(probs).all()
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)

    def test_gradients_finite_for_every_parameter(self) -> None:
        stepper = self.stepper(self.build())
        if not hasattr(stepper, "gradients"):
            pytest.skip(f"the {self.spec.framework!r} engine's training step reports no gradients")
        grads = stepper.gradients(self.batch())
        missing = [
            n
            for n, g in grads.items()
            if g is None and not any(n.startswith(p) for p in self.no_grad_ok)
        ]
        assert not missing, f"parameters with no gradient: {missing}"
        bad = [n for n, g in grads.items() if g is not None and not np.isfinite(g).all()]
        assert not bad, f"non-finite gradients: {bad}"

    # -- persistence and determinism --------------------------------------------------------
    def test_save_load_identical_predictions(self, tmp_path: Any) -> None:
        import attnzoo
        from attnzoo.artifact import artifact_of

        model = self.build()
        batch = self.batch(seed=1)
        before = self.probabilities(model, batch)
        attnzoo.save_model(model, tmp_path / "m")
        loaded = attnzoo.load_model(tmp_path / "m")
        after = self.probabilities(loaded.model, batch)
        np.testing.assert_allclose(after, before, rtol=0, atol=self.atol)
        assert loaded.config == artifact_of(model).config

    def test_seeded_determinism(self) -> None:
        batch = self.batch(seed=2)
        a = self.probabilities(self.build(seed=7), batch)
        b = self.probabilities(self.build(seed=7), batch)
        np.testing.assert_array_equal(a, b)
        c = self.probabilities(self.build(seed=8), batch)
        assert not np.array_equal(a, c), "different seeds gave identical initialisations"

    # -- learning ---------------------------------------------------------------------------
    def test_short_fit_lowers_loss(self) -> None:
        batch = self.batch(seed=3, size=16)
        model = self.build(seed=0)
        first, last = self._fit(model, batch)
        assert last < first * 0.9, (
            f"loss did not fall over {self.fit_steps} steps: {first:.4f} -> {last:.4f}"
        )

    def _fit(self, model: Any, batch: dict[str, np.ndarray]) -> tuple[float, float]:
        stepper = self.stepper(model)
        losses = [stepper.step(batch) for _ in range(self.fit_steps)]
        return losses[0], float(np.mean(losses[-3:]))
