from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import run_config

import attnzoo
from attnzoo.config import LossConfig, TrainConfig
from attnzoo.errors import ConfigError
from attnzoo.losses import build_loss, probabilities
from attnzoo.trainers.optim import build_scheduler, param_groups

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
LABELS = torch.tensor([0, 2])


def test_focal_with_gamma_zero_is_cross_entropy():
    ce = build_loss(LossConfig(name="cross_entropy"))(LOGITS, LABELS)
    focal0 = build_loss(LossConfig(name="focal", focal_gamma=0.0))(LOGITS, LABELS)
    assert torch.allclose(ce, focal0)
    assert build_loss(LossConfig(name="focal"))(LOGITS, LABELS) < ce


def test_combined_is_the_weighted_sum():
    cfg = LossConfig(
        name="combined", weights={"cross_entropy": 0.4, "focal": 0.4, "label_smoothing": 0.2}
    )
    parts = [
        build_loss(LossConfig(name=n))(LOGITS, LABELS)
        for n in ("cross_entropy", "focal", "label_smoothing")
    ]
    assert torch.allclose(
        build_loss(cfg)(LOGITS, LABELS), 0.4 * parts[0] + 0.4 * parts[1] + 0.2 * parts[2]
    )
    with pytest.raises(ConfigError, match="needs train.loss.weights"):
        build_loss(LossConfig(name="combined"))
    with pytest.raises(ConfigError, match="Did you mean 'focal'"):
        build_loss(LossConfig(name="focall"))


def test_bce_and_probabilities_of_a_single_logit():
    logits = torch.tensor([0.0, 2.0])
    loss = build_loss(LossConfig(name="bce"))(logits, torch.tensor([0, 1]))
    expected = -(math.log(0.5) + math.log(1 / (1 + math.exp(-2)))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert probabilities(logits).shape == (2, 2)


def test_no_weight_decay_on_biases_norms_and_embeddings():
    model = torch.nn.Sequential(
        torch.nn.Embedding(10, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2)
    )
    decay, no_decay = param_groups(model, TrainConfig())
    assert [p.shape for p in decay["params"]] == [torch.Size([2, 4])]
    assert len(no_decay["params"]) == 4 and no_decay["weight_decay"] == 0.0
    assert len(param_groups(model, TrainConfig(decay_norm_and_bias=True))) == 1


def test_lr_multipliers_split_groups_first_match_wins_and_the_schedule_keeps_the_ratio():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    cfg = TrainConfig(lr=1e-3, lr_multipliers={"0.*": 1.0, "*": 100.0}, warmup_ratio=0.5)
    groups = param_groups(model, cfg)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert lr_of[id(model[0].weight)] == pytest.approx(1e-3)
    assert lr_of[id(model[0].bias)] == pytest.approx(1e-3)
    assert lr_of[id(model[1].weight)] == pytest.approx(1e-1)
    assert {g["weight_decay"] for g in groups if any(p is model[1].bias for p in g["params"])} == {
        0.0
    }
    assert sum(len(g["params"]) for g in groups) == 4
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    sched = build_scheduler(opt, cfg, total_steps=4)
    opt.step()
    sched.step()
    ratios = {g["lr"] / cfg.lr / g["lr_scale"] for g in opt.param_groups}
    assert len({round(r, 12) for r in ratios}) == 1  # one schedule factor for every group


def test_lr_multipliers_errors_name_the_problem():
    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="no trainable parameter matches"):
        param_groups(model, TrainConfig(lr_multipliers={"encoder.*": 2.0}))
    with pytest.raises(ValueError, match="must be positive"):
        TrainConfig(lr_multipliers={"*": 0.0})


@pytest.mark.parametrize("name", ["cosine", "linear", "constant"])
def test_schedules_warm_up_then_follow_their_shape(name):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_scheduler(opt, TrainConfig(scheduler=name, warmup_ratio=0.2), total_steps=10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0)
    if name == "constant":
        assert lrs[-1] == pytest.approx(1.0)
    else:
        assert lrs[-1] < 0.2


def test_grad_accumulation_and_plateau_in_a_real_run(tiny_csv, tmp_path):
    cfg = run_config(
        tiny_csv, tmp_path / "runs", epochs=2, grad_accum=3, scheduler="plateau", plateau_patience=0
    )
    result = attnzoo.train(cfg)
    rows = [
        json.loads(x) for x in (Path(result["run_dir"]) / "metrics.jsonl").read_text().splitlines()
    ]
    # 72 training rows, batch 8 -> 9 batches per epoch -> 3 optimizer steps with accumulation 3
    assert [r["global_step"] for r in rows] == [3, 6]
    assert all(0.0 <= r["train_accuracy"] <= 1.0 for r in rows)


def test_loss_from_the_model_when_it_defines_one(tiny_csv, tmp_path, monkeypatch):
    import tinymodels

    calls = []

    def compute_loss(self, outputs, labels):
        calls.append(1)
        return torch.nn.functional.cross_entropy(outputs["logits"], labels)

    monkeypatch.setattr(tinymodels.TinyModel, "compute_loss", compute_loss, raising=False)
    attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    assert len(calls) == 9
