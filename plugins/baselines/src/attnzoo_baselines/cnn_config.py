"""Config of the ``cnn`` image baseline (pure pydantic: importing it never imports torch).

It subclasses :class:`attnzoo.config.ImageClassifierConfig`, whose ``num_classes``,
``image_size`` and ``in_channels`` the trainer fills in from the labels and the image processor.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from attnzoo.config import ImageClassifierConfig


class CNNConfig(ImageClassifierConfig):
    """A small CNN: stages of conv-BN-ReLU blocks, global average pooling, a linear head."""

    widths: list[int] = Field(
        default_factory=lambda: [32, 64, 128],
        min_length=1,
        description="Channels of each stage; every stage after the first halves the resolution.",
    )
    blocks_per_stage: int = Field(
        1, ge=1, description="conv-BN-ReLU blocks per stage (the first may downsample)."
    )
    kernel_size: int = Field(3, ge=1, description="Side of every convolution kernel (odd).")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on the pooled features.")

    @field_validator("widths")
    @classmethod
    def _positive(cls, widths: list[int]) -> list[int]:
        if any(w < 1 for w in widths):
            raise ValueError(f"every width must be >= 1, got {widths}")
        return widths

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, k: int) -> int:
        if k % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same padding), got {k}")
        return k
