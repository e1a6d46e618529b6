"""Attention-free diffusion classifier: the seed's ``ImprovedDiffusionAttentionFreeModel``.

Source: pbanavara/attention-free-diffusion, ``attention_free_diffusion_improved.py`` (HEAD).
Each of T steps, with weights shared by all steps, computes

    h_i <- LayerNorm(alpha * h_i + (1 - alpha) * MLP(W_L h_{i-1} + W_R h_{i+1} + W_S h_i))

with circular neighbours, then masked mean pooling and a two-layer head. Two equivalent
implementations of the neighbour mix are kept (same parameters, same state_dict keys, which are
also the seed's keys, so its checkpoints load):

* reference (``fused=False``): the seed's code: two shifted copies of h and three Linear layers;
* fused (``fused=True``): one (D, 3D) matmul on h whose three output blocks are shifted and summed
  in place, with a hand-written backward that saves only h (not the shifted copies nor the
  (B, L, 3D) product) and does two matmuls instead of six.

``recompute=True`` checkpoints each step: only the input state of each step is stored and the
step is re-run in the backward pass (the dropout RNG state is replayed, so gradients match).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from attnzoo_diffusion.config import DiffusionConfig


class _ShiftMix(torch.autograd.Function):
    """s_i = W_L h_{i-1} + W_R h_{i+1} + W_S h_i for h of shape (B, L, D), without copies of h."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx: Any, h: torch.Tensor, w_left: torch.Tensor, w_right: torch.Tensor, w_self: torch.Tensor, circular: bool) -> torch.Tensor:
        w = torch.cat([w_left, w_right, w_self], dim=0)  # (3D, D)
        y = torch.matmul(h, w.t())  # (B, L, 3D): [W_L h | W_R h | W_S h]
        y_left, y_right, y_self = y.chunk(3, dim=-1)
        s = y_self.contiguous()  # (B, L, D)
        s[:, 1:] += y_left[:, :-1]  # position i receives W_L h_{i-1}
        s[:, :-1] += y_right[:, 1:]  # position i receives W_R h_{i+1}
        if circular:
            s[:, 0] += y_left[:, -1]
            s[:, -1] += y_right[:, 0]
        ctx.save_for_backward(h, w)
        ctx.circular = circular
        return s

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx: Any, grad_s: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, w = ctx.saved_tensors
        d = h.shape[-1]
        grad_s = grad_s.contiguous()
        grad_y = grad_s.new_empty(*grad_s.shape[:-1], 3 * d)  # (B, L, 3D)
        g_left, g_right, g_self = grad_y.chunk(3, dim=-1)
        # y_left[j] feeds s[j + 1]; y_right[j] feeds s[j - 1] (wrapping or dropped at the ends)
        g_left[:, :-1] = grad_s[:, 1:]
        g_right[:, 1:] = grad_s[:, :-1]
        if ctx.circular:
            g_left[:, -1] = grad_s[:, 0]
            g_right[:, 0] = grad_s[:, -1]
        else:
            g_left[:, -1] = 0
            g_right[:, 0] = 0
        g_self.copy_(grad_s)
        grad_h = torch.matmul(grad_y, w.to(grad_y.dtype)) if ctx.needs_input_grad[0] else None  # (B, L, D)
        grad_w: tuple[torch.Tensor | None, ...] = (None, None, None)
        if any(ctx.needs_input_grad[1:4]):
            flat_g = grad_y.reshape(-1, 3 * d)  # (B*L, 3D)
            flat_h = h.reshape(-1, d).to(flat_g.dtype)  # (B*L, D)
            grad_w = tuple(torch.matmul(flat_g.t(), flat_h).chunk(3, dim=0))  # 3 x (D, D)
        return (grad_h, *grad_w, None)


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
        self.update_mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(2 * d, d))
        self.classifier = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, config.num_classes))
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
        if cfg.fused:
            u = self.update_mlp(self._mix_fused(h, circular))
            mixed = h.mul(cfg.alpha).add_(u, alpha=1.0 - cfg.alpha)
        else:
            u = self.update_mlp(self._mix_reference(h, circular))
            mixed = cfg.alpha * h + (1.0 - cfg.alpha) * u
        return self.layer_norm(mixed)

    # ------------------------------------------------------------------ public API
    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
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

    encode = hidden_states

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> dict[str, torch.Tensor]:
        h = self.hidden_states(input_ids, attention_mask)  # (B, L, D)
        if attention_mask is not None:
            mask = attention_mask.unsqueeze(-1).to(h.dtype)  # (B, L, 1)
            pooled = (h * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-8)  # (B, D)
        else:
            pooled = h.mean(dim=1)
        return {"logits": self.classifier(pooled)}
