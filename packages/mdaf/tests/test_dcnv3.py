"""DCNv3: the half-split layout, ECN vs LCN on a hand case, Tri-BCE and its gradient, init."""

from __future__ import annotations

import math

import pytest
import torch
from attnzoo_mdaf.config import DCNv3Config
from attnzoo_mdaf.dcnv3 import CrossNetwork, DCNv3, multi_head_layout, tri_bce
from mdaf_seq_batches import SCHEMA, batch
from torch.nn import functional as F


def test_layout_puts_first_halves_of_every_field_then_second_halves() -> None:
    # 2 fields, 2 heads of width 4: field f, head h holds values 100f + 10h + (0..3)
    emb = torch.tensor(
        [[[100 * f + 10 * h + k for h in range(2) for k in range(4)] for f in range(2)]],
        dtype=torch.float32,
    )  # (1, F=2, E*H=8)
    out = multi_head_layout(emb, num_heads=2)
    assert out.shape == (1, 2, 8)  # (B, H, F*E)
    # head 0: [f0 first half, f1 first half, f0 second half, f1 second half]
    assert out[0, 0].tolist() == [0, 1, 100, 101, 2, 3, 102, 103]
    assert out[0, 1].tolist() == [10, 11, 110, 111, 12, 13, 112, 113]


def _hand_network(exponential: bool) -> CrossNetwork:
    """Two layers of width 2 with W = [[1, 1]] (c = x_1 + x_2), no LayerNorm, b = 0."""
    net = CrossNetwork(
        2, 2, exponential=exponential, dropout=0.0, layer_norm=False, batch_norm=False, num_heads=1
    )
    with torch.no_grad():
        for w, b in zip(net.w, net.b, strict=True):
            w.weight.fill_(1.0)
            b.zero_()
    return net


def test_ecn_and_lcn_recurrences_on_a_hand_case() -> None:
    x0 = torch.tensor([[[1.0, 2.0]]])  # (B, H, D)
    # layer 1 (both): c = 3, m = c * relu(c) = 9, h = [3, 9]; x1 = x0 * h + x0 = [4, 20]
    # ECN layer 2: c = 24, m = 576, x2 = x1 * [24, 576] + x1 = [100, 11540]
    # LCN layer 2: c = 24, m = 576, x2 = x0 * [24, 576] + x1 = [28, 1172]
    assert _hand_network(True)(x0).flatten().tolist() == [100.0, 11540.0]
    assert _hand_network(False)(x0).flatten().tolist() == [28.0, 1172.0]


def test_bias_is_added_after_the_concatenation_and_starts_uniform() -> None:
    net = CrossNetwork(
        2, 1, exponential=True, dropout=0.0, layer_norm=False, batch_norm=False, num_heads=1
    )
    b = net.b[0]
    assert b.shape == (2,)  # the full width D, not D/2 inside c
    assert ((b >= 0) & (b <= 1)).all() and net.w[0].bias is None
    with torch.no_grad():
        net.w[0].weight.fill_(1.0)
        b.copy_(torch.tensor([0.5, -2.0]))
    x0 = torch.tensor([[[1.0, 2.0]]])
    # h = [3, 9] + b = [3.5, 7]; x1 = x0 * h + x0 = [4.5, 16]
    assert net(x0).flatten().tolist() == [4.5, 16.0]


def test_self_mask_uses_layer_norm_of_c() -> None:
    net = CrossNetwork(
        4, 1, exponential=True, dropout=0.0, layer_norm=True, batch_norm=False, num_heads=1
    )
    c = torch.tensor([[[1.0, -3.0]]])
    expected = c * F.relu(F.layer_norm(c, (2,)))
    torch.testing.assert_close(net.mask(0, c), expected)


def test_tri_bce_weights_are_hinged_loss_gaps() -> None:
    labels = torch.tensor([1.0, 0.0])
    main, deep, shallow = (
        torch.tensor([0.0, 0.0]),
        torch.tensor([-2.0, 2.0]),
        torch.tensor([3.0, -3.0]),
    )
    bce = lambda z: F.binary_cross_entropy_with_logits(z, labels)  # noqa: E731
    l_main, l_d, l_s = bce(main), bce(deep), bce(shallow)
    assert l_d > l_main > l_s  # so w_D > 0 and w_S = 0
    expected = l_main + (l_d - l_main) * l_d
    torch.testing.assert_close(tri_bce(main, [deep, shallow], labels), expected)
    assert math.isclose(float(l_main), math.log(2), rel_tol=1e-6)


def test_tri_bce_auxiliary_losses_carry_gradient() -> None:
    """The FuxiCTR 2.0.2-2.3.3 bug (#122) left Tri-BCE unused; here the auxiliary losses and
    their undetached weights must reach the logits' gradients."""
    labels = torch.tensor([1.0, 0.0])
    logits = [torch.tensor([0.0, 0.0]), torch.tensor([-2.0, 2.0]), torch.tensor([3.0, -3.0])]

    def grads(detach: bool) -> list[torch.Tensor]:
        zs = [z.clone().requires_grad_(True) for z in logits]
        tri_bce(zs[0], zs[1:], labels, detach_weights=detach).backward()
        return [z.grad for z in zs]  # type: ignore[misc]

    full, detached = grads(False), grads(True)
    assert full[1].abs().sum() > 0  # L_D reaches the deep logit
    assert full[2].abs().sum() == 0  # w_S = 0: no gradient through the shallow term
    # undetached: d(w_D L_D)/dz_D = (L_D + w_D) dL_D/dz_D, detached only w_D dL_D/dz_D
    assert not torch.allclose(full[1], detached[1])
    assert not torch.allclose(full[0], detached[0])  # w_D = L_D - L also depends on the main logit


def _model(**kw: object) -> DCNv3:
    torch.manual_seed(0)
    return DCNv3(DCNv3Config(**SCHEMA, embedding_dim=4, **kw))  # type: ignore[arg-type]


def test_model_loss_is_tri_bce_plus_embedding_l2_and_the_switch_turns_it_off() -> None:
    b = batch([[3, 4], [7, 8, 9], [2]])
    labels = torch.tensor([1, 0, 1])
    model = _model(embedding_regularizer=0.1)
    model.eval()
    out = model(**b)
    torch.testing.assert_close(out["logits"], (out["logit_deep"] + out["logit_shallow"]) / 2)
    l2 = 0.05 * model.embeddings.l2()
    expected = tri_bce(out["logits"], [out["logit_deep"], out["logit_shallow"]], labels) + l2
    torch.testing.assert_close(model.compute_loss(out, labels), expected)
    bug = _model(embedding_regularizer=0.1, tri_bce=False)
    bug.load_state_dict(model.state_dict())
    bug.eval()
    plain = F.binary_cross_entropy_with_logits(out["logits"], labels.float()) + l2
    torch.testing.assert_close(bug.compute_loss(bug(**b), labels), plain)


def test_deep_head_gets_gradient_from_its_own_loss() -> None:
    """With Tri-BCE the deep head's gradient differs from what the averaged logit alone gives."""
    b = batch([[3, 4], [7, 8, 9], [2], [5, 6]])
    labels = torch.tensor([1, 0, 1, 0])
    grads = []
    for tri in (True, False):
        model = _model(tri_bce=tri, deep_net_dropout=0.0, shallow_net_dropout=0.0)
        with torch.no_grad():  # make the deep logit worse than the average: w_D > 0
            model.dfc.bias.fill_(-3.0)
        model.compute_loss(model(**b), labels).backward()
        grads.append(model.dfc.weight.grad.clone())  # type: ignore[union-attr]
    assert not torch.allclose(grads[0], grads[1])


def test_fuxictr_init() -> None:
    model = _model()
    assert model.dfc.bias.abs().sum() == 0 and model.sfc.bias.abs().sum() == 0
    assert model.embeddings.categorical.weight.std() < 1e-3  # N(0, 1e-4)
    for b in (*model.encoder.ecn.b, *model.encoder.lcn.b):
        assert float(b.detach().min()) >= 0 and float(b.detach().max()) <= 1


def test_odd_embedding_dim_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="must be even"):
        DCNv3Config(**SCHEMA, embedding_dim=5)  # type: ignore[arg-type]


def test_heads_split_the_field_embedding() -> None:
    model = _model(num_heads=2)
    assert model.embeddings.categorical.embedding_dim == 8
    out = model(**batch([[3, 4], [7]]))
    assert out["logits"].shape == (2,)
