"""Config validation and the plugin's registration (without importing TensorFlow)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from attnzoo_atrt.config import ATRTConfig


def test_defaults_are_the_classification_variant():
    cfg = ATRTConfig()
    assert (cfg.d_model, cfg.n_heads, cfg.n_layers, cfg.max_seq_len) == (128, 4, 2, 256)
    assert (cfg.high_threshold_std, cfg.high_max, cfg.high_min) == (1.5, 1.30, 1.25)
    assert (cfg.moderate_threshold_std, cfg.moderate_low, cfg.moderate_high) == (0.0, 1.10, 1.15)
    assert cfg.attention == "atrt"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"d_model": 30, "n_heads": 4}, "divisible"),
        ({"high_min": 1.4}, "high_min"),
        ({"moderate_low": 1.2}, "moderate_low"),
        ({"moderate_threshold_std": 2.0}, "moderate_threshold_std"),
        ({"attention": "linear"}, "attention"),
        ({"d_modle": 64}, "d_modle"),
    ],
)
def test_invalid_configs_are_rejected(overrides, message):
    with pytest.raises(ValidationError, match=message):
        ATRTConfig(**overrides)


def test_every_field_has_a_description():
    missing = [n for n, f in ATRTConfig.model_fields.items() if not f.description]
    assert not missing


def test_registration_imports_no_framework():
    code = (
        "import sys, attnzoo\n"
        "from attnzoo.registry import list_models, model_info, get_trainer_spec\n"
        "assert 'atrt' in list_models(framework='tensorflow')\n"
        "info = model_info('atrt.summarization')\n"
        "assert info['presets']['base']['model'] == {'attention': 'plain'}\n"
        "assert get_trainer_spec('tensorflow').factory == 'attnzoo_tensorflow.backend:TensorFlowBackend'\n"
        "bad = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    # Only this plugin, the engine it depends on and core's built-in one: other packages' state
    # must not matter here.
    env = {**os.environ, "ATTNZOO_LOAD_PLUGINS": "atrt,tensorflow", "ATTNZOO_STRICT_PLUGINS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@pytest.mark.parametrize("preset", ["tiny", "summarization", "base"])
def test_presets_validate(preset):
    from attnzoo_atrt import plugin

    class _Collect:
        specs: list = []

        def add(self, spec):
            self.specs.append(spec)

    reg = _Collect()
    plugin.register_models(registry=reg)
    spec = reg.specs[0]
    ATRTConfig(**spec.preset(preset).model)
