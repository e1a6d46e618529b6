from __future__ import annotations

import pytest
import torch
from baselines_helpers import PAD, VOCAB, assert_padding_invariant, padded_batch

from attnzoo_baselines.config import FastTextConfig
from attnzoo_baselines.fasttext import FastTextClassifier, hash_ngrams, ngram_mask


def make(**kw) -> FastTextClassifier:
    torch.manual_seed(0)
    base = dict(vocab_size=VOCAB, num_classes=3, pad_token_id=PAD, d_model=8, num_buckets=97)
    return FastTextClassifier(FastTextConfig(**{**base, **kw}))


@pytest.mark.parametrize("ngrams", [1, 2, 3])
def test_shapes_and_padding_invariance(ngrams, seqs):
    model = make(ngrams=ngrams)
    assert model(*padded_batch(seqs, 11))["logits"].shape == (3, 3)
    assert_padding_invariant(model, seqs)


def test_single_token_input_with_trigrams():
    model = make(ngrams=3).eval()
    assert model(*padded_batch([[5]], 1))["logits"].shape == (1, 3)


def test_hash_is_deterministic_order_aware_and_in_range():
    ids = torch.tensor([[1, 2, 3, 1, 2], [2, 1, 3, 2, 1]])
    h2 = hash_ngrams(ids, 2, 1000)
    assert h2.shape == (2, 4)
    assert torch.equal(h2, hash_ngrams(ids.clone(), 2, 1000))
    assert h2[0, 0] == h2[0, 3]  # same bigram (1, 2), same bucket
    assert h2[0, 0] != h2[1, 1]  # (1, 2) vs (1, 3)
    assert h2[0, 0] != h2[1, 0]  # (1, 2) vs (2, 1): order matters
    assert ((h2 >= 0) & (h2 < 1000)).all()
    # a bigram and the trigram starting with it use different seeds
    assert hash_ngrams(ids, 3, 10**6)[0, 0] != hash_ngrams(ids, 2, 10**6)[0, 0]


def test_ngram_mask_needs_every_token_real():
    mask = torch.tensor([[1, 1, 1, 0, 0]])
    assert ngram_mask(mask, 2).tolist() == [[True, True, False, False]]
    assert ngram_mask(mask, 3).tolist() == [[True, False, False]]


def test_bigrams_change_the_output(seqs):
    uni, bi = make(ngrams=1).eval(), make(ngrams=2).eval()
    bi.words.load_state_dict(uni.words.state_dict())
    bi.head.load_state_dict(uni.head.state_dict())
    batch = padded_batch(seqs, 11)
    assert not torch.allclose(uni(*batch)["logits"], bi(*batch)["logits"])


def test_every_parameter_gets_a_gradient(seqs):
    model = make(ngrams=3)
    model(*padded_batch(seqs, 11))["logits"].sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.words.weight.grad[PAD].abs().sum() == 0  # padding has weight 0
