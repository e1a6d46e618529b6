from __future__ import annotations

import itertools

import pytest
import torch
from baselines_helpers import PAD, VOCAB, assert_padding_invariant, padded_batch

from attnzoo_baselines.config import TransformerConfig
from attnzoo_baselines.transformer import TransformerClassifier

COMBOS = list(itertools.product(("sdpa", "eager"), ("learned", "sinusoidal"), ("mean", "cls")))


def make(**kw) -> TransformerClassifier:
    torch.manual_seed(0)
    base = dict(
        vocab_size=VOCAB,
        num_classes=3,
        pad_token_id=PAD,
        max_seq_len=32,
        d_model=16,
        n_heads=2,
        n_layers=2,
        d_ff=32,
    )
    return TransformerClassifier(TransformerConfig(**{**base, **kw}))


@pytest.mark.parametrize(("attn_impl", "positions", "pooling"), COMBOS)
def test_shapes_and_padding_invariance(attn_impl, positions, pooling, seqs):
    model = make(attn_impl=attn_impl, positions=positions, pooling=pooling)
    out = model(*padded_batch(seqs, 11))
    assert out["logits"].shape == (3, 3)
    assert torch.isfinite(out["logits"]).all()
    assert_padding_invariant(model, seqs)


@pytest.mark.parametrize(("positions", "pooling"), [(p, q) for _, p, q in COMBOS[:4]])
def test_eager_equals_sdpa(positions, pooling, seqs):
    sdpa = make(attn_impl="sdpa", positions=positions, pooling=pooling).eval()
    eager = make(attn_impl="eager", positions=positions, pooling=pooling).eval()
    eager.load_state_dict(sdpa.state_dict())
    batch = padded_batch(seqs, 13)
    with torch.no_grad():
        torch.testing.assert_close(
            eager(*batch)["logits"], sdpa(*batch)["logits"], atol=1e-5, rtol=0
        )


def test_eager_equals_sdpa_gradients(seqs):
    sdpa = make(attn_impl="sdpa", dropout=0.0)
    eager = make(attn_impl="eager", dropout=0.0)
    eager.load_state_dict(sdpa.state_dict())
    batch = padded_batch(seqs, 12)
    for m in (sdpa, eager):
        m(*batch)["logits"].square().sum().backward()
    for (name, p), q in zip(sdpa.named_parameters(), eager.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_cls_pooling_adds_a_learned_vector_and_a_position(seqs):
    mean, cls = make(pooling="mean"), make(pooling="cls")
    assert cls.cls is not None and mean.cls is None
    assert cls.pos_emb.num_embeddings == mean.pos_emb.num_embeddings + 1
    batch = padded_batch(seqs, 11)
    cls.eval(), mean.eval()
    assert not torch.allclose(cls(*batch)["logits"], mean(*batch)["logits"])


def test_every_parameter_gets_a_gradient(seqs):
    model = make(pooling="cls")
    model(*padded_batch(seqs, 11))["logits"].sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_all_padding_row_is_finite():
    model = make().eval()
    ids, mask = padded_batch([[1, 2, 3], []], 4)
    for impl in ("sdpa", "eager"):
        model = make(attn_impl=impl).eval()
        assert torch.isfinite(model(ids, mask)["logits"]).all()


def test_attention_dropout_trains():
    model = make(attn_impl="sdpa", attn_dropout=0.1).train()
    out = model(*padded_batch([[1, 2, 3]], 3))["logits"]
    assert torch.isfinite(out).all()


def test_too_long_input_is_a_clear_error():
    model = make(max_seq_len=8)
    with pytest.raises(ValueError, match="max_seq_len=8"):
        model(*padded_batch([list(range(1, 10))], 9))


def test_heads_must_divide_width():
    with pytest.raises(ValueError, match="not divisible by n_heads"):
        TransformerConfig(d_model=30, n_heads=4)


def test_sinusoidal_table_is_not_saved():
    model = make(positions="sinusoidal")
    assert not any("pos" in k for k in model.state_dict())
