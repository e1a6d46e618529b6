"""``api.train`` as named steps, and validation that logs the configured loss beside
cross-entropy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_config

import attnzoo
from attnzoo.api import build_step, coerce_run_config, prepare_step, resolve_step, train
from attnzoo.artifact import artifact_of
from attnzoo.config import DEFAULT_MAX_LENGTH, LossConfig
from attnzoo.loss_formulas import loss_from_probabilities
from attnzoo.losses import build_loss
from attnzoo.runs import Run


def test_the_steps_can_be_called_one_by_one(tiny_csv, tmp_path):
    setup = resolve_step(coerce_run_config(run_config(tiny_csv, tmp_path / "runs")))
    assert setup.spec.name == "tiny" and setup.cfg.train.lr == 0.01  # the model's recipe
    assert setup.cfg.data.max_length == DEFAULT_MAX_LENGTH
    assert setup.user_model_config.d_model == 16
    setup.run = Run.create(setup.cfg)
    try:
        prepare_step(setup)
        assert setup.data.num_classes == 3 and (setup.run.dir / "tokenizer.json").exists()
        build_step(setup)
    finally:
        setup.run.close()
    artifact = artifact_of(setup.model)
    assert artifact.config.vocab_size == setup.data.processor.config_fields()["vocab_size"]
    assert artifact.label_names == ["money", "sport", "tech"]
    assert artifact.extra["max_length"] == DEFAULT_MAX_LENGTH


def test_a_failing_step_releases_the_run_folder(tiny_csv, tmp_path, monkeypatch):
    import attnzoo.api as api

    def broken(setup):
        raise RuntimeError("no model today")

    monkeypatch.setattr(api, "build_step", broken)
    cfg = run_config(tiny_csv, tmp_path / "runs")
    with pytest.raises(RuntimeError, match="no model today"):
        train(cfg)
    monkeypatch.undo()
    train(cfg, overwrite=True)  # the lock was released: the folder can be taken again


@pytest.mark.parametrize(
    "cfg",
    [
        LossConfig(),
        LossConfig(name="label_smoothing", label_smoothing=0.2),
        LossConfig(name="focal"),
        LossConfig(name="bce"),
        LossConfig(
            name="combined", weights={"cross_entropy": 0.4, "focal": 0.4, "label_smoothing": 0.2}
        ),
    ],
    ids=lambda c: c.name,
)
def test_the_loss_of_probabilities_is_the_loss_of_the_logits(cfg):
    gen = torch.Generator().manual_seed(0)
    classes = 2 if cfg.name == "bce" else 4
    logits = torch.randn(32, classes, generator=gen) * 3
    labels = torch.randint(0, classes, (32,), generator=gen)
    expected = float(build_loss(cfg)(logits, labels))
    probs = torch.softmax(logits, -1).numpy()
    got = loss_from_probabilities(cfg, labels.numpy(), probs)
    assert got == pytest.approx(expected, rel=1e-5)


def _rows(result):
    path = Path(result["run_dir"]) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_validation_logs_the_configured_loss_and_cross_entropy(tiny_csv, tmp_path):
    smoothed = {"name": "label_smoothing", "label_smoothing": 0.3}
    result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=2, loss=smoothed))
    rows = _rows(result)
    assert all("val_loss" in r and "val_ce" in r for r in rows)
    # label smoothing of 0.3 puts a floor under the loss that cross-entropy does not have
    assert all(r["val_loss"] != pytest.approx(r["val_ce"], rel=1e-3) for r in rows)
    assert {"loss", "ce"} <= set(result["test"]) and {"loss", "ce"} <= set(result["val"])
    assert result["test"]["loss"] != pytest.approx(result["test"]["ce"], rel=1e-3)

    plain = attnzoo.train(run_config(tiny_csv, tmp_path / "runs2", epochs=1))
    row = _rows(plain)[0]
    assert row["val_loss"] == row["val_ce"]  # cross-entropy configured: one loss, two names
    np.testing.assert_allclose(plain["test"]["loss"], plain["test"]["ce"])
