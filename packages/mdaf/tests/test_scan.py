"""The selective scan: chunked == sequential, causal, padding-safe, and a hand-computed case."""

from __future__ import annotations

import math

import pytest
import torch
from attnzoo_mdaf.scan import (
    mamba_ssm_available,
    selective_scan,
    selective_scan_chunked,
    selective_scan_sequential,
)


def _inputs(batch=2, length=13, channels=5, n=4, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, channels, generator=g, dtype=dtype)
    delta = torch.nn.functional.softplus(
        torch.randn(batch, length, channels, generator=g, dtype=dtype)
    )
    A = -torch.rand(channels, n, generator=g, dtype=dtype) * 2 - 0.1
    B = torch.randn(batch, length, n, generator=g, dtype=dtype)
    C = torch.randn(batch, length, n, generator=g, dtype=dtype)
    D = torch.randn(channels, generator=g, dtype=dtype)
    return x, delta, A, B, C, D


@pytest.mark.parametrize("chunk_size", [1, 4, 5, 13, 64])
@pytest.mark.parametrize("length", [1, 13, 16])
def test_chunked_equals_sequential_forward_and_backward(chunk_size, length):
    args = [t.requires_grad_() for t in _inputs(length=length)]
    ref = selective_scan_sequential(*args)
    grads_ref = torch.autograd.grad(ref.pow(2).sum(), args)
    out = selective_scan_chunked(*args, chunk_size=chunk_size)
    grads = torch.autograd.grad(out.pow(2).sum(), args)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
    for g, gr in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, gr, atol=1e-9, rtol=1e-9)


def test_float32_within_1e5():
    args = _inputs(length=50, dtype=torch.float32, seed=3)
    torch.testing.assert_close(
        selective_scan_chunked(*args, chunk_size=16),
        selective_scan_sequential(*args),
        atol=1e-5,
        rtol=1e-5,
    )


def test_long_sequence_has_no_overflow():
    x, delta, A, B, C, D = _inputs(length=300, dtype=torch.float32, seed=4)
    y = selective_scan_chunked(x, delta * 20, A * 10, B, C, D, chunk_size=128)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("fn", [selective_scan_sequential, selective_scan_chunked])
def test_causal(fn):
    x, delta, A, B, C, D = _inputs(length=12)
    y = fn(x, delta, A, B, C, D)
    for tensor in (x, delta, B, C):
        changed = tensor.clone()
        changed[:, 7:] += 3.0
        args = [changed if t is tensor else t for t in (x, delta, A, B, C, D)]
        torch.testing.assert_close(fn(*args)[:, :7], y[:, :7])
        assert not torch.allclose(fn(*args)[:, 7:], y[:, 7:])


@pytest.mark.parametrize("fn", [selective_scan_sequential, selective_scan_chunked])
def test_right_padding_is_harmless_and_left_padding_needs_the_mask(fn):
    x, delta, A, B, C, D = _inputs(batch=1, length=9)
    ref = fn(x, delta, A, B, C, D)
    pad = 4
    junk = _inputs(batch=1, length=pad, seed=9)
    right = [torch.cat([t, j], dim=1) for t, j in zip((x, delta), junk[:2], strict=True)]
    right_bc = [torch.cat([t, j], dim=1) for t, j in zip((B, C), junk[3:5], strict=True)]
    y_right = fn(right[0], right[1], A, right_bc[0], right_bc[1], D)
    torch.testing.assert_close(y_right[:, :9], ref)

    left = [torch.cat([j, t], dim=1) for t, j in zip((x, delta), junk[:2], strict=True)]
    left_bc = [torch.cat([j, t], dim=1) for t, j in zip((B, C), junk[3:5], strict=True)]
    mask = torch.cat([torch.zeros(1, pad), torch.ones(1, 9)], dim=1)
    y_left = fn(left[0], left[1], A, left_bc[0], left_bc[1], D, mask=mask)
    torch.testing.assert_close(y_left[:, pad:], ref)
    assert (y_left[:, :pad] == 0).all()
    unmasked = fn(left[0], left[1], A, left_bc[0], left_bc[1], D)
    assert not torch.allclose(unmasked[:, pad:], ref)


def test_hand_computed_one_channel_two_states_three_steps():
    x = torch.tensor([[[1.0], [2.0], [-1.0]]], dtype=torch.float64)
    delta = torch.tensor([[[0.5], [1.0], [0.25]]], dtype=torch.float64)
    A = torch.tensor([[-1.0, -2.0]], dtype=torch.float64)
    B = torch.tensor([[[1.0, 0.0], [0.5, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    C = torch.tensor([[[1.0, 1.0], [1.0, -1.0], [2.0, 0.0]]], dtype=torch.float64)
    D = torch.tensor([0.1], dtype=torch.float64)
    # t=0: h = 0.5*1*[1, 0] = [0.5, 0]; y = 0.5 + 0.1*1
    h0 = [0.5, 0.0]
    y0 = 0.5 + 0.1
    # t=1: h = [e^-1 * 0.5 + 1*2*0.5, e^-2 * 0 + 1*2*1] ; y = h[0] - h[1] + 0.1*2
    h1 = [math.exp(-1.0) * h0[0] + 1.0, 2.0]
    y1 = h1[0] - h1[1] + 0.2
    # t=2: h = [e^-0.25 h1[0] + 0.25*(-1)*1, e^-0.5 h1[1] + 0.25*(-1)*1]; y = 2*h[0] - 0.1
    h2 = [math.exp(-0.25) * h1[0] - 0.25, math.exp(-0.5) * h1[1] - 0.25]
    y2 = 2 * h2[0] - 0.1
    expected = torch.tensor([[[y0], [y1], [y2]]], dtype=torch.float64)
    for impl in ("sequential", "chunked"):
        torch.testing.assert_close(selective_scan(x, delta, A, B, C, D, impl=impl), expected)


def test_unknown_impl_and_missing_cuda_are_clear_errors():
    args = _inputs(length=3)
    with pytest.raises(ValueError, match="unknown scan impl 'fast'"):
        selective_scan(*args, impl="fast")
    if not mamba_ssm_available():
        with pytest.raises(RuntimeError, match="pip install mamba-ssm"):
            selective_scan(*args, impl="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not mamba_ssm_available(), reason="needs CUDA and mamba-ssm")
def test_cuda_kernel_matches_chunked():
    args = [t.float().cuda() for t in _inputs(batch=4, length=200, channels=32, n=16)]
    mask = torch.ones(4, 200, device="cuda")
    mask[0, :50] = 0
    torch.testing.assert_close(
        selective_scan(*args, mask=mask, impl="cuda"),
        selective_scan(*args, mask=mask, impl="chunked"),
        atol=1e-4,
        rtol=1e-4,
    )
