"""attnzoo.hf: resolving and building a pretrained encoder, offline first, nothing imported
that a folder names, transformers only when an encoder is built."""

from __future__ import annotations

import subprocess
import sys

import pytest

from attnzoo.hf import load_encoder, resolve_pretrained

TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 32,
}


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


def test_plain_references_pass_through():
    assert resolve_pretrained("org/some-model") == "org/some-model"
    assert resolve_pretrained("/models/bert") == "/models/bert"


def test_pkg_reference_resolves_inside_the_package_without_importing_it(tmp_path, monkeypatch):
    _install_fake_distribution(tmp_path, "fake_hf_pkg")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_pretrained("pkg:fake_hf_pkg/model") == str(tmp_path / "fake_hf_pkg" / "model")
    with pytest.raises(ValueError, match="has no folder"):
        resolve_pretrained("pkg:fake_hf_pkg/weights")
    with pytest.raises(ValueError, match="without '..'"):
        resolve_pretrained("pkg:fake_hf_pkg/../..")
    assert not (tmp_path / "IMPORTED").exists()
    assert "fake_hf_pkg" not in sys.modules


@pytest.mark.parametrize(
    ("ref", "match"),
    [
        ("pkg:no_such_pkg_xyz/model", "pip install no-such-pkg-xyz"),
        ("pkg:dotted.name/model", "no dots"),
        ("pkg:ok_name/", "relative path"),
    ],
)
def test_bad_pkg_references_say_what_to_do(ref, match):
    with pytest.raises(ValueError, match=match):
        resolve_pretrained(ref)


def test_importing_attnzoo_hf_does_not_import_transformers():
    code = "import sys, attnzoo.hf; print('transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_transformers_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"attnzoo-core\[hf\]"):
        load_encoder(hf_config=TINY_BERT)


def test_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one"):
        load_encoder()
    with pytest.raises(ValueError, match="exactly one"):
        load_encoder("x", hf_config=TINY_BERT)


def test_hf_config_builds_a_random_encoder_with_the_runs_vocabulary():
    pytest.importorskip("transformers")
    enc = load_encoder(hf_config={**TINY_BERT, "vocab_size": 999}, vocab_size=50, pad_token_id=0)
    assert enc.config.vocab_size == 50
    assert enc.config.hidden_size == 16
    with pytest.raises(ValueError, match="model_type"):
        load_encoder(hf_config={"hidden_size": 16})


def test_local_folder_loads_offline_and_a_missing_hub_id_explains(tmp_path, monkeypatch):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    saved = load_encoder(hf_config=TINY_BERT, vocab_size=40)
    saved.save_pretrained(tmp_path / "enc")
    loaded = load_encoder(str(tmp_path / "enc"))
    for (name, a), b in zip(saved.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", offline)
    with pytest.raises(ValueError, match="not a local folder"):
        load_encoder("org/not-downloaded")
