"""The ``kernel`` switch: flash_bla's fused non-causal kernel against the PyTorch path."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from attnzoo_dsp.dsp_layers import DSPAttention
from attnzoo_dsp.layers import (
    EPS,
    PolaLinearAttention,
    flash_bla_inputs,
    linear_attention,
    masked_count,
)

HAS_FLASH_BLA = torch.cuda.is_available() and importlib.util.find_spec("flash_bla") is not None


def test_flash_bla_kernel_refuses_cpu_tensors_with_a_clear_error():
    q = k = v = torch.rand(1, 1, 4, 2)
    count = torch.full((1, 1, 1, 1), 4.0)
    with pytest.raises(ValueError, match="CUDA tensors only; use kernel='torch'"):
        linear_attention(q, k, v, count, normalise="mean", kernel="flash_bla")


@pytest.mark.parametrize("normalise", ["mean", "sum"])
def test_rescaled_keys_make_the_kernels_formula_equal_the_masked_one(normalise):
    """flash_bla computes q (K^T v) s / (q . mean_L K + eps) over the padded length L."""
    torch.manual_seed(0)
    b, h, n = 3, 2, 9
    mask = torch.ones(b, n, dtype=torch.float64)
    mask[1, 5:] = 0
    mask[2, 1:] = 0
    keep = mask[:, None, :, None]
    q = torch.rand(b, h, n, 4, dtype=torch.float64)
    k = torch.rand(b, h, n, 4, dtype=torch.float64) * keep
    v = torch.randn(b, h, n, 3, dtype=torch.float64) * keep
    count = masked_count(mask, b, n, q.device).to(torch.float64)
    k_scaled, scale = flash_bla_inputs(k, count, normalise)
    kernel_formula = (q @ (k_scaled.transpose(-2, -1) @ (v * scale))) / (
        q @ k_scaled.mean(-2, keepdim=True).transpose(-2, -1) + EPS
    )
    expected = linear_attention(q, k, v, count, normalise=normalise)
    torch.testing.assert_close(kernel_formula, expected, rtol=1e-12, atol=1e-12)


def test_config_rejects_an_unknown_kernel():
    from pydantic import ValidationError

    from attnzoo_dsp.config import PolaConfig

    with pytest.raises(ValidationError, match="flash_bla"):
        PolaConfig(kernel="fla")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_FLASH_BLA, reason="needs CUDA and flash_bla installed")
@pytest.mark.parametrize("normalise", ["mean", "sum"])
def test_flash_bla_matches_torch_with_padding(normalise):
    torch.manual_seed(0)
    b, h, n, f, e = 3, 4, 200, 32, 16
    mask = torch.ones(b, n, device="cuda")
    mask[1, 150:] = 0
    mask[2, 17:] = 0
    keep = mask[:, None, :, None]
    q = torch.rand(b, h, n, f, device="cuda")
    k = torch.rand(b, h, n, f, device="cuda") * keep
    v = torch.randn(b, h, n, e, device="cuda") * keep
    count = masked_count(mask, b, n, q.device)
    ref = linear_attention(q, k, v, count, normalise=normalise)
    out = linear_attention(q, k, v, count, normalise=normalise, kernel="flash_bla")
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_FLASH_BLA, reason="needs CUDA and flash_bla installed")
@pytest.mark.parametrize("layer", ["pola", "dsp"])
def test_layers_forward_and_backward_agree_across_kernels(layer):
    torch.manual_seed(0)
    x = torch.randn(2, 196, 64, device="cuda", requires_grad=True)
    mask = torch.ones(2, 196, device="cuda")
    mask[1, 100:] = 0
    outs, grads = [], []
    for kernel in ("torch", "flash_bla"):
        torch.manual_seed(1)
        if layer == "pola":
            attn = PolaLinearAttention(64, 4, 256, kernel=kernel).cuda()
        else:
            attn = DSPAttention(64, 4, num_scales=2, spectral_modes=4, kernel=kernel).cuda()
        y = attn(x, mask)
        (g,) = torch.autograd.grad(y.square().sum(), x)
        outs.append(y)
        grads.append(g)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-3, atol=1e-4)
