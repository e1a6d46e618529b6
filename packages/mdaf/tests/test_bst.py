"""BST's branch and CTR model: FuxiCTR's token layout and masking, and the seed's variant."""

from __future__ import annotations

import pytest
import torch
from attnzoo_mdaf.branches import BSTBranch, sinusoids
from attnzoo_mdaf.bst import BSTCTR
from attnzoo_mdaf.config_seq import BSTConfig
from mdaf_seq_batches import SCHEMA, batch, randomise, schema, train_from_cli

from attnzoo.errors import ConfigError
from attnzoo.nn import FieldEmbeddings

HISTORIES = [[3, 9, 4, 17, 8, 21, 5, 11], [12, 6], [], [7, 7, 25, 2, 14]]
D = 4


def branch(variant: str = "fuxictr", n_layers: int = 2):
    torch.manual_seed(0)
    cfg = schema()
    emb = FieldEmbeddings(cfg, D)
    b = BSTBranch(emb, cfg, n_heads=2, n_layers=n_layers, dropout=0.1, variant=variant)
    randomise(emb)
    randomise(b)
    return b.double().eval(), emb.double()


def test_the_target_is_the_last_token_and_positions_are_concatenated():
    b, emb = branch()
    x = batch(HISTORIES)
    with torch.no_grad():
        tokens, valid = b.embed(x)
    L = x["sequences"].shape[-1]
    assert tokens.shape == (4, L + 1, 3 * D) and b.out_dim == 3 * D
    cat = x["categorical"]
    item = emb.categorical.weight[emb.start_of["item_id"] + cat[:, 1]]
    category = emb.categorical.weight[emb.start_of["category"] + cat[:, 2]]
    torch.testing.assert_close(tokens[:, -1, : 2 * D], torch.cat([item, category], dim=-1))
    torch.testing.assert_close(tokens[:, -1, 2 * D :], b.position[10].expand(4, D))
    # history tokens: [item ‖ category ‖ position], the last event at position L_max - 1
    for i, h in enumerate(HISTORIES):
        for j, it in enumerate(h):
            e = emb.categorical.weight[emb.start_of["item_id"] + it]
            torch.testing.assert_close(tokens[i, j, :D], e)  # concatenated, not added
            torch.testing.assert_close(tokens[i, j, 2 * D :], b.position[10 - len(h) + j])
    assert valid[:, -1].all() and valid[2].sum() == 1  # the target is always valid


def test_positions_are_learned_and_start_as_sinusoids():
    torch.manual_seed(0)
    cfg = schema()
    b = BSTBranch(FieldEmbeddings(cfg, D), cfg, n_heads=2, n_layers=1, dropout=0.0)
    assert isinstance(b.position, torch.nn.Parameter)
    torch.testing.assert_close(b.position.data, sinusoids(11, D))
    assert torch.allclose(
        sinusoids(3, 4)[1], torch.tensor([0.8415, 0.5403, 0.0100, 0.9999]), atol=1e-4
    )


@pytest.mark.parametrize("variant", ["fuxictr", "mdaf"])
def test_padding_and_its_side_never_matter(variant):
    """Padded keys are masked (except each pad's own position): a history padded on the right,
    on the left, or not at all gives the same vector."""
    b, _ = branch(variant)
    with torch.no_grad():
        for h in [HISTORIES[0], HISTORIES[1], HISTORIES[3]]:
            alone = b(batch([h]))
            torch.testing.assert_close(b(batch([h], 10)), alone)
            torch.testing.assert_close(b(batch([h], 10, left=True)), alone)


def test_padded_keys_masked_except_self_so_an_empty_history_is_finite():
    b, _ = branch()
    with torch.no_grad():
        out = b(batch([[]], 6))
    assert torch.isfinite(out).all()
    m, _ = branch("mdaf")
    with torch.no_grad():
        assert torch.equal(m(batch([[]], 6)), torch.zeros(1, D, dtype=torch.float64))


def test_fuxictr_block_is_post_ln_with_a_leaky_relu_ffn():
    b, _ = branch(n_layers=1)
    block = b.blocks[0]
    x = torch.randn(2, 5, 3 * D, dtype=torch.float64)
    no_mask = torch.zeros(4, 5, 5, dtype=torch.bool)
    with torch.no_grad():
        attn, _ = block.attention(x, x, x)
        s = block.norm1(attn + x)
        w1, w2 = block.ffn[0], block.ffn[2]
        expected = block.norm2(w2(torch.nn.functional.leaky_relu(w1(s))) + s)
        torch.testing.assert_close(block(x, no_mask), expected)
    assert w1.out_features == 3 * D  # FuxiCTR: ffn_dim = model_dim


def test_mdaf_variant_differs_as_specified():
    m, emb = branch("mdaf")
    f, _ = branch("fuxictr")
    x = batch(HISTORIES)
    L = x["sequences"].shape[-1]
    assert m.names == ["item_history"] and m.out_dim == D  # no category, no position width
    with torch.no_grad():
        tokens, valid = m.embed(x)
        assert tokens.shape == (4, L, D)  # no target token
        # fixed sinusoids, added to the item embedding
        assert "sinusoid" in dict(m.named_buffers()) and not hasattr(m, "position")
        h = HISTORIES[0]
        items = emb.categorical.weight[emb.start_of["item_id"] + torch.tensor(h)]
        torch.testing.assert_close(tokens[0], items + sinusoids(10, D)[10 - len(h) :])
        # unscaled dot-product target attention over the outputs
        out, _ = m.tokens(x)
        target = emb.categorical.weight[emb.start_of["item_id"] + x["categorical"][:, 1]]
        for i, hist in enumerate(HISTORIES):
            if not hist:
                continue
            o = out[i, : len(hist)]
            w = torch.softmax(o @ target[i], dim=0)  # no 1/sqrt(d)
            torch.testing.assert_close(m(x)[i], w @ o)
        # the category history is ignored by the seed's variant, not by FuxiCTR's
        other = {k: v.clone() for k, v in x.items()}
        other["sequences"][:, 1] = torch.where(x["sequence_mask"][:, 1].bool(), 5, 0)
        torch.testing.assert_close(m(other), m(x))
        assert not torch.allclose(f(other), f(x))
    layer = m.blocks[0]
    assert isinstance(layer, torch.nn.TransformerEncoderLayer) and not layer.norm_first
    assert layer.linear1.out_features == 2 * D and layer.activation_relu_or_gelu == 1  # ReLU


def test_ctr_model_pools_the_sequences_the_mdaf_variant_does_not_read():
    cfg = BSTConfig(**SCHEMA, embedding_dim=D, variant="mdaf")
    model = BSTCTR(cfg)
    # 3 fields + price + the category history's mean, then the branch
    assert model.mlp.net[0].in_features == 5 * D + D
    model.train()
    out = model(**batch(HISTORIES))
    model.compute_loss(out, torch.tensor([1, 0, 1, 0])).backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not dead, dead


def test_heads_must_divide_the_token_width():
    with pytest.raises(ValueError, match="not divisible by n_heads=4"):
        BSTConfig(**SCHEMA, embedding_dim=10, n_heads=4)  # (2 + 1) * 10 = 30
    BSTConfig(**SCHEMA, embedding_dim=10, n_heads=3)
    from attnzoo.api import build_config

    with pytest.raises(ConfigError, match="Did you mean 'variant'"):
        build_config("bst.tiny", variante="mdaf")


def test_unknown_variant_suggests_the_close_one():
    cfg = schema()
    with pytest.raises(ValueError, match="Did you mean 'mdaf'"):
        BSTBranch(FieldEmbeddings(cfg, D), cfg, n_heads=2, n_layers=1, dropout=0.0, variant="mdf")


def test_a_history_longer_than_the_position_table_is_a_clear_error():
    b, _ = branch()
    with pytest.raises(ValueError, match="max_history"):
        b(batch([list(range(2, 14))]))


def test_train_from_the_cli_learns_the_fixture(tmp_path):
    result = train_from_cli("bst.tiny", tmp_path)
    assert result["status"] == "completed"
    assert result["test"]["auc"] > 0.7, result  # the fixture's click signal is learnable
