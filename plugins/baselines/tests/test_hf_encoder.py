from __future__ import annotations

import sys

import pytest
import torch
from baselines_helpers import PAD, VOCAB, assert_padding_invariant, padded_batch
from safetensors.torch import load_model, save_model

from attnzoo_baselines.config import HFEncoderConfig
from attnzoo_baselines.hf_encoder import HFEncoderClassifier

TINY = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "vocab_size": 128,
}


def make(**kw) -> HFEncoderClassifier:
    torch.manual_seed(0)
    base = dict(hf_config=TINY, vocab_size=VOCAB, num_classes=3, pad_token_id=PAD, max_seq_len=64)
    return HFEncoderClassifier(HFEncoderConfig(**{**base, **kw}))


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_tiny_config_shapes_and_padding_invariance(pooling, seqs):
    model = make(pooling=pooling)
    assert model(*padded_batch(seqs, 11))["logits"].shape == (3, 3)
    assert_padding_invariant(model, seqs)


def test_trainer_vocab_overrides_hf_config_vocab():
    model = make(vocab_size=77)
    assert model.encoder.get_input_embeddings().num_embeddings == 77


def test_pooling_modes_differ(seqs):
    cls, mean = make(pooling="cls").eval(), make(pooling="mean").eval()
    batch = padded_batch(seqs, 11)
    assert not torch.allclose(cls(*batch)["logits"], mean(*batch)["logits"])


def test_every_trainable_parameter_gets_a_gradient(seqs):
    model = make()
    assert getattr(model.encoder, "pooler", None) is None  # dropped: our pooling never uses it
    model(*padded_batch(seqs, 11))["logits"].sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_freeze_encoder_trains_only_the_head(seqs):
    model = make(freeze_encoder=True).train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"head.weight", "head.bias"}
    assert not model.encoder.training  # frozen encoder runs without dropout


def test_safetensors_round_trip(tmp_path, seqs):
    model = make().eval()
    path = tmp_path / "model.safetensors"
    save_model(model, str(path))
    fresh = make()
    torch.nn.init.zeros_(fresh.head.weight)  # make sure loading really overwrites
    missing, unexpected = load_model(fresh.eval(), str(path))
    assert not missing and not unexpected
    batch = padded_batch(seqs, 11)
    with torch.no_grad():
        torch.testing.assert_close(fresh(*batch)["logits"], model(*batch)["logits"])


def test_local_folder_loads_offline(tmp_path, seqs):
    model = make().eval()
    model.encoder.save_pretrained(tmp_path)
    cfg = HFEncoderConfig(pretrained=str(tmp_path), num_classes=3, max_seq_len=64)
    assert cfg.pretrained_tokenizer() == str(tmp_path)
    loaded = HFEncoderClassifier(cfg).eval()
    loaded.head.load_state_dict(model.head.state_dict())
    batch = padded_batch(seqs, 11)
    with torch.no_grad():
        torch.testing.assert_close(loaded(*batch)["logits"], model(*batch)["logits"])


@pytest.mark.parametrize(
    "kw",
    [{}, {"pretrained": "some/model", "hf_config": TINY}],
    ids=["neither", "both"],
)
def test_exactly_one_source(kw):
    with pytest.raises(ValueError, match="exactly one of 'pretrained' and 'hf_config'"):
        HFEncoderConfig(**kw)


def test_hf_config_needs_model_type():
    with pytest.raises(ValueError, match="model_type"):
        HFEncoderConfig(hf_config={"hidden_size": 32})


def test_missing_pip_package_says_how_to_install():
    with pytest.raises(ValueError, match="pip install no-such-pkg-xyz"):
        HFEncoderConfig(pretrained="pkg:no_such_pkg_xyz/model")


def _install_fake_distribution(site, package):
    """What pip leaves in site-packages: the package folder and its .dist-info metadata."""
    (site / package / "model").mkdir(parents=True)
    (site / package / "__init__.py").write_text(
        f"open({str(site / 'IMPORTED')!r}, 'w').close()\n"  # resolving must not import it
    )
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "top_level.txt").write_text(package + "\n")


def test_pkg_reference_resolves_inside_the_package(tmp_path, monkeypatch):
    _install_fake_distribution(tmp_path, "fake_encoder_pkg")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = HFEncoderConfig(pretrained="pkg:fake_encoder_pkg/model")
    assert cfg.pretrained == "pkg:fake_encoder_pkg/model"  # the saved config stays portable
    assert cfg.pretrained_tokenizer() == str(tmp_path / "fake_encoder_pkg" / "model")
    with pytest.raises(ValueError, match="has no folder"):
        HFEncoderConfig(pretrained="pkg:fake_encoder_pkg/weights")
    with pytest.raises(ValueError, match="without '..'"):
        HFEncoderConfig(pretrained="pkg:fake_encoder_pkg/../..")
    assert not (tmp_path / "IMPORTED").exists()


@pytest.mark.parametrize("ref", ["pkg:evil_encoder/model", "pkg:evil_encoder.sub/model"])
def test_pkg_reference_never_imports_what_a_folder_names(tmp_path, monkeypatch, ref):
    """A model folder's config.json naming a package beside it (no distribution installed)
    must not make attnzoo import it: the package's code would run."""
    marker = tmp_path / "CODE_RAN"
    (tmp_path / "evil_encoder" / "sub" / "model").mkdir(parents=True)
    (tmp_path / "evil_encoder" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / "evil_encoder" / "sub" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="not installed|no dots"):
        HFEncoderConfig(pretrained=ref)
    assert not marker.exists()
    assert "evil_encoder" not in sys.modules


def test_unreachable_hub_id_is_a_clear_error(monkeypatch):
    import transformers

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", offline)
    cfg = HFEncoderConfig(pretrained="org/not-downloaded", num_classes=2)
    with pytest.raises(ValueError, match="not a local folder"):
        HFEncoderClassifier(cfg)


def test_max_seq_len_beyond_positions_is_rejected():
    with pytest.raises(ValueError, match="max_position_embeddings"):
        make(hf_config={**TINY, "max_position_embeddings": 32}, max_seq_len=64)


def test_loading_a_model_folder_that_names_a_package_runs_no_code(tmp_path, monkeypatch):
    """The attack end to end: a downloaded model folder whose config.json points pretrained at
    a package shipped beside it. Loading it is refused and the package's code never runs."""
    import json

    import attnzoo
    from attnzoo.errors import AttnzooError

    model = attnzoo.create_model("hf-encoder", hf_config=TINY, num_classes=2, vocab_size=128)
    folder = attnzoo.save_model(model, tmp_path / "download" / "model", label_names=["a", "b"])
    marker = tmp_path / "CODE_RAN"
    evil = tmp_path / "download" / "evil_encoder"
    (evil / "model").mkdir(parents=True)
    (evil / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    config = json.loads((folder / "config.json").read_text())
    config.pop("hf_config")
    config["pretrained"] = "pkg:evil_encoder/model"
    (folder / "config.json").write_text(json.dumps(config))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    monkeypatch.syspath_prepend(str(tmp_path / "download"))  # as if run from that folder
    monkeypatch.chdir(tmp_path / "download")
    with pytest.raises((AttnzooError, ValueError), match="not installed"):
        attnzoo.load_model(folder)
    assert not marker.exists() and "evil_encoder" not in sys.modules
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
