"""DSP-Attention: spectral filter == truncated rfft2, pooling, masks, linear time, the seed example."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from dsp_helpers import quadratic_tensors

from attnzoo_dsp.config import DSPConfig
from attnzoo_dsp.dsp_layers import DSPAttention, SpectralPolarityMixer, pool_and_interpolate
from attnzoo_dsp.model import DSPClassifier

C, H = 16, 2


def make(seed: int = 0, **kw) -> DSPAttention:
    torch.manual_seed(seed)
    args = {"spectral_modes": 4, "num_scales": 3, **kw}
    return DSPAttention(C, H, **args).double().eval()


def padded(x: torch.Tensor, extra: int, seed: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    junk = 50 * torch.randn(x.shape[0], extra, *x.shape[2:], generator=g, dtype=x.dtype)
    mask = torch.arange(x.shape[1] + extra)[None] < x.shape[1]
    return torch.cat([x, junk], dim=1), mask.expand(x.shape[0], -1)


# ---------------------------------------------------------------- spectral polarity mixer


@pytest.mark.parametrize(("n", "d", "modes"), [(12, 8, 4), (20, 16, 16), (5, 8, 16)])
def test_spectral_filter_equals_truncated_rfft2(n, d, modes):
    torch.manual_seed(0)
    mixer = SpectralPolarityMixer(H, d, modes)
    with torch.no_grad():
        mixer.mix.normal_()
    u = torch.randn(2, H, n, d)
    mt, mc = min(modes, n), min(modes, d // 2 + 1)
    spec = torch.fft.rfft2(u)  # over (tokens, channels)
    kept = torch.zeros_like(spec)
    kept[..., :mt, :mc] = spec[..., :mt, :mc] * mixer.spectrum_weights(mt)
    ref = torch.fft.irfft2(kept, s=(n, d))
    out = mixer(u, torch.full((2,), n))
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("n", "d", "modes"), [(12, 8, 4), (20, 16, 16), (5, 8, 16), (9, 15, 6)])
def test_real_arithmetic_filter_equals_the_complex_one(n, d, modes):
    """``forward_real`` (what ``attnzoo export`` traces: ONNX has no complex tensors) equals
    ``forward`` for ragged lengths, odd and even widths, with and without the Nyquist mode."""
    torch.manual_seed(0)
    mixer = SpectralPolarityMixer(H, d, modes).double()
    with torch.no_grad():
        for p in (mixer.weights_pos, mixer.weights_neg, mixer.mix):
            p.normal_()
    lengths = torch.tensor([n, max(n // 2, 1), 1])
    u = torch.randn(3, H, n, d, dtype=torch.float64)
    u = u * (torch.arange(n)[None, :] < lengths[:, None])[:, None, :, None]
    ref = mixer(u, lengths)
    assert ref.abs().max() > 0.1  # not a vacuous comparison
    torch.testing.assert_close(mixer.forward_real(u, lengths), ref, rtol=0, atol=1e-12)


def test_spectral_filter_of_a_padded_row_equals_the_unpadded_row():
    torch.manual_seed(0)
    mixer = SpectralPolarityMixer(H, 8, 4).double()
    u = torch.randn(1, H, 10, 8, dtype=torch.float64)
    up = torch.cat([u, torch.zeros(1, H, 6, 8, dtype=torch.float64)], dim=2)  # zeroed pads
    out = mixer(up, torch.tensor([10]))
    torch.testing.assert_close(out[:, :, :10], mixer(u, torch.tensor([10])))
    assert (out[:, :, 10:] == 0).all()


# ---------------------------------------------------------------- hierarchical pooling


def test_pooling_matches_avg_pool_and_linear_interpolation():
    u = torch.randn(2, H, 16, 4, dtype=torch.float64)
    out = pool_and_interpolate(u, None, 4)
    flat = u.permute(0, 1, 3, 2).reshape(2, H * 4, 16)
    ref = F.interpolate(F.avg_pool1d(flat, 4), size=16, mode="linear", align_corners=False)
    torch.testing.assert_close(out, ref.reshape(2, H, 4, 16).permute(0, 1, 3, 2))
    assert pool_and_interpolate(u, None, 1) is u


@pytest.mark.parametrize("factor", [2, 4])
def test_pooling_ignores_padding(factor):
    u = torch.randn(1, H, 11, 4, dtype=torch.float64)
    ref = pool_and_interpolate(u, None, factor)
    for extra in (1, 5, 13):
        up, mask = padded(u.transpose(1, 2), extra)
        out = pool_and_interpolate(up.transpose(1, 2), mask, factor)
        torch.testing.assert_close(out[:, :, :11], ref)


# ---------------------------------------------------------------- DSP-Attention


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"context": "seed"},
        {"scale_mixer": "grad_ema", "power": "pola"},
        {"temperature": "none", "num_scales": 1},
    ],
)
def test_outputs_at_valid_positions_ignore_padding(kw):
    attn = make(**kw)
    x = torch.randn(2, 9, C, dtype=torch.float64)
    ref = attn(x, torch.ones(2, 9, dtype=torch.bool))
    for extra in (1, 7):
        xp, mask = padded(x, extra)
        torch.testing.assert_close(attn(xp, mask)[:, :9], ref, rtol=0, atol=1e-9)


def test_classifier_logits_ignore_appended_padding():
    torch.manual_seed(0)
    cfg = DSPConfig(vocab_size=40, num_classes=3, d_model=16, n_heads=2, n_layers=2, d_ff=32)
    model = DSPClassifier(cfg).eval()
    ids = torch.randint(1, 40, (2, 10))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    with torch.no_grad():
        a = model(ids, mask)["logits"]
        b = model(torch.cat([ids, ids[:, :5]], 1), F.pad(mask, (0, 5)))["logits"]
        single = model(ids[1:, :6], mask[1:, :6])["logits"]
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    torch.testing.assert_close(a[1:], single, rtol=0, atol=1e-5)


def test_mean_context_is_linear_and_seed_context_is_quadratic():
    n = 97
    x = torch.randn(2, n, C, requires_grad=True)
    mask = torch.arange(n)[None] < torch.tensor([[n], [70]])
    torch.manual_seed(0)
    linear = DSPAttention(C, H, spectral_modes=4)
    assert quadratic_tensors(lambda: linear(x, mask), n) == []
    seed = DSPAttention(C, H, spectral_modes=4, context="seed")
    assert quadratic_tensors(lambda: seed(x, mask), n) != []  # its softmax MHA is (N x N)


def test_seed_readme_example_runs_forward_and_backward():
    # the example the published file crashes on: dim 384, 6 heads, 16 modes, 3 scales
    torch.manual_seed(0)
    attn = DSPAttention(384, 6, ndim=2, spectral_modes=16, num_scales=3, context="seed")
    x = torch.randn(2, 196, 384, requires_grad=True)
    out = attn(x, grid=(14, 14))
    assert out.shape == (2, 196, 384)
    out.square().mean().backward()
    missing = [n for n, p in attn.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []  # every scale (also the third) reaches the output
    assert torch.isfinite(x.grad).all()


def test_every_scale_reaches_the_output():
    attn = make()
    x = torch.randn(1, 8, C, dtype=torch.float64)
    base = attn(x)
    for s in range(3):
        with torch.no_grad():
            attn.multi_scale_qkv[s].weight.mul_(2)
        assert not torch.allclose(attn(x), base)
        base = attn(x)


def test_grad_ema_records_gradient_norms_in_training_only():
    attn = make(scale_mixer="grad_ema").train()
    x = torch.randn(2, 8, C, dtype=torch.float64)
    before = attn.grad_norm_ema.clone()
    attn(x).sum().backward()
    after = attn.grad_norm_ema.clone()
    assert not torch.equal(before, after) and (after > 0).all()
    torch.testing.assert_close(attn.scale_weights().sum(), torch.tensor(1.0, dtype=torch.float64))
    attn.eval()
    with torch.no_grad():
        attn(x)
    assert torch.equal(attn.grad_norm_ema, after)


def test_temperature_inside_the_power_has_an_effect():
    attn = make()
    with torch.no_grad():
        attn.power_weights.uniform_(0.2, 2.0)  # channel-specific powers
    x = torch.randn(1, 8, C, dtype=torch.float64)
    base = attn(x)
    with torch.no_grad():
        attn.scale_temperatures.add_(1.0)
    assert (attn(x) - base).abs().max() > 1e-4
    assert not hasattr(make(temperature="none"), "scale_temperatures")


def test_pola_power_starts_where_the_seed_power_starts():
    seed, pola = make(power="seed"), make(power="pola", alpha=4.0)
    for s in range(3):
        torch.testing.assert_close(pola.p(s), seed.p(s))
        torch.testing.assert_close(seed.p(s), torch.full_like(seed.p(s), 1 + 0.5**s))


def test_multi_kernel_conv_has_three_kernel_sizes_in_both_forms():
    for ndim, grid in ((1, None), (2, (2, 4))):
        attn = make(ndim=ndim, kernel_size=3)
        sizes = [c.kernel_size for c in attn.conv.convs]
        assert sizes == ([(3,), (5,), (7,)] if ndim == 1 else [(3, 3), (5, 5), (7, 7)])
        assert attn(torch.randn(2, 8, C, dtype=torch.float64), grid=grid).shape == (2, 8, C)
