"""Configuration of the attention-free diffusion classifier (pbanavara/attention-free-diffusion)."""

from __future__ import annotations

from pydantic import Field, model_validator

from attnzoo.config import TextClassifierConfig


class DiffusionConfig(TextClassifierConfig):
    """Hyper-parameters of :class:`attnzoo_diffusion.model.DiffusionClassifier`.

    Defaults are the seed's ``run_experiment`` (``attention_free_diffusion_improved.py``):
    D = 256, T = 4, alpha = 0.5, train-only noise 0.05, dropout 0.1, circular neighbours,
    padding taking part in the diffusion, inputs up to 4096 tokens; except the initialisation:
    xavier gain 1.0, not the seed's 0.02, which collapses the trained model to rank one (the
    ``seed`` preset keeps 0.02; see the README).
    """

    d_model: int = Field(256, ge=1, description="Embedding / state width D (the seed's embed_dim).")
    num_iters: int = Field(
        4, ge=1, description="Diffusion steps T; the weights are shared by every step."
    )
    alpha: float = Field(
        0.5, ge=0.0, le=1.0, description="Residual weight: h <- LN(alpha*h + (1-alpha)*MLP(...))."
    )
    noise_std: float = Field(
        0.05,
        ge=0.0,
        description="Std of the Gaussian noise added to the embeddings in training only.",
    )
    dropout: float = Field(
        0.1, ge=0.0, lt=1.0, description="Dropout inside the update MLP and the classifier head."
    )
    init_gain: float = Field(
        1.0,
        gt=0.0,
        description="xavier_normal_ gain of every Linear. The seed's 0.02 (preset 'seed') leaves "
        "the trained features on about one direction (rank collapse); 1.0 is the standard gain.",
    )
    circular: bool = Field(
        True,
        description="Neighbours wrap around the sequence (position 0 sees L-1), as in the seed. "
        "False when mask_in_diffusion is on (masked mode never wraps; True is rejected there).",
    )
    mask_in_diffusion: bool = Field(
        False,
        description="Zero padded positions before every step and use non-circular shifts, so padding never "
        "reaches real tokens. Off by default: in the seed pads take full part and the mask only enters pooling.",
    )
    recompute: bool = Field(
        False,
        description="Activation checkpointing of each step in the backward pass: stores one (B, L, D) state per "
        "step instead of all intermediates, at the cost of one extra forward.",
    )
    fused: bool = Field(
        True,
        description="Efficient path (one (D, 3D) matmul, shifted outputs, hand-written backward). False: the "
        "seed-style reference (three Linear layers on rolled copies). Same weights, same outputs.",
    )
    max_seq_len: int = Field(
        4096, ge=1, description="Longest input; the model has no positions, this only plans memory."
    )

    @model_validator(mode="after")
    def _check_shift_mode(self) -> DiffusionConfig:
        if not (self.mask_in_diffusion and self.circular):
            return self
        if "circular" not in self.model_fields_set:
            # the default True does not apply in masked mode: store what is used, so a saved
            # config.json reloads (it would otherwise hold an explicit circular=True)
            self.__dict__["circular"] = False
            return self
        raise ValueError(
            "circular=True contradicts mask_in_diffusion=True (masked mode always uses non-circular "
            "shifts, otherwise position 0 would see the last real token of an unpadded row). Drop "
            "circular=True or set mask_in_diffusion=False. A config.json saved by attnzoo-diffusion "
            "0.1.0 with mask_in_diffusion true holds circular true: set it to false there."
        )

    @property
    def uses_circular_shift(self) -> bool:
        """Whether the neighbour shift wraps around (never in masked mode)."""
        return self.circular and not self.mask_in_diffusion
