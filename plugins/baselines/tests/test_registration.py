from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from attnzoo.specs import import_string
from attnzoo_baselines import plugin

SPECS = [plugin.TRANSFORMER, plugin.HF_ENCODER, plugin.BILSTM, plugin.FASTTEXT]
OFFLINE_PRESETS = [(s, p) for s in SPECS for p in s.presets if p != "minilm"]


def test_plugin_imports_no_framework():
    code = (
        "import sys, attnzoo_baselines.plugin, attnzoo_baselines.config\n"
        "bad = [m for m in ('torch', 'transformers', 'tensorflow') if m in sys.modules]\n"
        "sys.exit(bool(bad))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_model_has_a_described_tiny_preset(spec):
    assert spec.description and "tiny" in spec.presets
    assert all(spec.preset(p).description for p in spec.presets)
    config_cls = spec.load_config_class()
    for name, field in config_cls.model_fields.items():
        assert field.description, f"{spec.name}: field {name!r} has no description"


@pytest.mark.parametrize(("spec", "preset"), OFFLINE_PRESETS, ids=lambda x: getattr(x, "name", x))
def test_presets_validate_and_build(spec, preset):
    config = spec.load_config_class()(**spec.preset(preset).model, num_classes=2)
    if preset == "tiny":
        model = import_string(spec.factory)(config)
        ids = torch.randint(1, 50, (2, 9))
        assert model(ids, torch.ones_like(ids))["logits"].shape == (2, 2)


def test_lra_preset_is_the_lra_listops_shape():
    assert dict(plugin.TRANSFORMER.preset("lra").model) == {
        "d_model": 512,
        "n_heads": 8,
        "n_layers": 4,
        "d_ff": 1024,
        "max_seq_len": 2048,
    }
