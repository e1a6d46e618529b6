"""DSP-Attention (Dynamic Spectral Polarity attention), made to run, masked and linear-time.

The published file (Hassan48khan/Dynamic-Spectral-Polarity-Linear-Attention-DSP-Attention-)
crashes on its own example; this module keeps its components and fixes what cannot run (the
package README lists every deviation and why):

* ``SpectralPolarityMixer``: the truncated rfft2 filter, vectorised (two einsums over the kept
  modes, no Python loops); the mode mix is a per-head softmax over token modes applied inside
  the spectrum (the published broadcast of ``softmax(mix)`` against (B, h, N, d) crashes).
  The token DFT uses each row's own valid length, so padded rows give the same result as
  unpadded ones.
* ``hierarchical``: pooling along tokens by 2^s to ceil(N / 2^s) and linear interpolation back
  to N (the published Linear(C / 2^s -> C) cannot be applied to the pooled tensor).
* ``ContextEncoder``: per-head scale coefficients; ``"seed"`` keeps the BiLSTM and softmax
  self-attention (O(N^2), sequential in N), ``"mean"`` uses the token mean only (linear).
* the scale mixer covers all S scales (the published one mixes two and drops the rest).
* ``MultiKernelConv``: depthwise kernels k, k + 2, k + 4, 1-D over tokens or 2-D on the grid.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from attnzoo_dsp.layers import (
    apply_per_head,
    check_grid,
    depthwise_conv,
    linear_attention,
    masked_count,
    split_streams,
)


def _exporting() -> bool:
    """True while ``torch.export`` / ``torch.onnx`` trace the model (``attnzoo export``)."""
    return bool(torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export())


# ------------------------------------------------------------------------------------------
# Spectral polarity mixer
# ------------------------------------------------------------------------------------------


def token_dft_basis(
    lengths: torch.Tensor, n: int, modes: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``exp(-2 pi i m t / n_b)`` for t < n_b and m < min(modes, n_b), else 0: (B, M, N) complex."""
    t = torch.arange(n, device=lengths.device, dtype=dtype)
    m = torch.arange(modes, device=lengths.device, dtype=dtype)
    nb = lengths.to(dtype).clamp_min(1)[:, None, None]  # (B, 1, 1)
    phase = 2 * math.pi * m[None, :, None] * t[None, None, :] / nb  # (B, M, N)
    valid = (t[None, None, :] < nb) & (m[None, :, None] < nb)
    return torch.polar(valid.to(dtype), -phase)


class SpectralPolarityMixer(nn.Module):
    """Filter q (or k) in the truncated 2-D spectrum over (tokens, channels), shared by scales.

    With one row of valid length N this is exactly
    ``irfft2(rfft2(u)[:M, :M] * (w+ + w- * softmax(mix)), s=(N, d))``: M non-negative token
    frequencies and the first M channel frequencies (the seed's asymmetric low-pass).
    """

    def __init__(self, num_heads: int, head_dim: int, modes: int) -> None:
        super().__init__()
        self.modes, self.head_dim = modes, head_dim
        self.channel_modes = min(modes, head_dim // 2 + 1)
        # the seed's (h, M, d, 2) weights of which only [:, :M, :M] are used
        self.weights_pos = nn.Parameter(0.02 * torch.randn(num_heads, modes, modes, 2))
        self.weights_neg = nn.Parameter(0.02 * torch.randn(num_heads, modes, modes, 2))
        self.mix = nn.Parameter(torch.ones(num_heads, modes))

    def spectrum_weights(self, token_modes: int) -> torch.Tensor:
        """``w+ + w- * softmax_m(mix)`` for the kept modes, (h, Mt, Mc) complex."""
        mc = self.channel_modes
        w_pos = torch.view_as_complex(self.weights_pos)[:, :token_modes, :mc]
        w_neg = torch.view_as_complex(self.weights_neg)[:, :token_modes, :mc]
        mode_mix = torch.softmax(self.mix, dim=-1)[:, :token_modes, None]  # (h, Mt, 1)
        return w_pos + w_neg * mode_mix

    def forward(self, u: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``u`` (B, h, N, d), zero at padded tokens; ``lengths`` (B,) valid tokens per row."""
        if _exporting():
            return self.forward_real(u, lengths)
        b, h, n, d = u.shape
        mt, mc = min(self.modes, n), self.channel_modes
        real = torch.promote_types(u.dtype, torch.float32)  # FFTs in float32 at least
        basis = token_dft_basis(lengths, n, mt, real)  # (B, Mt, N)
        uc = torch.fft.rfft(u.to(real), dim=-1)[..., :mc]  # (B, h, N, Mc)
        spec = torch.einsum("bmt,bhtc->bhmc", basis, uc)  # (B, h, Mt, Mc)
        spec = spec * self.spectrum_weights(mt).to(spec.dtype)
        nb = lengths.to(real).clamp_min(1).view(b, 1, 1, 1)
        z = torch.einsum("bmt,bhmc->bhtc", basis.conj(), spec) / nb  # inverse token DFT
        z = torch.cat([z, z.new_zeros(b, h, n, d // 2 + 1 - mc)], dim=-1)
        return torch.fft.irfft(z, n=d, dim=-1).to(u.dtype)  # (B, h, N, d)

    def forward_real(self, u: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The same filter in real arithmetic (each complex tensor as its real and imaginary
        parts; the channel rfft / irfft as DFT matrices over the kept modes). ONNX has no
        complex tensors, so ``attnzoo export`` traces this form; tested equal to ``forward``."""
        b, h, n, d = u.shape
        mt, mc = min(self.modes, n), self.channel_modes
        real = torch.promote_types(u.dtype, torch.float32)
        t = torch.arange(n, device=u.device, dtype=real)
        m = torch.arange(mt, device=u.device, dtype=real)
        nb = lengths.to(real).clamp_min(1)[:, None, None]  # (B, 1, 1)
        phase = 2 * math.pi * m[None, :, None] * t[None, None, :] / nb  # (B, Mt, N)
        valid = ((t[None, None, :] < nb) & (m[None, :, None] < nb)).to(real)
        br, bi = valid * torch.cos(phase), -valid * torch.sin(phase)  # the token DFT basis
        j = torch.arange(d, device=u.device, dtype=real)
        c = torch.arange(mc, device=u.device, dtype=real)
        angle = 2 * math.pi * j[:, None] * c[None, :] / d  # (d, Mc)
        cos, sin = torch.cos(angle), torch.sin(angle)
        x = u.to(real)
        ur, ui = x @ cos, -(x @ sin)  # rfft over channels, first Mc modes: (B, h, N, Mc)
        sr = torch.einsum("bmt,bhtc->bhmc", br, ur) - torch.einsum("bmt,bhtc->bhmc", bi, ui)
        si = torch.einsum("bmt,bhtc->bhmc", br, ui) + torch.einsum("bmt,bhtc->bhmc", bi, ur)
        mix = torch.softmax(self.mix, dim=-1)[:, :mt, None]  # (h, Mt, 1)
        wp, wn = self.weights_pos[:, :mt, :mc], self.weights_neg[:, :mt, :mc]
        wr, wi = (wp[..., 0] + wn[..., 0] * mix).to(real), (wp[..., 1] + wn[..., 1] * mix).to(real)
        pr, pi = sr * wr - si * wi, sr * wi + si * wr
        scale = lengths.to(real).clamp_min(1).view(b, 1, 1, 1)
        zr = (
            torch.einsum("bmt,bhmc->bhtc", br, pr) + torch.einsum("bmt,bhmc->bhtc", bi, pi)
        ) / scale
        zi = (
            torch.einsum("bmt,bhmc->bhtc", br, pi) - torch.einsum("bmt,bhmc->bhtc", bi, pr)
        ) / scale
        # irfft(n=d) of modes 0..Mc-1 (the rest zero): DC and Nyquist once, the others twice
        weight = torch.full((mc,), 2.0, device=u.device, dtype=real)
        weight[0] = 1.0
        if d % 2 == 0 and mc == d // 2 + 1:
            weight[-1] = 1.0
        out = (zr @ (weight[:, None] * cos.T) - zi @ (weight[:, None] * sin.T)) / d
        return out.to(u.dtype)  # (B, h, N, d)


# ------------------------------------------------------------------------------------------
# Hierarchical polarity processor: pool along tokens, interpolate back
# ------------------------------------------------------------------------------------------


def pool_and_interpolate(u: torch.Tensor, mask: torch.Tensor | None, factor: int) -> torch.Tensor:
    """Masked mean over windows of ``factor`` tokens, then linear interpolation back to N.

    The interpolation uses the exact ``factor`` (positions map as (t + 0.5) / factor - 0.5)
    and ignores windows with no valid token (normalised interpolation), so a valid position's
    value does not depend on how many pads follow.
    """
    if factor == 1:
        return u
    b, h, n, d = u.shape
    cells = (n + factor - 1) // factor  # ceil; -(-n // f) exported to a wrong count in ONNX
    extra = cells * factor - n
    m = u.new_ones(b, n) if mask is None else mask.to(u.dtype)
    s = F.pad(u * m[:, None, :, None], (0, 0, 0, extra)).view(b, h, cells, factor, d).sum(3)
    c = F.pad(m, (0, extra)).view(b, cells, factor).sum(2)  # (B, cells)
    valid = (c > 0).to(u.dtype)
    pooled = s / c.clamp_min(1)[:, None, :, None] * valid[:, None, :, None]  # (B, h, cells, d)
    flat = pooled.permute(0, 1, 3, 2).reshape(b, h * d, cells)
    up = F.interpolate(flat, scale_factor=factor, mode="linear", align_corners=False)
    w = F.interpolate(valid[:, None, :], scale_factor=factor, mode="linear", align_corners=False)
    up = (up / w.clamp_min(1e-12))[..., :n]  # (B, h*d, N)
    return up.reshape(b, h, d, n).permute(0, 1, 3, 2)


# ------------------------------------------------------------------------------------------
# Dynamic context encoder: per-head, per-scale coefficients
# ------------------------------------------------------------------------------------------


def masked_mean_tokens(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return x.mean(1)
    m = mask.to(x.dtype)[..., None]
    return (x * m).sum(1) / m.sum(1).clamp_min(1)


class ContextEncoder(nn.Module):
    """``c = sigmoid(MLP(context(x)))``, shape (B, h, S): one coefficient per head and scale.

    ``"seed"``: mean + mean BiLSTM (C/4 per direction, zero-padded to C) + mean softmax MHA with
    h // 2 heads (O(N^2)). ``"mean"``: the masked token mean alone (linear time).
    """

    def __init__(self, dim: int, num_heads: int, num_scales: int, kind: str) -> None:
        super().__init__()
        self.kind, self.num_heads, self.num_scales = kind, num_heads, num_scales
        if kind == "seed":
            self.lstm = nn.LSTM(dim, dim // 4, batch_first=True, bidirectional=True)
            mha_heads = max(h for h in range(1, max(1, num_heads // 2) + 1) if dim % h == 0)
            self.mha = nn.MultiheadAttention(dim, mha_heads, batch_first=True)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim // 2), nn.ReLU(), nn.Linear(dim // 2, num_heads * num_scales)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, n, c = x.shape
        ctx = masked_mean_tokens(x, mask)
        if self.kind == "seed":
            ctx = ctx + F.pad(self._lstm(x, mask), (0, c - 2 * (c // 4)))
            pad = None if mask is None else ~mask.bool()
            att, _ = self.mha(x, x, x, key_padding_mask=pad)  # the seed call: weights returned
            ctx = ctx + masked_mean_tokens(att, mask)
        return torch.sigmoid(self.mlp(ctx)).view(b, self.num_heads, self.num_scales)

    def _lstm(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if mask is None:
            return self.lstm(x)[0].mean(1)
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = nn.utils.rnn.pad_packed_sequence(
            self.lstm(packed)[0], batch_first=True, total_length=x.shape[1]
        )
        return masked_mean_tokens(out, mask)


# ------------------------------------------------------------------------------------------
# Multi-kernel depthwise convolution
# ------------------------------------------------------------------------------------------


class MultiKernelConv(nn.Module):
    """Depthwise convolutions with kernels k, k + 2, k + 4 mixed by softmax(mode_weights)."""

    def __init__(self, head_dim: int, kernel_size: int, ndim: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            depthwise_conv(head_dim, kernel_size + 2 * i, ndim) for i in range(3)
        )
        self.mode_weights = nn.Parameter(torch.zeros(3))

    def forward(self, u: torch.Tensor, grid: tuple[int, int] | None) -> torch.Tensor:
        w = torch.softmax(self.mode_weights, 0)
        return sum(w[i] * apply_per_head(conv, u, grid) for i, conv in enumerate(self.convs))


# ------------------------------------------------------------------------------------------
# DSP-Attention
# ------------------------------------------------------------------------------------------


class DSPAttention(nn.Module):
    """Dynamic Spectral Polarity attention over (B, N, C), 1-D tokens or a 2-D patch grid.

    Per scale s < S: qkv_s(x) -> spectral filter on q, k -> pool/interpolate by 2^s -> polarity
    features with p_s = 1 + |w_s| (init 1 / 2^s) -> same/opposite-signed normalised linear
    attention on the halves of v -> times the context coefficient c[:, :, s]. The scales are
    mixed, a multi-kernel depthwise convolution is added, then LayerNorm, Linear, Dropout.
    """

    grad_norm_ema: torch.Tensor

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        ndim: int = 1,
        qkv_bias: bool = False,
        proj_drop: float = 0.0,
        kernel_size: int = 5,
        spectral_modes: int = 16,
        num_scales: int = 3,
        context: str = "mean",
        scale_mixer: str = "softmax",
        adaptive_beta: float = 0.1,
        temperature: str = "inside",
        power: str = "seed",
        alpha: float = 4.0,
        kernel: str = "torch",
    ) -> None:
        super().__init__()
        if dim % num_heads or (dim // num_heads) % 2:
            raise ValueError(f"dim={dim} / num_heads={num_heads} must be an even integer.")
        self.kernel = kernel
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.ndim, self.num_scales = ndim, num_scales
        self.scale_mixer, self.adaptive_beta, self.temperature = (
            scale_mixer,
            adaptive_beta,
            temperature,
        )
        self.context = ContextEncoder(dim, num_heads, num_scales, context)
        self.multi_scale_qkv = nn.ModuleList(
            nn.Linear(dim, 3 * dim, bias=qkv_bias) for _ in range(num_scales)
        )
        self.spectral = SpectralPolarityMixer(num_heads, self.head_dim, spectral_modes)
        self.power, self.alpha = power, alpha
        # p_s starts at 1 + 1 / 2^s (2, 1.5, 1.25, ...): "seed" p = 1 + |w| with w = 1 / 2^s;
        # "pola" p = 1 + alpha * sigmoid(w) with the w that gives the same p
        if power == "pola" and alpha <= 1:
            raise ValueError(f"power='pola' needs alpha > 1 to start at p = 2, got alpha={alpha}.")
        init = [
            0.5**s if power == "seed" else -math.log(alpha * 2**s - 1) for s in range(num_scales)
        ]
        self.power_weights = nn.Parameter(
            torch.stack([torch.full((num_heads, self.head_dim), w) for w in init])
        )
        if temperature == "inside":
            self.scale_temperatures = nn.Parameter(
                torch.tensor([1.0 / (s + 1) for s in range(num_scales)])
            )
        self.mix_logits = nn.Parameter(torch.zeros(num_scales))
        self.register_buffer("grad_norm_ema", torch.ones(num_scales))
        self.conv = MultiKernelConv(self.head_dim, kernel_size, ndim)
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.reshape(b, n, self.num_heads, self.head_dim).transpose(1, 2)  # (B, h, N, d)

    def p(self, s: int) -> torch.Tensor:
        """Channel-wise power of scale ``s``, shape (1, h, 1, d)."""
        w = self.power_weights[s]
        p = 1 + (w.abs() if self.power == "seed" else self.alpha * torch.sigmoid(w))
        return p[None, :, None, :]

    def scale_weights(self) -> torch.Tensor:
        """Mixing weights of the S scales (sum to one)."""
        w = torch.softmax(self.mix_logits, 0)
        if self.scale_mixer == "grad_ema":
            w = w * (self.grad_norm_ema / self.grad_norm_ema.sum())
            w = w / w.sum()
        return w

    def _record_grad_norm(self, s: int, grad: torch.Tensor) -> None:
        with torch.no_grad():
            beta = self.adaptive_beta
            self.grad_norm_ema[s] = (1 - beta) * self.grad_norm_ema[s] + beta * grad.norm()

    def scale_output(
        self, s: int, x: torch.Tensor, mask: torch.Tensor | None, lengths: torch.Tensor
    ) -> torch.Tensor:
        """One scale's polarity attention, (B, h, N, d), before the context coefficient."""
        b, n, c = x.shape
        q, k, v = (self._heads(t) for t in self.multi_scale_qkv[s](x).chunk(3, dim=-1))
        keep = None if mask is None else mask[:, None, :, None].to(x.dtype)
        if keep is not None:
            q, k, v = q * keep, k * keep, v * keep
        q, k = self.spectral(q, lengths), self.spectral(k, lengths)
        q = pool_and_interpolate(q, mask, 2**s)
        k = pool_and_interpolate(k, mask, 2**s)
        if self.temperature == "inside":
            tau = F.softplus(self.scale_temperatures[s])
            q, k = q / tau, k / tau
        q_sim, q_opp, kk = split_streams(q, k, self.p(s))
        if keep is not None:
            kk = kk * keep
        count = masked_count(mask, b, n, x.device)
        v1, v2 = torch.chunk(v, 2, dim=-1)
        return torch.cat(
            [
                linear_attention(q_sim, kk, v1, count, normalise="sum", kernel=self.kernel),
                linear_attention(q_opp, kk, v2, count, normalise="sum", kernel=self.kernel),
            ],
            dim=-1,
        )

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        grid: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """``x`` (B, N, C); ``mask`` (B, N) nonzero at real tokens; ``grid`` (H, W) for ndim=2."""
        b, n, c = x.shape
        check_grid(n, grid, self.ndim)
        lengths = torch.full((b,), n, device=x.device) if mask is None else mask.sum(1).clamp_min(1)
        coeff = self.context(x, mask)  # (B, h, S)
        weights = self.scale_weights()
        combined = x.new_zeros(b, self.num_heads, n, self.head_dim)
        for s in range(self.num_scales):
            out = self.scale_output(s, x, mask, lengths) * coeff[:, :, s, None, None]
            if self.scale_mixer == "grad_ema" and self.training and out.requires_grad:
                out.register_hook(partial(self._record_grad_norm, s))
            combined = combined + weights[s] * out
        if mask is not None:
            combined = combined * mask[:, None, :, None].to(x.dtype)
        combined = combined + self.conv(combined, grid)
        y = combined.transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(self.norm(y)))
