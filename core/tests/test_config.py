from __future__ import annotations

import pytest

from attnzoo.api import build_config, resolve_run_config
from attnzoo.config import RunConfig, validate_config
from attnzoo.errors import ConfigError
from attnzoo.overrides import apply_overrides


def test_unknown_model_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"unknown key 'd_modle'.*Did you mean 'd_model'"):
        build_config("tiny", d_modle=3)


def test_out_of_range_value_is_reported():
    with pytest.raises(ConfigError, match="dropout"):
        build_config("tiny", dropout=1.5)


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"epochs": 0}, {"lr": -1}, {"bogus": 1}])
def test_train_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        validate_config(
            RunConfig, {"model": "tiny", "dataset": "x.csv", "train": bad}, where="run config"
        )


def test_max_length_must_be_positive():
    with pytest.raises(ConfigError, match="max_length"):
        validate_config(
            RunConfig,
            {"model": "tiny", "dataset": "x.csv", "data": {"max_length": 0}},
            where="run config",
        )


def test_recipe_precedence_defaults_preset_user():
    cfg = RunConfig(model="tiny.wide", dataset="x.csv")
    resolved = resolve_run_config(cfg)
    assert resolved.train.lr == 0.02  # preset recipe beats the model's train_defaults
    assert resolved.train.batch_size == 8  # model train_defaults beat core defaults
    user = RunConfig.model_validate(
        {"model": "tiny.wide", "dataset": "x.csv", "train": {"lr": 0.5}}
    )
    assert resolve_run_config(user).train.lr == 0.5
    assert resolved.model_args == {"d_model": 32}
    assert resolved.data.tokenizer.kind == "wordpiece"


def test_set_overrides_routing():
    cfg = apply_overrides(
        {"model": "tiny", "dataset": "x"},
        [
            "train.lr=1e-3",
            "epochs=4",
            "model.d_model=8",
            "max_length=64",
            "data.tokenizer.kind=bpe",
        ],
    )
    assert cfg["train"] == {"lr": 1e-3, "epochs": 4}
    assert cfg["model_args"] == {"d_model": 8}
    assert cfg["data"] == {"max_length": 64, "tokenizer": {"kind": "bpe"}}
    with pytest.raises(ConfigError, match="Did you mean"):
        apply_overrides({}, ["epoch=3"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["epochs"])
