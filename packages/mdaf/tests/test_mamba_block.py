"""The Mamba block: native init, causality through the conv, padding, and the seed's surrogate."""

from __future__ import annotations

import pytest
import torch
from attnzoo_mdaf.mamba import Mamba, SurrogateSSM
from torch.nn import functional as F


def _block(**kw):
    torch.manual_seed(0)
    return Mamba(16, d_state=4, d_conv=4, expand=2, **kw).double()


def test_native_init():
    block = Mamba(32, d_state=8, dt_min=1e-3, dt_max=1e-1)
    dt = F.softplus(block.dt_proj.bias)
    assert dt.min() >= 1e-3 - 1e-7 and dt.max() <= 1e-1 + 1e-7
    torch.testing.assert_close(-torch.exp(block.A_log[0]), -torch.arange(1.0, 9.0))
    assert block.dt_rank == 2 and block.x_proj.out_features == 2 + 16
    assert block.A_log._no_weight_decay and block.D._no_weight_decay


def test_block_is_causal():
    block = _block(impl="chunked")
    x = torch.randn(2, 10, 16, dtype=torch.float64)
    y = block(x)
    x2 = x.clone()
    x2[:, 6:] = torch.randn(2, 4, 16, dtype=torch.float64)
    y2 = block(x2)
    torch.testing.assert_close(y2[:, :6], y[:, :6])
    assert not torch.allclose(y2[:, 6:], y[:, 6:])


def test_sequential_and_chunked_blocks_agree():
    x = torch.randn(2, 23, 16, dtype=torch.float64)
    torch.testing.assert_close(_block(impl="chunked")(x), _block(impl="sequential")(x))


def test_left_padding_with_mask_equals_unpadded():
    block = _block()
    x = torch.randn(1, 7, 16, dtype=torch.float64)
    ref = block(x)
    padded = torch.cat([torch.randn(1, 5, 16, dtype=torch.float64), x], dim=1)
    mask = torch.cat([torch.zeros(1, 5), torch.ones(1, 7)], dim=1)
    torch.testing.assert_close(block(padded, mask)[:, 5:], ref)
    assert not torch.allclose(block(padded)[:, 5:], ref)


def test_every_parameter_gets_a_gradient():
    block = _block()
    block(torch.randn(2, 9, 16, dtype=torch.float64)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())


def test_surrogate_ignores_order_beyond_the_conv():
    """The seed's property: permuting events far from the last d_conv positions barely matters
    to a real scan's last output but leaves the surrogate's pooled summary exactly unchanged."""
    torch.manual_seed(0)
    sur = SurrogateSSM(8, d_state=4, d_conv=1).double()  # width-1 conv: no order at all
    x = torch.randn(1, 12, 8, dtype=torch.float64)
    perm = torch.randperm(12)
    torch.testing.assert_close(sur(x[:, perm]), sur(x)[:, perm])
    real = Mamba(8, d_state=4, d_conv=1).double()
    assert not torch.allclose(real(x[:, perm]), real(x)[:, perm])


@pytest.mark.parametrize("cls", [Mamba, SurrogateSSM])
def test_shapes(cls):
    block = cls(12, d_state=4)
    assert block(torch.randn(3, 5, 12)).shape == (3, 5, 12)


def test_core_weight_decay_exempts_a_log_and_d():
    from attnzoo.config import TrainConfig
    from attnzoo.trainers.optim import param_groups

    block = Mamba(8, d_state=4)
    decay, no_decay = param_groups(block, TrainConfig(weight_decay=0.1))
    exempt = {id(p) for p in no_decay["params"]}
    assert id(block.A_log) in exempt and id(block.D) in exempt
    assert id(block.in_proj.weight) in {id(p) for p in decay["params"]}
