from __future__ import annotations

import pytest
import torch
from baselines_helpers import PAD, VOCAB, assert_padding_invariant, padded_batch

from attnzoo_baselines.bilstm import BiLSTMClassifier
from attnzoo_baselines.config import BiLSTMConfig


def make(**kw) -> BiLSTMClassifier:
    torch.manual_seed(0)
    base = dict(vocab_size=VOCAB, num_classes=3, pad_token_id=PAD, d_model=8, d_hidden=8)
    return BiLSTMClassifier(BiLSTMConfig(**{**base, **kw}))


@pytest.mark.parametrize("pooling", ["max", "mean"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_shapes_and_padding_invariance(pooling, n_layers, seqs):
    model = make(pooling=pooling, n_layers=n_layers)
    assert model(*padded_batch(seqs, 11))["logits"].shape == (3, 3)
    assert_padding_invariant(model, seqs)


def test_pooling_modes_differ(seqs):
    batch = padded_batch(seqs, 11)
    a, b = make(pooling="max").eval(), make(pooling="mean").eval()
    assert not torch.allclose(a(*batch)["logits"], b(*batch)["logits"])


def test_every_parameter_gets_a_gradient_and_padding_row_stays_zero(seqs):
    model = make()
    model(*padded_batch(seqs, 11))["logits"].sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.emb.weight.grad[PAD].abs().sum() == 0


def test_all_padding_row_is_finite():
    model = make().eval()
    assert torch.isfinite(model(*padded_batch([[1, 2], []], 3))["logits"]).all()
