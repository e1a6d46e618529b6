"""Registers the PolaFormer and DSP-Attention classifiers (imports neither torch nor transformers).

The image classifiers (``attnzoo_dsp.model:PolaImageClassifier`` / ``DSPImageClassifier``) are
built and tested as plain torch modules; they are registered once attnzoo-core has an image
input kind.
"""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import ModelSpec, Preset

_PKG = "attnzoo_dsp"

# The softmax transformer baseline's recipe (attnzoo-baselines), so that defaults compare alike.
# PolaFormer's own (ImageNet) recipe is AdamW wd 0.05, lr 5e-4 x batch/512, 5 warm-up epochs,
# cosine: see the README.
TRAIN_DEFAULTS = {
    "lr": 5e-4,
    "epochs": 20,
    "batch_size": 32,
    "weight_decay": 0.01,
    "scheduler": "cosine",
    "warmup_ratio": 0.1,
    "early_stopping_patience": 4,
}

_TINY = {"d_model": 32, "n_heads": 2, "n_layers": 2, "d_ff": 64, "max_seq_len": 512}
# The LRA ListOps/Text transformer of the baselines' `transformer.lra` (same width and depth).
_LRA = {"d_model": 512, "n_heads": 8, "n_layers": 4, "d_ff": 1024, "max_seq_len": 2048}

POLA = ModelSpec(
    name="pola",
    config=f"{_PKG}.config:PolaConfig",
    factory=f"{_PKG}.model:PolaClassifier",
    description="PolaFormer: polarity-aware linear attention (exact module, masked 1-D), pre-LN blocks.",
    paper="Meng et al. 2025, PolaFormer: Polarity-aware Linear Attention for Vision Transformers (ICLR); "
    "github.com/ZacharyMeng/PolaFormer",
    presets={
        "tiny": Preset(model=_TINY, description="2 x 32-wide layers, for tests."),
        "lra": Preset(
            model=_LRA,
            description="LRA size (width 512, 8 heads, 4 layers, MLP 1024, 2048 tokens) = transformer.lra.",
        ),
        "alpha3": Preset(model={"alpha": 3.0}, description="PolaFormer's LRA alpha = 3 row."),
        "alpha7": Preset(model={"alpha": 7.0}, description="PolaFormer's LRA alpha = 7 row."),
    },
    train_defaults=TRAIN_DEFAULTS,
)

DSP = ModelSpec(
    name="dsp",
    config=f"{_PKG}.config:DSPConfig",
    factory=f"{_PKG}.model:DSPClassifier",
    description="DSP-Attention (made to run): spectral polarity filter, hierarchical scales, context coefficients.",
    paper="Hassan48khan/Dynamic-Spectral-Polarity-Linear-Attention-DSP-Attention- (extends PolaFormer)",
    presets={
        "tiny": Preset(
            model={**_TINY, "spectral_modes": 4, "num_scales": 2},
            description="2 x 32-wide layers, 4 modes, 2 scales, for tests.",
        ),
        "lra": Preset(
            model=_LRA,
            description="LRA size (width 512, 8 heads, 4 layers, MLP 1024, 2048 tokens).",
        ),
        "seed": Preset(
            model={"context": "seed"},
            description="The seed's context encoder (BiLSTM + softmax self-attention: O(N^2)).",
        ),
    },
    train_defaults=TRAIN_DEFAULTS,
)


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    for spec in (POLA, DSP):
        registry.add(spec)
