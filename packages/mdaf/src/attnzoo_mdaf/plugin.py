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


def _static_models() -> list[ModelSpec]:
    """DCNv3 and MDAF (DCNv3 + a sequential branch, fused by a gate)."""
    dcnv3 = ModelSpec(
        name="dcnv3",
        config=f"{_PKG}.config:DCNv3Config",
        factory=f"{_PKG}.dcnv3:DCNv3",
        task="ctr",
        input_kind="tabular",
        description="DCNv3: exponential (ECN) and linear (LCN) cross networks with self-masks over "
        "multi-head field embeddings, logits averaged, Tri-BCE (the official layout).",
        paper="Li et al. 2024, DCNv3: Towards Next Generation Deep Cross Network for CTR "
        "Prediction (arXiv 2407.13349)",
        presets={
            "tiny": Preset(
                model={
                    "embedding_dim": 4,
                    "num_deep_cross_layers": 2,
                    "num_shallow_cross_layers": 2,
                },
                description="4-wide embeddings, 2 + 2 cross layers, for tests.",
            ),
            "fuxictr-bug": Preset(
                model={"tri_bce": False},
                description="BCE on the averaged logit only: what FuxiCTR 2.0.2-2.3.3 ran (#122).",
            ),
        },
        train_defaults=CTR_TRAIN_DEFAULTS,
    )
    tiny = {
        "embedding_dim": 4,
        "num_deep_cross_layers": 2,
        "num_shallow_cross_layers": 2,
        "deep_net_dropout": 0.0,
        "shallow_net_dropout": 0.0,
        "d_model": 8,
        "mamba_layers": 1,
        "mamba_dropout": 0.0,
        "d_state": 4,
        "pooling": "mean",
        "bst_heads": 2,
        "bst_layers": 1,
        "head_units": [8],
    }
    seed = {  # the seed's sizes (models/mdaf): DCNv3 3 + 3 without dropout, 128 wide
        "embedding_dim": 16,
        "num_shallow_cross_layers": 3,
        "deep_net_dropout": 0.0,
        "shallow_net_dropout": 0.0,
        "d_model": 128,
        "mamba_impl": "mdaf_surrogate",
        "mamba_layers": 2,
        "mamba_dropout": 0.0,
        "d_state": 16,
        "pooling": "mean",
        "bst_variant": "mdaf",
        "bst_heads": 4,
        "bst_layers": 2,
        "bst_dropout": 0.1,
    }
    mdaf = ModelSpec(
        name="mdaf",
        config=f"{_PKG}.config:MDAFConfig",
        factory=f"{_PKG}.mdaf:MDAF",
        task="ctr",
        input_kind="tabular",
        description="MDAF: a DCNv3 static branch and a Mamba4Rec (or BST) history branch fused by "
        "a learned gate g (g = share of the static branch), then an MLP head.",
        paper="jhchoi91066/CTR_research models/mdaf (Mamba-DCN with Adaptive Fusion); DCNv3: Li "
        "et al. 2024; Mamba4Rec: Liu et al. 2024; BST: Chen et al. 2019",
        presets={
            "tiny": Preset(
                model=tiny,
                description="Mamba branch, everything 4-8 wide, no dropout, mean pooling, for tests.",
            ),
            "tiny-bst": Preset(
                model={**tiny, "seq_branch": "bst"}, description="tiny with the BST branch."
            ),
            "mamba": Preset(
                model={"seq_branch": "mamba"}, description="The Mamba4Rec branch (the default)."
            ),
            "bst": Preset(
                model={"seq_branch": "bst"}, description="The BST branch (FuxiCTR's BST)."
            ),
            "seed": Preset(
                model=seed,
                description="The seed's MDAF-Mamba: its non-scanning surrogate branch (NOT a "
                "state-space model), 16-wide embeddings, 2 blocks of 128; for reproducing it only.",
            ),
            "seed-bst": Preset(
                model={**seed, "seq_branch": "bst"},
                description="The seed's MDAF-BST: its BST (2 post-LN layers of 128, 4 heads, "
                "dot-product target pooling) and the seed's DCNv3 sizes.",
            ),
            "surrogate": Preset(
                model={"mamba_impl": "mdaf_surrogate"},
                description="The default sizes with the seed's non-scanning surrogate branch (NOT "
                "a state-space model): the scan's contribution, measured.",
            ),
        },
        train_defaults=CTR_TRAIN_DEFAULTS,
    )
    return [dcnv3, mdaf]


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    for spec in (*_static_models(), *_sequence_models()):
        registry.add(spec)
