"""PolaFormer attention: polarity algebra, implied attention, linear == quadratic, masks, 1-D/2-D."""

from __future__ import annotations

import math

import pytest
import torch
from dsp_helpers import quadratic_tensors

from attnzoo_dsp.config import PolaConfig
from attnzoo_dsp.layers import (
    PolaLinearAttention,
    polarity_features,
    split_streams,
    trunc_normal_init,
)
from attnzoo_dsp.model import PolaClassifier

C, H = 16, 2


def make(seed: int = 0, ndim: int = 1, max_len: int = 64, wide: bool = True, **kw):
    torch.manual_seed(seed)
    attn = PolaLinearAttention(C, H, max_len, ndim=ndim, **kw).double()
    if wide:  # weights far from the 0.02 init, so every term is well above rounding
        with torch.no_grad():
            for p in attn.parameters():
                p.normal_(0, 0.5)
    return attn.eval()


def ragged(b: int = 3, n: int = 12, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, C, generator=g, dtype=torch.float64)
    lengths = torch.tensor([n, n - 3, 4][:b])
    mask = torch.arange(n)[None] < lengths[:, None]
    return x, mask


# ---------------------------------------------------------------- polarity algebra


def test_p1_recovers_signed_dot_product():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(5, 7, 8, generator=g), torch.randn(5, 9, 8, generator=g)
    q_sim, q_opp, kk = split_streams(q, k, torch.ones(8))
    signed = q_sim @ kk.transpose(-2, -1) - q_opp @ kk.transpose(-2, -1)
    torch.testing.assert_close(signed, q @ k.transpose(-2, -1), rtol=0, atol=1e-5)


def test_polarity_features_nonnegative_and_invertible():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(4, 10, 6, generator=g, dtype=torch.float64)
    p = 1 + 4 * torch.rand(6, generator=g, dtype=torch.float64)
    pos, neg = polarity_features(u, p)
    assert (pos >= 0).all() and (neg >= 0).all()
    assert ((pos > 0) & (neg > 0)).sum() == 0  # each channel is either positive or negative
    torch.testing.assert_close(pos ** (1 / p) - neg ** (1 / p), u)


def test_initialisation_matches_polaformer():
    attn = PolaLinearAttention(C, H, 32)
    assert attn.power.shape == (1, H, 1, C // H) and (attn.power == 0).all()
    assert attn.scale.shape == (1, 1, C) and (attn.scale == 0).all()
    assert attn.positional_encoding.shape == (1, 32, C) and (attn.positional_encoding == 0).all()
    assert torch.allclose(attn.p(), torch.full_like(attn.p(), 3.0))  # 1 + alpha / 2
    assert torch.allclose(torch.nn.functional.softplus(attn.scale), torch.tensor(math.log(2)))
    # the depthwise convolution has d channels shared by all heads
    assert attn.dwc.weight.shape == (C // H, 1, 5)


# ---------------------------------------------------------------- implied attention


def test_implied_attention_rows_nonnegative_sum_to_one_and_ignore_pads():
    x, mask = ragged()
    a_sim, a_opp = make().attention_maps(x, mask)
    for a in (a_sim, a_opp):
        assert a.shape == (3, H, 12, 12)
        assert (a >= 0).all()
        torch.testing.assert_close(a.sum(-1), torch.ones_like(a.sum(-1)), rtol=0, atol=1e-5)
        assert (a.masked_select(~mask[:, None, None, :]) == 0).all()  # padded keys get no weight


@pytest.mark.parametrize("ndim", [1, 2])
def test_linear_path_equals_quadratic_reference(ndim):
    attn = make(ndim=ndim)
    x, mask = ragged(n=12)
    if ndim == 2:
        mask, grid = None, (3, 4)
    else:
        grid = None
    lin = attn(x, mask, grid)
    quad = attn(x, mask, grid, quadratic=True)
    torch.testing.assert_close(lin, quad, rtol=0, atol=1e-5)


def test_linear_path_equals_quadratic_at_polaformer_init():
    torch.manual_seed(0)
    attn = PolaLinearAttention(C, H, 64).eval()
    attn.apply(trunc_normal_init)  # float32, the eps term not negligible here
    x, mask = ragged()
    x = x.float()
    torch.testing.assert_close(attn(x, mask), attn(x, mask, quadratic=True), rtol=0, atol=1e-5)


# ---------------------------------------------------------------- padding


def test_outputs_at_valid_positions_ignore_padding_amount_and_pad_values():
    attn = make()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 9, C, generator=g, dtype=torch.float64)
    ref = attn(x, torch.ones(1, 9, dtype=torch.bool))
    for extra in (1, 7, 30):
        junk = 100 * torch.randn(1, extra, C, generator=g, dtype=torch.float64)
        xp = torch.cat([x, junk], dim=1)
        mask = torch.arange(9 + extra)[None] < 9
        torch.testing.assert_close(attn(xp, mask)[:, :9], ref, rtol=0, atol=1e-9)


def test_without_mask_padding_changes_outputs():
    # the check above can fail: without the mask the same pads do change the valid outputs
    attn = make()
    x = torch.randn(1, 9, C, dtype=torch.float64)
    xp = torch.cat([x, torch.randn(1, 4, C, dtype=torch.float64)], dim=1)
    assert not torch.allclose(attn(xp)[:, :9], attn(x), atol=1e-6)


def test_classifier_logits_ignore_appended_padding():
    torch.manual_seed(0)
    cfg = PolaConfig(vocab_size=40, num_classes=3, d_model=16, n_heads=2, n_layers=2, d_ff=32)
    model = PolaClassifier(cfg).eval()
    ids = torch.randint(1, 40, (2, 10))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    ids_p = torch.cat([ids, torch.randint(1, 40, (2, 5))], dim=1)  # pad slots hold real ids
    mask_p = torch.cat([mask, torch.zeros(2, 5, dtype=mask.dtype)], dim=1)
    with torch.no_grad():
        a = model(ids, mask)["logits"]
        b = model(ids_p, mask_p)["logits"]
        single = model(ids[1:, :6], mask[1:, :6])["logits"]
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    torch.testing.assert_close(a[1:], single, rtol=0, atol=1e-5)


# ---------------------------------------------------------------- linear time and memory


def test_linear_path_materialises_no_n_by_n_tensor():
    n = 97  # larger than every other dimension below
    attn = PolaLinearAttention(C, H, 128)
    x = torch.randn(2, n, C, requires_grad=True)
    mask = torch.arange(n)[None] < torch.tensor([[n], [60]])
    assert quadratic_tensors(lambda: attn(x, mask), n) == []
    # the recorder does see the quadratic reference's (B, h, N, N) matrices
    assert any(
        s[-2:] == (n, n) for _, s in quadratic_tensors(lambda: attn(x, mask, quadratic=True), n)
    )


# ---------------------------------------------------------------- 1-D and 2-D forms


def test_2d_form_on_a_single_row_equals_1d_form():
    one = make(ndim=1, max_len=12)
    two = make(ndim=2, max_len=12, seed=5)
    with torch.no_grad():
        for name, p in two.named_parameters():
            src = one.get_parameter(name)
            p.copy_(src[..., None, :] if name == "dwc.weight" else src)
            if name == "dwc.weight":  # other kernel rows only ever meet the zero padding
                p.copy_(torch.randn_like(p))
                p[:, :, 2, :] = src
    x = torch.randn(2, 12, C, dtype=torch.float64)
    torch.testing.assert_close(two(x, grid=(1, 12)), one(x), rtol=0, atol=1e-9)
    assert not torch.allclose(two(x, grid=(3, 4)), one(x), atol=1e-6)  # the grid matters


def test_clear_errors():
    attn = PolaLinearAttention(C, H, 8)
    with pytest.raises(ValueError, match="exceeds the positional-encoding length 8"):
        attn(torch.randn(1, 9, C))
    two = PolaLinearAttention(C, H, 16, ndim=2)
    with pytest.raises(ValueError, match="grid=\\(H, W\\)"):
        two(torch.randn(1, 16, C))
    with pytest.raises(ValueError, match="must be an even integer"):
        PolaLinearAttention(12, 4, 8)
