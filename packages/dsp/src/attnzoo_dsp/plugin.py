"""Registers the PolaFormer and DSP-Attention classifiers (imports neither torch nor transformers).

``pola`` / ``dsp``: token sequences (text, LRA); ``pola-image`` / ``dsp-image``: images through
the image input kind (patch embedding, the 2-D form of the attention on the patch grid).
"""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import ModelSpec, Preset
from attnzoo.tune.space import standard_space

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
    search_space=standard_space(5e-4),
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
    search_space=standard_space(5e-4),
    train_defaults=TRAIN_DEFAULTS,
)


# Image recipe: PolaFormer's AdamW weight decay 0.05 with cosine decay; a small-data lr and budget.
IMAGE_TRAIN_DEFAULTS = {
    "lr": 1e-3,
    "epochs": 30,
    "batch_size": 64,
    "weight_decay": 0.05,
    "scheduler": "cosine",
    "warmup_ratio": 0.05,
    "early_stopping_patience": 6,
}
_TINY_IMAGE = {"d_model": 32, "n_heads": 2, "n_layers": 2, "d_ff": 64, "patch_size": 2}
_SMALL_IMAGE = {"d_model": 64, "n_heads": 2, "n_layers": 2, "d_ff": 128, "patch_size": 2}

POLA_IMAGE = ModelSpec(
    name="pola-image",
    config=f"{_PKG}.config:PolaImageConfig",
    factory=f"{_PKG}.model:PolaImageClassifier",
    task="image-classification",
    input_kind="image",
    description="PolaFormer image classifier: patch embedding, polarity-aware linear attention on the patch grid.",
    paper=POLA.paper,
    presets={
        "tiny": Preset(
            model=_TINY_IMAGE, description="2 x 32-wide layers, 2-pixel patches, for tests."
        ),
        "small": Preset(
            model=_SMALL_IMAGE,
            description="2 x 64-wide layers, 2-pixel patches: small images such as digits (8 x 8).",
        ),
    },
    search_space=standard_space(1e-3),
    train_defaults=IMAGE_TRAIN_DEFAULTS,
)

DSP_IMAGE = ModelSpec(
    name="dsp-image",
    config=f"{_PKG}.config:DSPImageConfig",
    factory=f"{_PKG}.model:DSPImageClassifier",
    task="image-classification",
    input_kind="image",
    description="DSP-Attention image classifier: patch embedding, DSP-Attention on the patch grid.",
    paper=DSP.paper,
    presets={
        "tiny": Preset(
            model={**_TINY_IMAGE, "spectral_modes": 4, "num_scales": 2},
            description="2 x 32-wide layers, 2-pixel patches, 4 modes, 2 scales, for tests.",
        ),
        "small": Preset(
            model={**_SMALL_IMAGE, "spectral_modes": 4},
            description="2 x 64-wide layers, 2-pixel patches, 4 modes: small images such as digits.",
        ),
    },
    search_space=standard_space(1e-3),
    train_defaults=IMAGE_TRAIN_DEFAULTS,
)


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    for spec in (POLA, DSP, POLA_IMAGE, DSP_IMAGE):
        registry.add(spec)
