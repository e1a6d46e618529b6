"""Mamba4Rec's branch and CTR model: causality, padding, the layer rules, the init switch."""

from __future__ import annotations

import pytest
import torch
from attnzoo_mdaf.branches import MambaBranch
from attnzoo_mdaf.config_seq import Mamba4RecConfig
from attnzoo_mdaf.mamba import Mamba, SurrogateSSM
from attnzoo_mdaf.mamba4rec import Mamba4RecCTR
from mdaf_seq_batches import SCHEMA, batch, randomise, schema, train_from_cli
from torch.nn import functional as F

from attnzoo.nn import FieldEmbeddings

HISTORIES = [[3, 9, 4, 17, 8, 21, 5, 11], [12, 6], [], [7, 7, 25, 2, 14]]


def branch(n_layers: int = 2, impl: str = "sequential", d_model: int = 12, **kw: object):
    torch.manual_seed(0)
    cfg = schema()
    emb = FieldEmbeddings(cfg, 4)
    b = MambaBranch(
        emb, cfg, d_model=d_model, n_layers=n_layers, dropout=0.2, d_state=4, d_conv=3,
        expand=2, impl=impl, **kw,
    )  # fmt: skip
    randomise(emb)
    randomise(b)
    return b.double().eval(), emb.double()


@pytest.mark.parametrize("impl", ["sequential", "chunked"])
def test_a_later_event_never_changes_earlier_states(impl):
    b, _ = branch(impl=impl)
    x = batch([[3, 9, 4, 17, 8, 21, 5, 11]])
    later = {k: v.clone() for k, v in x.items()}
    later["sequences"][:, :, 5:] = torch.tensor([[26, 2, 13], [3, 4, 5]])
    with torch.no_grad():
        before, _ = b.states(x)
        after, _ = b.states(later)
    torch.testing.assert_close(after[:, :5], before[:, :5])
    assert not torch.allclose(after[:, 5:], before[:, 5:])


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_left_padding_equals_unpadded(pooling):
    b, _ = branch(pooling=pooling)
    with torch.no_grad():
        for h in HISTORIES[:2] + HISTORIES[3:]:
            alone = b(batch([h]))
            states, _ = b.states(batch([h]))
            left_states, _ = b.states(batch([h], 10, left=True))
            torch.testing.assert_close(left_states[:, 10 - len(h) :], states)
            torch.testing.assert_close(b(batch([h], 10, left=True)), alone)
            torch.testing.assert_close(b(batch([h], 10)), alone)  # right padding


def test_without_the_scan_mask_left_padding_would_leak():
    """The control of the test above: the conv bias and LayerNorm make pads non-zero, so only
    the mask keeps them out."""
    b, _ = branch()
    x = batch([[3, 9, 4]], 8, left=True)
    with torch.no_grad():
        masked, mask = b.states(x)
        events, _ = b.history.events(x)
        h = b.norm(b.proj(events))
        for layer in b.layers:
            h = layer(h, torch.ones_like(mask))
    assert not torch.allclose(h[:, -3:], masked[:, -3:])


def test_last_pooling_is_the_state_at_the_last_valid_event_and_empty_is_zero():
    b, _ = branch(pooling="last")
    x = batch(HISTORIES)
    with torch.no_grad():
        states, _ = b.states(x)
        out = b(x)
    for i, h in enumerate(HISTORIES):
        expected = states[i, len(h) - 1] if h else torch.zeros(12, dtype=torch.float64)
        torch.testing.assert_close(out[i], expected)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_one_layer_has_no_residual_and_more_layers_do(n_layers):
    b, _ = branch(n_layers=n_layers)
    layer = b.layers[0]
    x = torch.randn(2, 6, 12, dtype=torch.float64)
    mask = torch.ones(2, 6)
    with torch.no_grad():
        y = layer.mamba(x, mask)
        no_res = layer.ffn(layer.norm(y))
        res = layer.ffn(layer.norm(y + x))
        out = layer(x, mask)
    torch.testing.assert_close(out, no_res if n_layers == 1 else res)
    assert not torch.allclose(no_res, res)


def test_ffn_is_4d_gelu_with_residual_layernorm_eps_1e_12():
    b, _ = branch()
    ffn = b.layers[0].ffn
    assert (ffn.w_1.in_features, ffn.w_1.out_features) == (12, 48)
    assert ffn.norm.eps == 1e-12 and b.norm.eps == 1e-12 and b.layers[0].norm.eps == 1e-12
    x = torch.randn(3, 12, dtype=torch.float64)
    with torch.no_grad():
        expected = ffn.norm(ffn.w_2(F.gelu(ffn.w_1(x))) + x)
        torch.testing.assert_close(ffn(x), expected)


def _fresh(reinit_inner: bool) -> MambaBranch:
    torch.manual_seed(0)
    cfg = schema()
    return MambaBranch(
        FieldEmbeddings(cfg, 4), cfg, d_model=32, n_layers=2, dropout=0.2, d_state=4,
        d_conv=4, expand=2, reinit_inner=reinit_inner,
    )  # fmt: skip


def test_the_reinit_switch_overwrites_the_dt_bias_like_mamba4rec():
    native, original = _fresh(False), _fresh(True)
    for layer in native.layers:
        dt = F.softplus(layer.mamba.dt_proj.bias)
        assert dt.min() >= 1e-3 - 1e-7 and dt.max() <= 1e-1 + 1e-7  # mamba_ssm's dt init
    for layer in original.layers:
        m = layer.mamba
        assert torch.count_nonzero(m.dt_proj.bias) == 0  # softplus(0) = 0.69 at the start
        for lin in (m.in_proj, m.x_proj, m.dt_proj, m.out_proj):
            assert abs(lin.weight.std().item() - 0.02) < 0.004
        assert torch.equal(m.A_log, native.layers[0].mamba.A_log)  # not a linear: kept
    for b in (native, original):  # Mamba4Rec's own layers are N(0, 0.02) either way
        w = b.layers[0].ffn.w_1.weight
        assert (
            abs(w.std().item() - 0.02) < 0.002
            and torch.count_nonzero(b.layers[0].ffn.w_1.bias) == 0
        )


def test_the_surrogate_is_the_seeds_branch_not_a_scan():
    sur, _ = branch(impl="mdaf_surrogate")
    real, _ = branch()
    assert all(isinstance(layer.ssm, SurrogateSSM) for layer in sur.layers)
    assert not any(isinstance(m, Mamba) for m in sur.modules())
    assert not any(hasattr(layer, "ffn") for layer in sur.layers)  # no FFN in the seed
    assert all(isinstance(layer.mamba, Mamba) for layer in real.layers)


def test_the_branch_does_not_own_the_shared_table():
    model = Mamba4RecCTR(Mamba4RecConfig(**SCHEMA, embedding_dim=4, d_model=8, d_state=4))
    names = list(model.state_dict())
    assert not any(n.startswith("branch.") and "embeddings" in n for n in names)
    assert "embeddings.categorical.weight" in names
    assert model.branch.history.embeddings is model.embeddings


def test_every_parameter_gets_a_gradient_and_no_table_is_dead():
    cfg = Mamba4RecConfig(
        **{**SCHEMA, "sequence_fields": {**SCHEMA["sequence_fields"], "tags": "tags"}},
        sequence_sizes={"tags": 9}, embedding_dim=4, d_model=8, d_state=4, n_layers=2,
    )  # fmt: skip
    model = Mamba4RecCTR(cfg).train()
    x = batch(HISTORIES)
    x["sequences"] = torch.cat([x["sequences"], x["sequences"][:, :1] % 7 + 2], dim=1)
    x["sequence_mask"] = torch.cat([x["sequence_mask"], x["sequence_mask"][:, :1]], dim=1)
    out = model(**x)
    model.compute_loss(out, torch.tensor([1, 0, 1, 0])).backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not dead, dead


def test_train_from_the_cli_learns_the_fixture(tmp_path):
    result = train_from_cli("mamba4rec.tiny", tmp_path)
    assert result["status"] == "completed"
    assert result["test"]["auc"] > 0.7, result  # the fixture's click signal is learnable


def test_unknown_impl_suggests_the_close_one():
    cfg = schema()
    with pytest.raises(ValueError, match="Did you mean 'chunked'"):
        MambaBranch(
            FieldEmbeddings(cfg, 4), cfg, d_model=8, n_layers=1, dropout=0.0, d_state=4,
            d_conv=4, expand=2, impl="chunkd",
        )  # fmt: skip


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_branch_on_cuda_matches_the_cpu_reference():
    """``auto`` on CUDA tensors takes mamba-ssm's kernel when installed, else the PyTorch scan."""
    b, emb = branch(pooling="last")
    x = batch(HISTORIES, 10, left=True)
    with torch.no_grad():
        ref = b(x)
        b.cuda().float()
        emb.cuda().float()
        b.layers[0].mamba.impl = b.layers[1].mamba.impl = "auto"
        got = b({k: v.cuda() for k, v in x.items()})
    torch.testing.assert_close(got.double().cpu(), ref, atol=1e-4, rtol=1e-4)


def test_a_schema_without_a_history_is_a_clear_error():
    with pytest.raises(ValueError, match="data.processor.sequences"):
        Mamba4RecCTR(Mamba4RecConfig(**{**SCHEMA, "sequence_fields": {}}))
