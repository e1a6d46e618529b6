"""PolaFormer's polarity-aware linear attention, extended to masked 1-D sequences.

``PolaLinearAttention`` follows PolaFormer's official ``PolaLinearAttention`` (PVT variant,
sr_ratio 1; github.com/ZacharyMeng/PolaFormer) line by line: q/g and k/v projections, an
additive zero-initialised positional encoding on k, a softplus channel temperature, the power
feature map p = 1 + alpha * sigmoid(w), the polarity split into same- and opposite-signed
streams that each attend with one half of v, a depthwise convolution on the full v and the raw
linear gate. Two extensions (not in the official code, which only sees unpadded image tokens):

* ``ndim=1``: the depthwise convolution runs over tokens (Conv1d) instead of the patch grid,
  and the positional encoding is a ``(1, max_len, C)`` table sliced to the input length.
* padding masks: k features and v are zeroed at padded positions and every mean over keys is a
  sum over valid keys divided by the valid count, so padded keys have no influence and
  outputs at valid positions do not depend on how much padding the batch carries.

Shapes: B batch, N tokens, C = h * d channels, h heads of width d.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-6  # the official code's 1e-6 in 1 / (Q . mean(K) + 1e-6)


# ------------------------------------------------------------------------------------------
# Polarity features and the normalised linear attention (shared with DSP-Attention)
# ------------------------------------------------------------------------------------------


def polarity_features(u: torch.Tensor, power: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ReLU(u)^p, ReLU(-u)^p)``: both >= 0, and ``u = pos^(1/p) - neg^(1/p)``."""
    return F.relu(u) ** power, F.relu(-u) ** power


def split_streams(
    q: torch.Tensor, k: torch.Tensor, power: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``Q_s = [q+ | q-]``, ``Q_o = [q- | q+]``, ``K = [k+ | k-]``, each (..., 2d).

    ``Q_s . K = q+.k+ + q-.k-`` (same-signed) and ``Q_o . K = q-.k+ + q+.k-`` (opposite-signed).
    """
    q_pos, q_neg = polarity_features(q, power)
    k_pos, k_neg = polarity_features(k, power)
    return (
        torch.cat([q_pos, q_neg], dim=-1),
        torch.cat([q_neg, q_pos], dim=-1),
        torch.cat([k_pos, k_neg], dim=-1),
    )


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    count: torch.Tensor,
    *,
    normalise: str,
    kernel: str = "torch",
) -> torch.Tensor:
    """Normalised kernel attention in O(N d^2): ``q (K^T v) / (q . sum K + eps')``.

    ``q`` (B, h, N, f), ``k`` (B, h, n, f) and ``v`` (B, h, n, e) zero at padded keys; ``count``
    (B, 1, 1, 1) valid keys per row. ``normalise="mean"`` is PolaFormer's form (K^T v / n and
    mean K, the 1/n split as n^-1/2 on each factor); ``"sum"`` is DSP-Attention's (plain sums).
    ``kernel="flash_bla"`` computes the same with flash_bla's fused Triton kernel (CUDA).
    """
    if kernel == "flash_bla":
        return flash_bla_linear_attention(q, k, v, count, normalise=normalise)
    if normalise == "mean":
        kv = (k.transpose(-2, -1) * count.rsqrt()) @ (v * count.rsqrt())  # (B, h, f, e)
        k_bar = k.sum(-2, keepdim=True) / count  # (B, h, 1, f)
    else:
        kv = k.transpose(-2, -1) @ v
        k_bar = k.sum(-2, keepdim=True)
    z = 1.0 / (q @ k_bar.transpose(-2, -1) + EPS)  # (B, h, N, 1)
    return (q @ kv) * z


FLASH_BLA_INSTALL = (
    "pip install git+https://github.com/fla-org/flash-bidirectional-linear-attention "
    "(Triton, CUDA; not on PyPI)"
)


def flash_bla_linear_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, count: torch.Tensor, *, normalise: str
) -> torch.Tensor:
    """:func:`linear_attention` on flash_bla's non-causal fused kernel.

    The kernel computes ``q (K^T v) s / (q . mean_L K + eps)`` over the padded length L with one
    scalar s. Rescaling K per row by ``L / count`` ("mean") or by ``L`` ("sum") and taking
    ``s = 1 / L`` gives exactly the masked formula above, eps included.
    """
    if not q.is_cuda:
        raise ValueError(
            "kernel='flash_bla' runs on CUDA tensors only; use kernel='torch' (the default) here."
        )
    try:
        from flash_bla.ops.linear_attn.fused import linear_attention as fused
    except ImportError as err:
        raise ImportError(f"kernel='flash_bla' needs flash_bla: {FLASH_BLA_INSTALL}.") from err
    k_scaled, scale = flash_bla_inputs(k, count, normalise)
    return fused(q, k_scaled, v, scale=scale, eps=EPS)


def flash_bla_inputs(
    k: torch.Tensor, count: torch.Tensor, normalise: str
) -> tuple[torch.Tensor, float]:
    """The keys and scalar scale that make flash_bla's formula equal :func:`linear_attention`."""
    length = k.shape[-2]
    factor = length / count if normalise == "mean" else torch.full_like(count, float(length))
    return k * factor.to(k.dtype), 1.0 / length


def implied_attention(
    q: torch.Tensor, k: torch.Tensor, count: torch.Tensor, *, normalise: str
) -> torch.Tensor:
    """The (B, h, N, n) matrix A with ``linear_attention(q, k, v) == A @ v`` (quadratic reference).

    ``A_ij = q_i . k_j / (sum_j q_i . k_j + eps * n_valid)`` for "mean" (``+ eps`` for "sum"):
    non-negative, rows summing to one up to the eps term.
    """
    scores = q @ k.transpose(-2, -1)  # (B, h, N, n)
    eps = EPS * count if normalise == "mean" else EPS
    return scores / (scores.sum(-1, keepdim=True) + eps)


def masked_count(mask: torch.Tensor | None, b: int, n: int, device: torch.device) -> torch.Tensor:
    """Valid keys per row as a (B, 1, 1, 1) float tensor (at least 1)."""
    if mask is None:
        return torch.full((b, 1, 1, 1), float(n), device=device)
    return mask.sum(-1).clamp_min(1).to(torch.float32).view(b, 1, 1, 1)


# ------------------------------------------------------------------------------------------
# Depthwise convolution on the token sequence or the patch grid (heads folded into batch)
# ------------------------------------------------------------------------------------------


def depthwise_conv(channels: int, kernel_size: int, ndim: int) -> nn.Module:
    conv = nn.Conv1d if ndim == 1 else nn.Conv2d
    return conv(
        channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=True
    )


def apply_per_head(conv: nn.Module, v: torch.Tensor, grid: tuple[int, int] | None) -> torch.Tensor:
    """Run a d-channel depthwise ``conv`` on v (B, h, N, d) with heads folded into the batch."""
    b, h, n, d = v.shape
    x = v.transpose(-2, -1).reshape(b * h, d, n)  # (B*h, d, N)
    if grid is not None:
        x = x.reshape(b * h, d, *grid)  # (B*h, d, H, W)
    return conv(x).reshape(b, h, d, n).transpose(-2, -1)  # (B, h, N, d)


def check_grid(n: int, grid: tuple[int, int] | None, ndim: int) -> None:
    if ndim == 2 and (grid is None or grid[0] * grid[1] != n):
        raise ValueError(
            f"2-D attention needs grid=(H, W) with H * W equal to the {n} tokens, got {grid}; "
            f"pass the patch grid of the input."
        )
    if ndim == 1 and grid is not None:
        raise ValueError("grid is only for 2-D attention; build the module with ndim=2.")


# ------------------------------------------------------------------------------------------
# PolaFormer
# ------------------------------------------------------------------------------------------


class PolaLinearAttention(nn.Module):
    """PolaFormer polarity-aware linear attention (official PVT module, sr_ratio 1) with masks.

    Args:
        dim: channels C. num_heads: h (d = C / h even). max_len: length of the positional
        encoding table (num_patches for images). ndim: 1 (tokens, Conv1d) or 2 (patch grid,
        Conv2d). qkv_bias, proj_drop, kernel_size, alpha: as in the official module.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        max_len: int,
        *,
        ndim: int = 1,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        kernel_size: int = 5,
        alpha: float = 4.0,
        kernel: str = "torch",
    ) -> None:
        super().__init__()
        if dim % num_heads or (dim // num_heads) % 2:
            raise ValueError(f"dim={dim} / num_heads={num_heads} must be an even integer.")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.ndim, self.alpha, self.max_len, self.kernel = ndim, alpha, max_len, kernel
        self.qg = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dwc = depthwise_conv(self.head_dim, kernel_size, ndim)
        self.power = nn.Parameter(torch.zeros(1, num_heads, 1, self.head_dim))
        self.scale = nn.Parameter(torch.zeros(1, 1, dim))
        self.positional_encoding = nn.Parameter(torch.zeros(1, max_len, dim))

    def p(self) -> torch.Tensor:
        """Channel-wise power p = 1 + alpha * sigmoid(power), shape (1, h, 1, d)."""
        return 1 + self.alpha * torch.sigmoid(self.power)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.reshape(b, n, self.num_heads, self.head_dim).transpose(1, 2)  # (B, h, N, d)

    def streams(self, x: torch.Tensor, mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Steps 1-8 of the forward pass: gate, the three feature streams, v, the valid count."""
        b, n, c = x.shape
        if n > self.max_len:
            raise ValueError(
                f"Input length {n} exceeds the positional-encoding length {self.max_len}; truncate "
                f"the input or build the model with a larger max_seq_len."
            )
        q, g = self.qg(x).reshape(b, n, 2, c).unbind(2)
        k, v = self.kv(x).reshape(b, n, 2, c).unbind(2)
        k = k + self.positional_encoding[:, :n]
        s = F.softplus(self.scale)  # ln 2 at init
        q, k, v = self._heads(q / s), self._heads(k / s), self._heads(v)
        q_sim, q_opp, kk = split_streams(q, k, self.p())
        if mask is not None:
            keep = mask[:, None, :, None].to(x.dtype)  # (B, 1, N, 1)
            kk, v = kk * keep, v * keep
        return {
            "g": g,
            "q_sim": q_sim,
            "q_opp": q_opp,
            "k": kk,
            "v": v,
            "count": masked_count(mask, b, n, x.device),
        }

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        grid: tuple[int, int] | None = None,
        *,
        quadratic: bool = False,
    ) -> torch.Tensor:
        """``x`` (B, N, C); ``mask`` (B, N), nonzero at real tokens; ``grid`` (H, W) for ndim=2.

        ``quadratic=True`` materialises the implied (N x N) attention instead (a test reference).
        """
        b, n, c = x.shape
        check_grid(n, grid, self.ndim)
        st = self.streams(x, mask)
        v1, v2 = torch.chunk(st["v"], 2, dim=-1)
        if quadratic:
            x_sim = implied_attention(st["q_sim"], st["k"], st["count"], normalise="mean") @ v1
            x_opp = implied_attention(st["q_opp"], st["k"], st["count"], normalise="mean") @ v2
        else:
            x_sim, x_opp = (
                linear_attention(
                    q, st["k"], v_half, st["count"], normalise="mean", kernel=self.kernel
                )
                for q, v_half in ((st["q_sim"], v1), (st["q_opp"], v2))
            )
        out = torch.cat([x_sim, x_opp], dim=-1)  # (B, h, N, d)
        out = out + apply_per_head(self.dwc, st["v"], grid)  # local branch on the full v
        out = out.transpose(1, 2).reshape(b, n, c) * st["g"]  # raw linear gate
        return self.proj_drop(self.proj(out))

    @torch.no_grad()
    def attention_maps(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The implied same- and opposite-signed attention matrices, each (B, h, N, N)."""
        st = self.streams(x, mask)
        return (
            implied_attention(st["q_sim"], st["k"], st["count"], normalise="mean"),
            implied_attention(st["q_opp"], st["k"], st["count"], normalise="mean"),
        )


def trunc_normal_init(module: nn.Module) -> None:
    """PolaFormer/PVT init: trunc_normal(0.02) Linear weights, zero bias, LayerNorm (1, 0).

    Convolutions use fan-out normal init as in PVT; power, scale and positional encoding stay 0.
    """
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv1d | nn.Conv2d):
        fan_out = math.prod(module.kernel_size) * module.out_channels // module.groups
        nn.init.normal_(module.weight, std=math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
