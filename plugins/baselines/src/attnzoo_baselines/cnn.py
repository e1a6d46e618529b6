"""A small convolutional image classifier: the image baseline of the zoo.

The classic recipe (VGG-style blocks with batch normalisation; Simonyan & Zisserman 2015,
Ioffe & Szegedy 2015): stages of conv-BN-ReLU blocks, the first block of every stage after the
first with stride 2, global average pooling (Lin et al. 2014, Network in Network), dropout and
a linear head. Global pooling makes it work at any input size, from 8x8 digits up.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo_baselines.cnn_config import CNNConfig


class ConvBlock(nn.Sequential):
    """conv (no bias: BN has one) -> BatchNorm -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size, stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class CNNClassifier(nn.Module):
    """``pixel_values`` (B, C, H, W) -> stages -> global average pool -> dropout -> linear."""

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        self.config = config
        blocks: list[nn.Module] = []
        c_in = config.in_channels
        for stage, width in enumerate(config.widths):
            for i in range(config.blocks_per_stage):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(ConvBlock(c_in, width, config.kernel_size, stride))
                c_in = width
        self.features = nn.Sequential(*blocks)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(c_in, config.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # He initialisation for ReLU networks (He et al. 2015), as torchvision's ResNets do
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, pixel_values: torch.Tensor, **_: object) -> dict[str, torch.Tensor]:
        x = self.features(pixel_values)  # (B, widths[-1], H', W')
        pooled = x.mean(dim=(2, 3))  # (B, widths[-1])
        return {"logits": self.head(self.drop(pooled))}
