"""The shared training loop and the definitions every engine shares (schedules, losses)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import run_config

import attnzoo
from attnzoo.config import LossConfig, TrainConfig
from attnzoo.errors import ConfigError
from attnzoo.loss_formulas import LOSSES, register_loss
from attnzoo.losses import build_loss
from attnzoo.trainers.schedules import Plateau

ROW_FIELDS = {
    "epoch",
    "train_loss",
    "train_accuracy",
    "lr",
    "samples_per_s",
    "tokens_per_s",
    "epoch_seconds",
    "global_step",
    "best",
}


@pytest.fixture
def doubled_ce(request):
    """A loss a plugin registers: twice the cross-entropy, written once over ``ops``."""

    def make(cfg):
        return lambda ops, logits, labels: -2.0 * ops.take(ops.log_softmax(logits), labels)

    register_loss("doubled_ce", make)
    request.addfinalizer(lambda: LOSSES.pop("doubled_ce"))
    return make


def test_a_registered_loss_is_built_and_trained_with(doubled_ce, tiny_csv, tmp_path):
    logits, labels = torch.tensor([[2.0, 0.5], [0.1, 0.7]]), torch.tensor([0, 1])
    ce = torch.nn.functional.cross_entropy(logits, labels)
    assert torch.allclose(build_loss(LossConfig(name="doubled_ce"))(logits, labels), 2 * ce)
    with pytest.raises(ConfigError, match="already registered"):
        register_loss("doubled_ce", lambda cfg: None)  # type: ignore[arg-type,return-value]

    result = attnzoo.train(
        run_config(tiny_csv, tmp_path / "runs", epochs=1, loss={"name": "doubled_ce"})
    )
    rows = [
        json.loads(x) for x in (Path(result["run_dir"]) / "metrics.jsonl").read_text().splitlines()
    ]
    metric_keys = {k for k in rows[0] if k.startswith("val_")}
    # the documented row (core/docs/engines.md): the loop's fields plus val_<metric>
    assert set(rows[0]) - metric_keys == ROW_FIELDS
    assert {"val_accuracy", "val_loss"} <= metric_keys
    assert rows[0]["train_loss"] > 0 and result["best_epoch"] == 1


@pytest.mark.parametrize("mode", ["min", "max"])
def test_plateau_follows_torch_reduce_lr_on_plateau(mode):
    values = [0.5, 0.4, 0.4, 0.41, 0.39, 0.39, 0.39, 0.2, 0.2, 0.2, 0.2]
    cfg = TrainConfig(scheduler="plateau", plateau_patience=1, plateau_factor=0.5)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=1)
    plateau, lr, lrs, expected = Plateau(cfg, mode), 1.0, [], []
    for value in values:
        reference.step(value)
        expected.append(opt.param_groups[0]["lr"])
        lr *= plateau.step(value)
        lrs.append(lr)
    assert lrs == expected and min(lrs) < 1.0
    restored = Plateau(cfg, mode)
    restored.load_state_dict(json.loads(json.dumps(plateau.state_dict())))
    # the state the loop saves in trainer.json (JSON) resumes the rule
    assert [restored.step(v) for v in values] == [plateau.step(v) for v in values]
