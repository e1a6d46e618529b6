"""Building blocks of CTR models (DeepFM, DIN, DCNv3, ...): field embeddings, MLPs, Dice.

Conventions follow FuxiCTR (reczoo/FuxiCTR): embeddings start at N(0, 1e-4), linear layers
at Xavier-normal with zero bias, and the embedding regulariser is ``(lambda / 2) * ||W||^2``
summed over every embedding table (the whole table, not only the rows a batch looks up),
added to the loss at every step (FuxiCTR's ``embedding_regularizer``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from attnzoo.config import CTRConfig

EMBEDDING_INIT_STD = 1e-4


class FieldEmbeddings(nn.Module):
    """A ``dim``-wide vector per categorical value, per numeric field and per sequence value.

    Categorical fields share one table (a field's ids are offset past the fields before it);
    padding (id 0) embeds to zeros. A numeric field ``x`` embeds as ``x * v``. A sequence
    looks its ids up in the table of the field it shares (the candidate item and the items
    in the history are one vocabulary), or in its own table.
    """

    def __init__(self, config: CTRConfig, dim: int) -> None:
        super().__init__()
        sizes = list(config.categorical_sizes.values())
        names = list(config.categorical_sizes)
        starts = torch.tensor([0, *sizes[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", starts if sizes else torch.zeros(0, dtype=torch.long))
        self.start_of = {n: int(s) for n, s in zip(names, starts.tolist(), strict=False)}
        self.categorical = nn.Embedding(max(sum(sizes), 1), dim)
        self.numeric = nn.Parameter(torch.empty(len(config.numeric_fields), dim))
        self.shares = dict(config.sequence_fields)
        self.own = nn.ModuleDict(
            {
                name: nn.Embedding(config.sequence_sizes[name], dim)
                for name, shares in config.sequence_fields.items()
                if shares == name
            }
        )
        for p in self.parameters():
            nn.init.normal_(p, std=EMBEDDING_INIT_STD)

    def fields(self, categorical: torch.Tensor) -> torch.Tensor:
        """(B, F) ids -> (B, F, dim)."""
        offsets: torch.Tensor = self.offsets  # type: ignore[assignment]  # a registered buffer
        emb = self.categorical(categorical + offsets)
        return emb * (categorical != 0).unsqueeze(-1).to(emb.dtype)

    def numbers(self, numeric: torch.Tensor) -> torch.Tensor:
        """(B, N) values -> (B, N, dim)."""
        return numeric.to(self.numeric.dtype).unsqueeze(-1) * self.numeric

    def sequence(self, name: str, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L) ids of sequence ``name`` -> (B, L, dim), zeros where ``mask`` is 0."""
        shares = self.shares[name]
        if shares == name:
            emb = self.own[name](ids)
        else:
            emb = self.categorical(ids + self.start_of[shares])
        return emb * mask.unsqueeze(-1).to(emb.dtype)

    def l2(self) -> torch.Tensor:
        """Sum of squares of every table (the regulariser's ``||W||^2``)."""
        return sum((p.pow(2).sum() for p in self.parameters()), torch.zeros(()))


def mean_pool(emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, d) masked embeddings -> their mean over the valid positions (0 when none)."""
    count = mask.to(emb.dtype).sum(1, keepdim=True).clamp_min(1.0)
    return emb.sum(1) / count


class Dice(nn.Module):
    """Dice (Zhou et al. 2018): ``p * x + alpha * (1 - p) * x`` with ``p = sigmoid(BN(x))``.

    The batch statistics need two rows or more; a smaller training batch uses the running
    ones (so a last batch of one row trains instead of failing). FuxiCTR's running statistics
    move with momentum 0.01, which suits millions of steps; on a small dataset (40 steps per
    epoch on ml-100k) they would still be far from the data's after an epoch and evaluation
    (which uses them) would be miscalibrated, so the default is PyTorch's 0.1.
    """

    def __init__(self, dim: int, eps: float = 1e-9, momentum: float = 0.1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(dim, eps=eps, momentum=momentum, affine=False)
        self.alpha = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] < 2:
            normed = F.batch_norm(
                x, self.bn.running_mean, self.bn.running_var, training=False, eps=self.bn.eps
            )
        else:
            normed = self.bn(x)
        p = torch.sigmoid(normed)
        return p * x + self.alpha * (1 - p) * x


def activation(name: str, dim: int) -> nn.Module:
    if name == "dice":
        return Dice(dim)
    if name == "prelu":
        return nn.PReLU(dim)
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"unknown activation {name!r}")


class MLP(nn.Module):
    """Hidden layers (Linear, optional BatchNorm, activation, dropout), then a Linear to ``out``."""

    def __init__(
        self,
        dim: int,
        units: Sequence[int],
        act: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        out: int = 1,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in units:
            layers.append(nn.Linear(dim, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(activation(act, width))
            if dropout:
                layers.append(nn.Dropout(dropout))
            dim = width
        layers.append(nn.Linear(dim, out))
        self.net = nn.Sequential(*layers)
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def bce_with_embedding_l2(
    logits: torch.Tensor, labels: torch.Tensor, tables: Sequence[FieldEmbeddings], lam: float
) -> torch.Tensor:
    """Binary cross-entropy plus FuxiCTR's embedding regulariser ``(lam / 2) * ||W||^2``."""
    loss = F.binary_cross_entropy_with_logits(logits.float().reshape(-1), labels.float())
    if lam:
        loss = loss + (lam / 2) * sum(t.l2() for t in tables)
    return loss
