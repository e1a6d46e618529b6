"""attnzoo-mdaf's plugin: registers its CTR models, lazily (no torch at import)."""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import ModelSpec, Preset

_PKG = "attnzoo_mdaf"

#: CTR conventions (FuxiCTR, BARS), as the baselines: Adam 1e-3, batches of 2048, early
#: stopping on validation AUC with patience 2
CTR_TRAIN_DEFAULTS = {
    "lr": 1e-3,
    "epochs": 50,
    "batch_size": 2048,
    "weight_decay": 0.0,
    "scheduler": "constant",
    "warmup_ratio": 0.0,
    "early_stopping_patience": 2,
}


def _sequence_models() -> list[ModelSpec]:
    """Mamba4Rec and BST as CTR models (the sequential branches of MDAF, standalone)."""
    mamba4rec = ModelSpec(
        name="mamba4rec",
        config=f"{_PKG}.config_seq:Mamba4RecConfig",
        factory=f"{_PKG}.mamba4rec:Mamba4RecCTR",
        task="ctr",
        input_kind="tabular",
        description="Mamba4Rec's layers (Mamba over a real selective scan, FFN) over the behaviour "
        "history, field embeddings, MLP -> click.",
        paper="Liu et al. 2024, Mamba4Rec: Towards Efficient Sequential Recommendation with "
        "Selective State Space Models (arXiv 2403.03900)",
        presets={
            "tiny": Preset(
                model={"embedding_dim": 4, "d_model": 8, "d_state": 4, "hidden_units": [8]},
                description="4-wide embeddings, D 8, state 4, MLP 8, for tests.",
            ),
            "small": Preset(
                model={"d_model": 32, "d_state": 16},
                description="D 32, state 16: about a fifth of the default's CPU time per step at "
                "batch 2048 (the sequential scan's state is batch x 2D x N), for CPU budgets.",
            ),
            "original": Preset(
                model={"reinit_inner": True},
                description="Mamba4Rec's own init: N(0, 0.02) over Mamba's linears too (dt bias 0).",
            ),
            "mdaf": Preset(
                model={
                    "impl": "mdaf_surrogate",
                    "d_model": 128,
                    "n_layers": 2,
                    "d_state": 16,
                    "pooling": "mean",
                    "head_dropout": 0.3,
                },
                train={"weight_decay": 5e-5},
                description="The MDAF seed's 'Mamba4Rec v2': its non-scanning surrogate (NOT a "
                "state-space model), 2 blocks of 128, for reproducing the seed only.",
            ),
        },
        train_defaults=CTR_TRAIN_DEFAULTS,
    )
    bst = ModelSpec(
        name="bst",
        config=f"{_PKG}.config_seq:BSTConfig",
        factory=f"{_PKG}.bst:BSTCTR",
        task="ctr",
        input_kind="tabular",
        description="BST: a transformer over the history with the target appended and positions "
        "concatenated (FuxiCTR's), mean-pooled, MLP -> click.",
        paper="Chen et al. 2019, Behavior Sequence Transformer for E-commerce Recommendation in "
        "Alibaba (arXiv 1905.06874)",
        presets={
            "tiny": Preset(
                model={"embedding_dim": 4, "n_heads": 2, "hidden_units": [8]},
                description="4-wide embeddings, 2 heads, MLP 8, for tests.",
            ),
            "mdaf": Preset(
                model={
                    "variant": "mdaf",
                    "embedding_dim": 64,
                    "n_heads": 2,
                    "n_layers": 1,
                    "dropout": 0.1,
                    "attention_dropout": 0.1,
                },
                train={"batch_size": 512, "epochs": 5},
                description="The MDAF seed's standalone BST (train_bst.py): embed 64, 1 layer, 2 "
                "heads, added sinusoids, dot-product target pooling.",
            ),
        },
        train_defaults=CTR_TRAIN_DEFAULTS,
    )
    return [mamba4rec, bst]


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    for spec in _sequence_models():
        registry.add(spec)
