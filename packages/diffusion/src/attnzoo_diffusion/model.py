"""Attention-free diffusion classifier: the seed's ``ImprovedDiffusionAttentionFreeModel``.

Source: pbanavara/attention-free-diffusion, ``attention_free_diffusion_improved.py`` (HEAD).
Each of T steps, with weights shared by all steps, computes

    h_i <- LayerNorm(alpha * h_i + (1 - alpha) * MLP(W_L h_{i-1} + W_R h_{i+1} + W_S h_i))

with circular neighbours, then masked mean pooling and a two-layer head. Two equivalent
implementations of the neighbour mix are kept (same parameters, same state_dict keys, which are
also the seed's keys, so its checkpoints load):

* reference (``fused=False``): the seed's code: two shifted copies of h and three Linear layers;
* fused (``fused=True``): one (D, 3D) matmul on h whose three output blocks are shifted and summed
  in place, no shifted copies of h, and the whole step (mix, MLP, dropout, residual, LayerNorm)
  as one autograd Function with a hand-written backward (:class:`_FusedStep`). Under autocast the
  fused mix (:class:`_ShiftMix`) is combined with the stock modules instead.

``recompute=True`` checkpoints each step: only the input state of each step is stored and the
step is re-run in the backward pass (the dropout RNG state is replayed, so gradients match).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from attnzoo_diffusion.config import DiffusionConfig


def _shift_sum(y: torch.Tensor, circular: bool) -> torch.Tensor:
    """s_i = y_left[i-1] + y_right[i+1] + y_self[i] from y = [y_left | y_right | y_self] (B, L, 3D)."""
    y_left, y_right, y_self = y.chunk(3, dim=-1)
    s = y_self.contiguous()  # (B, L, D)
    s[:, 1:] += y_left[:, :-1]
    s[:, :-1] += y_right[:, 1:]
    if circular:
        s[:, 0] += y_left[:, -1]
        s[:, -1] += y_right[:, 0]
    return s


def _shift_sum_backward(grad_s: torch.Tensor, circular: bool) -> torch.Tensor:
    """Gradient of :func:`_shift_sum` with respect to y: (B, L, D) -> (B, L, 3D)."""
    grad_y = grad_s.new_empty(*grad_s.shape[:-1], 3 * grad_s.shape[-1])  # (B, L, 3D)
    g_left, g_right, g_self = grad_y.chunk(3, dim=-1)
    # y_left[j] fed s[j + 1], y_right[j] fed s[j - 1] (wrapping, or nothing at the ends)
    g_left[:, :-1] = grad_s[:, 1:]
    g_right[:, 1:] = grad_s[:, :-1]
    if circular:
        g_left[:, -1] = grad_s[:, 0]
        g_right[:, 0] = grad_s[:, -1]
    else:
        g_left[:, -1] = 0
        g_right[:, 0] = 0
    g_self.copy_(grad_s)
    return grad_y


class _ShiftMix(torch.autograd.Function):
    """s_i = W_L h_{i-1} + W_R h_{i+1} + W_S h_i as one (D, 3D) matmul; saves only h.

    Used by the fused path under autocast (mixed precision), where the stock modules handle
    the dtypes of the rest of the step.
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(
        ctx: Any,
        h: torch.Tensor,
        w_left: torch.Tensor,
        w_right: torch.Tensor,
        w_self: torch.Tensor,
        circular: bool,
    ) -> torch.Tensor:
        w = torch.cat([w_left, w_right, w_self], dim=0)  # (3D, D)
        s = _shift_sum(torch.matmul(h, w.t()), circular)  # (B, L, 3D) -> (B, L, D)
        ctx.save_for_backward(h, w)
        ctx.circular = circular
        return s

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx: Any, grad_s: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, w = ctx.saved_tensors
        d = h.shape[-1]
        grad_y = _shift_sum_backward(grad_s.contiguous(), ctx.circular)  # (B, L, 3D)
        grad_h = torch.matmul(grad_y, w.to(grad_y.dtype)) if ctx.needs_input_grad[0] else None
        flat_g = grad_y.reshape(-1, 3 * d)  # (B*L, 3D)
        grad_w = torch.matmul(flat_g.t(), h.reshape(-1, d).to(flat_g.dtype)).chunk(
            3, dim=0
        )  # 3 x (D, D)
        return (grad_h, *grad_w, None)


class _FusedStep(torch.autograd.Function):
    """One whole diffusion step in fp32 with a hand-written backward.

    Forward: y = h W3^T (one (D, 3D) GEMM), s = shift-sum(y), z = s W1^T + b1, a = dropout(gelu(z)),
    x = alpha h + (1 - alpha)(a W2^T + b2) (alpha folded into the GEMM), out = LN(x).
    It saves h, s, z, x and the dropout mask as bool: about 5.5 (B, L, D)-sized tensors per step
    against about 11 for the reference (no shifted copies, no (B, L, 3D) product, no GELU/dropout
    outputs: the dropout output is recomputed from z in backward, one cheap elementwise pass).
    The three neighbour projections take one GEMM in each direction instead of three. Dropout
    draws its noise exactly as ``nn.Dropout`` does on CPU (``bernoulli_(1 - p)`` then
    ``div_(1 - p)`` on a tensor of the same shape), so under the same seed this step and the
    reference consume the RNG identically.
    """

    @staticmethod
    def forward(
        ctx: Any,
        h: torch.Tensor,
        w_left: torch.Tensor,
        w_right: torch.Tensor,
        w_self: torch.Tensor,
        w1: torch.Tensor,
        b1: torch.Tensor,
        w2: torch.Tensor,
        b2: torch.Tensor,
        ln_w: torch.Tensor,
        ln_b: torch.Tensor,
        alpha: float,
        p_drop: float,
        circular: bool,
        eps: float,
    ) -> torch.Tensor:
        b, length, d = h.shape
        w3 = torch.cat([w_left, w_right, w_self], dim=0)  # (3D, D)
        h2 = h.reshape(b * length, d)  # (N, D)
        s = _shift_sum(torch.mm(h2, w3.t()).view(b, length, 3 * d), circular).view(
            b * length, d
        )  # (N, D)
        z = torch.addmm(b1, s, w1.t())  # (N, 2D)
        a = torch.nn.functional.gelu(z)
        keep = None
        if p_drop > 0:
            # the same draw as nn.Dropout on CPU: bernoulli_(1 - p) on a tensor of z's shape, / (1 - p)
            noise = torch.empty_like(z).bernoulli_(1 - p_drop).div_(1 - p_drop)
            a.mul_(noise)
            keep = noise.ne(0)  # saved as bool (a quarter of the float noise)
            del noise
        x = torch.addmm(h2, a, w2.t(), beta=alpha, alpha=1 - alpha)  # alpha h + (1 - alpha) a W2^T
        x.add_(b2, alpha=1 - alpha)
        del a  # recomputed from z in backward: saves 2 (B, L, D)-sized tensors per step
        out, mean, rstd = torch.native_layer_norm(x, [d], ln_w, ln_b, eps)
        ctx.save_for_backward(h2, w3, s, z, keep, x, mean, rstd, w1, w2, ln_w, ln_b)
        ctx.alpha, ctx.p_drop, ctx.circular, ctx.shape = alpha, p_drop, circular, (b, length, d)
        return out.view(b, length, d)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h2, w3, s, z, keep, x, mean, rstd, w1, w2, ln_w, ln_b = ctx.saved_tensors
        alpha = ctx.alpha
        b, length, d = ctx.shape
        g = grad_out.reshape(b * length, d)  # (N, D)
        gx, g_ln_w, g_ln_b = torch.ops.aten.native_layer_norm_backward(
            g, x, [d], mean, rstd, ln_w, ln_b, [True, True, True]
        )
        # u = a W2^T + b2 enters x with weight (1 - alpha); a = gelu(z) * keep / (1 - p).
        # Both scalars are folded into tiny (D, 2D) tensors instead of full-size passes.
        scale = (1 - alpha) / (1 - ctx.p_drop)
        a = torch.nn.functional.gelu(z)  # (N, 2D), without the 1 / (1 - p) factor
        if keep is not None:
            a.mul_(keep)
        g_w2 = torch.mm(gx.t(), a).mul_(scale)  # (D, 2D)
        del a
        g_b2 = gx.sum(0).mul_(1 - alpha)
        ga = torch.mm(gx, w2 * scale)  # (N, 2D)
        if keep is not None:
            ga.mul_(keep)
        gz = torch.ops.aten.gelu_backward(ga, z)
        del ga
        g_w1 = torch.mm(gz.t(), s)  # (2D, D)
        g_b1 = gz.sum(0)
        gs = torch.mm(gz, w1).view(b, length, d)
        del gz
        gy = _shift_sum_backward(gs, ctx.circular).view(b * length, 3 * d)  # (N, 3D)
        del gs
        gh = (
            torch.addmm(gx, gy, w3, beta=alpha).view(b, length, d)
            if ctx.needs_input_grad[0]
            else None
        )
        g_left, g_right, g_self = torch.mm(gy.t(), h2).chunk(3, dim=0)  # 3 x (D, D)
        return (
            gh,
            g_left,
            g_right,
            g_self,
            g_w1,
            g_b1,
            g_w2,
            g_b2,
            g_ln_w,
            g_ln_b,
            None,
            None,
            None,
            None,
        )


def _exporting() -> bool:
    """True while ``torch.export`` / ``torch.onnx`` trace the model (``attnzoo export``).

    The fused step's hand-written autograd Functions are a training-memory device; an export
    takes the reference ops instead, which compute the same function with standard operators.
    """
    return bool(torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export())


class DiffusionClassifier(nn.Module):
    """The seed's improved diffusion classifier; see the module docstring and the README."""

    def __init__(self, config: DiffusionConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embedding = nn.Embedding(config.vocab_size, d)
        # left, right, self projections (names and order as in the seed)
        self.neighbor_proj = nn.ModuleList([nn.Linear(d, d, bias=False) for _ in range(3)])
        self.layer_norm = nn.LayerNorm(d)
        self.update_mlp = nn.Sequential(
            nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(2 * d, d)
        )
        self.classifier = nn.Sequential(
            nn.Linear(d, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, config.num_classes)
        )
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_normal_(module.weight, gain=self.config.init_gain)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    # ------------------------------------------------------------------ neighbour mix
    def _mix_reference(self, h: torch.Tensor, circular: bool) -> torch.Tensor:
        """The seed's code: shifted copies of h, three Linear layers, two additions."""
        first = h[:, -1:, :] if circular else torch.zeros_like(h[:, :1, :])
        last = h[:, :1, :] if circular else torch.zeros_like(h[:, :1, :])
        h_left = torch.cat([first, h[:, :-1, :]], dim=1)  # (B, L, D), h_left[i] = h[i-1]
        h_right = torch.cat([h[:, 1:, :], last], dim=1)  # (B, L, D), h_right[i] = h[i+1]
        proj_left, proj_right, proj_self = self.neighbor_proj
        return proj_left(h_left) + proj_right(h_right) + proj_self(h)

    def _mix_fused(self, h: torch.Tensor, circular: bool) -> torch.Tensor:
        w_left, w_right, w_self = (p.weight for p in self.neighbor_proj)
        return _ShiftMix.apply(h, w_left, w_right, w_self, circular)

    def _step(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """One diffusion step; ``mask`` (B, L, 1) is given only in masked mode."""
        cfg = self.config
        circular = cfg.uses_circular_shift
        if mask is not None:
            h = h * mask
        if not cfg.fused or _exporting():
            u = self.update_mlp(self._mix_reference(h, circular))
            return self.layer_norm(cfg.alpha * h + (1.0 - cfg.alpha) * u)
        if h.dtype == torch.float32 and not torch.is_autocast_enabled(h.device.type):
            lin1, _, drop, lin2 = self.update_mlp
            ln = self.layer_norm
            p_drop = drop.p if drop.training else 0.0
            return _FusedStep.apply(
                h.contiguous(),
                *(p.weight for p in self.neighbor_proj),
                lin1.weight,
                lin1.bias,
                lin2.weight,
                lin2.bias,
                ln.weight,
                ln.bias,
                cfg.alpha,
                p_drop,
                circular,
                ln.eps,
            )
        # mixed precision / other dtypes: fused neighbour mix, stock modules for the rest
        u = self.update_mlp(self._mix_fused(h, circular))
        return self.layer_norm(h.mul(cfg.alpha).add_(u, alpha=1.0 - cfg.alpha))

    # ------------------------------------------------------------------ public API
    def hidden_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """States after the T steps, before pooling: (B, L, D)."""
        cfg = self.config
        h = self.embedding(input_ids)  # (B, L, D)
        if self.training and cfg.noise_std > 0:
            h = h + torch.randn_like(h) * cfg.noise_std
        mask = None
        if cfg.mask_in_diffusion and attention_mask is not None:
            mask = attention_mask.unsqueeze(-1).to(h.dtype)  # (B, L, 1)
        use_checkpoint = cfg.recompute and torch.is_grad_enabled()
        for _ in range(cfg.num_iters):
            if use_checkpoint:
                h = checkpoint(self._step, h, mask, use_reentrant=False)
            else:
                h = self._step(h, mask)
        return h

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any
    ) -> dict[str, torch.Tensor]:
        pooled = self.pool(self.hidden_states(input_ids, attention_mask), attention_mask)
        return {"logits": self.classifier(pooled)}

    @staticmethod
    def pool(h: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """Masked mean over the sequence (the denominator clamped at 1e-8): (B, L, D) -> (B, D)."""
        if attention_mask is None:
            return h.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(h.dtype)  # (B, L, 1)
        return (h * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-8)
