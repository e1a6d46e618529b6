"""Runs and configs saved with non-default switches reload (config.json round trip)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import attnzoo
from attnzoo.testing.data import make_text_dataset
from attnzoo_diffusion.config import DiffusionConfig


@pytest.mark.parametrize(
    "kw", [{"mask_in_diffusion": True}, {"circular": False}, {"init_gain": 0.02}, {}]
)
def test_config_round_trips_through_json(kw):
    cfg = DiffusionConfig(vocab_size=50, num_classes=3, **kw)
    reloaded = DiffusionConfig.model_validate(json.loads(json.dumps(cfg.model_dump(mode="json"))))
    assert reloaded == cfg
    assert reloaded.uses_circular_shift == cfg.uses_circular_shift


def test_masked_mode_stores_the_shift_it_uses():
    cfg = DiffusionConfig(mask_in_diffusion=True)
    assert cfg.circular is False and not cfg.uses_circular_shift


def test_masked_run_reloads_and_evaluates(tmp_path: Path):
    """A `mask_in_diffusion=True` run used to save `circular: true` and fail to load."""
    data = make_text_dataset(tmp_path / "data", n=90)
    result = attnzoo.train(
        {
            "model": "diffusion.tiny",
            "model_args": {"mask_in_diffusion": True},
            "dataset": str(data),
            "out_dir": str(tmp_path / "runs"),
            "name": "masked",
            "data": {"tokenizer": {"vocab_size": 200, "min_frequency": 1}},
            "train": {"epochs": 1, "progress": False, "lr": 1e-3},
        }
    )
    saved = json.loads((Path(result["run_dir"]) / "model" / "config.json").read_text())
    assert saved["mask_in_diffusion"] is True and saved["circular"] is False
    loaded = attnzoo.load_model(result["run_dir"])
    assert loaded.config.mask_in_diffusion and not loaded.config.uses_circular_shift
    again = attnzoo.evaluate(result["run_dir"])
    assert again["accuracy"] == pytest.approx(result["test"]["accuracy"])
