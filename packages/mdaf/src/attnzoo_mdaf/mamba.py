"""The Mamba block (mamba_ssm's ``Mamba``, v1) over :mod:`attnzoo_mdaf.scan`, and the seed's surrogate.

:class:`Mamba` keeps mamba_ssm's parameter names, shapes and native initialisation, so a
state dict moves between the two; it runs mamba-ssm's CUDA scan when that is installed on a
GPU and the PyTorch scan everywhere else. A ``mask`` (B, L), 1 for real events, zeroes the
padded inputs before the causal convolution and makes them inert in the scan, so left
padding is harmless.

:class:`SurrogateSSM` is what the MDAF seed calls "Mamba": it is **not** a state-space model
(see its docstring). It exists only to reproduce the seed's numbers.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from attnzoo_mdaf.scan import selective_scan


def _no_weight_decay(p: nn.Parameter) -> nn.Parameter:
    p._no_weight_decay = True  # type: ignore[attr-defined]  # mamba_ssm's convention
    return p


class Mamba(nn.Module):
    """in_proj -> causal depthwise conv -> SiLU -> x_proj -> dt_proj/softplus -> scan -> gate -> out_proj."""

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dt_init_floor: float = 1e-4,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        inner = expand * d_model
        self.d_state, self.impl = d_state, impl
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.in_proj = nn.Linear(d_model, 2 * inner, bias=False)
        self.conv1d = nn.Conv1d(inner, inner, d_conv, groups=inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, inner, bias=True)
        self.out_proj = nn.Linear(inner, d_model, bias=False)
        a = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(inner, 1)
        self.A_log = _no_weight_decay(nn.Parameter(torch.log(a)))  # S4D-real: A = -(1..N)
        self.D = _no_weight_decay(nn.Parameter(torch.ones(inner)))
        self._init_dt(dt_min, dt_max, dt_init_floor)

    @torch.no_grad()
    def _init_dt(self, dt_min: float, dt_max: float, floor: float) -> None:
        """dt ~ logU[dt_min, dt_max]; the bias is softplus^-1(dt) so that softplus(bias) = dt."""
        bound = self.dt_rank**-0.5
        nn.init.uniform_(self.dt_proj.weight, -bound, bound)
        inner = self.dt_proj.out_features
        dt = torch.exp(
            torch.rand(inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        ).clamp(min=floor)
        self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        length = hidden.shape[1]
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # (B, L, E) each
        if mask is not None:
            x = x * mask.unsqueeze(-1).to(x.dtype)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :length].transpose(1, 2))
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log.float())
        y = selective_scan(x, delta, A, B, C, self.D, mask=mask, impl=self.impl)
        return self.out_proj(y * F.silu(z))


class SurrogateSSM(nn.Module):
    """The MDAF seed's "selective SSM", reproduced for comparison only: NOT a state-space model.

    It never scans: a scalar step size per timestep, then ``mean_s(delta_s * B_s * x_s)`` over
    **all** timesteps (padding included, as in the seed), broadcast to every position:
    ``y_t = C_t . mean + D * x_t``. Apart from the width-``d_conv`` convolution the output does
    not depend on the order of the events, and the decay ``A`` is never used (the seed builds
    it and drops it).
    """

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2) -> None:
        super().__init__()
        inner = expand * d_model
        self.d_state = d_state
        self.in_proj = nn.Linear(d_model, 2 * inner, bias=False)
        self.conv1d = nn.Conv1d(inner, inner, d_conv, groups=inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(inner, 1 + 2 * d_state, bias=False)
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, d_model, bias=False)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        del mask  # the seed averages over padding too
        length = hidden.shape[1]
        x, z = self.in_proj(hidden).chunk(2, dim=-1)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :length].transpose(1, 2))
        dt, B, C = self.x_proj(x).split([1, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(dt)  # (B, L, 1): one scalar per step
        pooled = (delta.unsqueeze(-1) * B.unsqueeze(2) * x.unsqueeze(-1)).mean(1)  # (B, E, N)
        y = torch.einsum("bln,ben->ble", C, pooled) + self.D * x
        return self.out_proj(y * F.silu(z))
