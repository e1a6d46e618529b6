"""The processor protocol and the text input kind: encode once, collate, save/load, predict."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

import attnzoo
from attnzoo import hookimpl
from attnzoo.data import load_local_files, load_processor, prepare_data
from attnzoo.data.processors.text import TextProcessor, cached_tokenizer, encode_texts
from attnzoo.data.tokenizer import build_tokenizer
from attnzoo.errors import DataError, PluginError
from attnzoo.plugins import get_host
from attnzoo.specs import ModelSpec
from attnzoo.testing.data import make_text_dataset, make_texts


def _naive_pad(seqs, pad):
    longest = max(len(s) for s in seqs)
    ids = np.full((len(seqs), longest), pad, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return ids, mask


def test_text_collate_equals_per_row_padding(tmp_path):
    ds = load_local_files(make_text_dataset(tmp_path, n=40)).ensure_splits(0.2, 0.2, 0)
    tok = build_tokenizer("word", ds.splits["train"]["text"], vocab_size=100, min_frequency=1)
    proc = TextProcessor(tok, max_length=9)
    enc = proc.encode(ds.splits["train"])
    seqs = encode_texts(tok, ds.splits["train"]["text"], 9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        idx = rng.choice(enc.n, size=7, replace=False)
        batch = proc.collate(enc, idx)
        ids, mask = _naive_pad([seqs[i] for i in idx], proc.pad_token_id)
        np.testing.assert_array_equal(batch["input_ids"], ids)
        np.testing.assert_array_equal(batch["attention_mask"], mask)
    np.testing.assert_array_equal(enc.labels, ds.splits["train"]["label"])


def test_cutting_long_texts_before_encoding_changes_no_token():
    texts, _ = make_texts(30, seed=1, length=(150, 400))
    texts += ["", "oneverylongwordwithoutspaces" * 50, "short text"]
    texts += ["x" * 250 + " " + " ".join(["match goal"] * 40)]  # a head too short: re-encoded
    for kind in ("wordpiece", "bpe", "word"):
        tok = build_tokenizer(kind, texts, vocab_size=300, min_frequency=1)
        fast = encode_texts(tok, texts, max_length=16)  # budget 256 chars: most texts are cut
        tok.enable_truncation(16)
        slow = [np.asarray(e.ids) for e in tok.encode_batch(texts)]
        for text, a, b in zip(texts, fast, slow, strict=True):
            if text:  # (an empty text becomes one [UNK] on purpose)
                np.testing.assert_array_equal(a, b)


def test_processor_round_trip_and_legacy_folder(tmp_path):
    ds = load_local_files(make_text_dataset(tmp_path, n=30)).ensure_splits(0.2, 0.2, 0)
    proc = TextProcessor(max_length=12, tokenizer_config={"kind": "word", "min_frequency": 1})
    proc.fit(ds)
    proc.save(tmp_path / "m")
    settings = json.loads((tmp_path / "m" / "processor.json").read_text())
    assert settings["kind"] == "text" and settings["tokenizer"] == "tokenizer.json"
    again = load_processor(tmp_path / "m")
    texts = ds.splits["test"]["text"]
    a, b = proc.from_records(texts), again.from_records(texts)
    np.testing.assert_array_equal(a.arrays["ids"], b.arrays["ids"])
    assert again.config_fields() == proc.config_fields()
    (tmp_path / "m" / "tokenizer.json").unlink()
    with pytest.raises(attnzoo.errors.CheckpointError, match="tokenizer.json, which is missing"):
        load_processor(tmp_path / "m")


def test_records_may_be_dicts_and_errors_name_the_input():
    proc = TextProcessor(build_tokenizer("word", ["a b c"], min_frequency=1), max_length=4)
    enc = proc.from_records([{"text": "a b"}, "c"])
    assert enc.n == 2
    with pytest.raises(DataError, match="Input 0 has no 'text' field"):
        proc.from_records([{"body": "a"}])
    ids_only = TextProcessor(max_length=3, pretokenized_vocab_size=10)
    batch = ids_only.collate(ids_only.from_records([[3, 4, 5, 6], [7]]), [0, 1])
    np.testing.assert_array_equal(batch["input_ids"], [[3, 4, 5], [7, 0, 0]])
    with pytest.raises(DataError, match="lists of token ids"):
        ids_only.from_records(["some text"])


def test_trained_tokenizer_is_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNZOO_CACHE", str(tmp_path / "cache"))
    texts, _ = make_texts(60, seed=2)
    cfg = {"kind": "wordpiece", "vocab_size": 120, "min_frequency": 1, "lowercase": True}
    first = cached_tokenizer(cfg, texts)
    assert len(list((tmp_path / "cache" / "tokenizers").glob("*.json"))) == 1
    assert cached_tokenizer(cfg, texts).get_vocab() == first.get_vocab()
    cached_tokenizer({**cfg, "vocab_size": 100}, texts)
    cached_tokenizer(cfg, texts[:-1])
    assert len(list((tmp_path / "cache" / "tokenizers").glob("*.json"))) == 3


def test_prepared_data_batches_carry_labels(tmp_path):
    ds = load_local_files(make_text_dataset(tmp_path, n=30)).ensure_splits(0.2, 0.2, 0)
    proc = TextProcessor(build_tokenizer("word", ds.splits["train"]["text"]), max_length=8)
    data = prepare_data(ds, proc)
    assert data.num_examples("validation") == len(ds.splits["validation"])
    batch = data.collate("validation", [0, 2])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert data.groups("validation") is None


def _register(plugin_name, **spec):
    def register_models(registry):
        registry.add(ModelSpec(config="tinymodels:TinyConfig", factory="tinymodels:Tiny", **spec))

    get_host().register(
        types.SimpleNamespace(register_models=hookimpl(register_models)), plugin_name
    )
    from attnzoo import registry

    registry.reset()


def test_registry_rejects_unknown_task_input_kind_and_framework():
    _register("badtask", name="m1", task="poetry")
    with pytest.raises(PluginError, match="unknown task 'poetry'"):
        attnzoo.list_models()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("input_kind", "audio", "input kind 'audio'"), ("framework", "jax", "framework 'jax'")],
)
def test_registry_rejects_models_nothing_can_feed_or_train(field, value, message):
    _register("badref", name="m2", **{field: value})
    with pytest.raises(PluginError, match=message):
        attnzoo.list_models()


def test_model_of_one_kind_refuses_a_dataset_of_another(tmp_path):
    from attnzoo.api import check_input_kind
    from attnzoo.data import Dataset
    from attnzoo.errors import ConfigError
    from attnzoo.registry import get_model_spec

    ds = Dataset({}, ["0", "1"], name="clicks", input_kind="tabular", task="ctr")
    with pytest.raises(ConfigError, match="reads 'text' inputs but dataset 'clicks' is 'tabular'"):
        check_input_kind(get_model_spec("tiny"), ds, "clicks")


def test_evaluate_on_a_subset_of_the_labels_works_and_unknown_labels_are_refused(
    tiny_csv, tmp_path
):
    import csv

    from conftest import run_config

    result = attnzoo.train(run_config(tiny_csv, tmp_path / "runs", epochs=1))
    texts, labels = make_texts(30, seed=5)
    subset = tmp_path / "subset.csv"
    with subset.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows((t, y) for t, y in zip(texts, labels, strict=True) if y != "money")
    metrics = attnzoo.evaluate(result["run_dir"], str(subset), split="train")
    # (the file gets a validation and a test split carved out, as any dataset without them)
    assert 0 < metrics["num_examples"] < sum(y != "money" for y in labels)
    assert 0.0 <= metrics["accuracy"] <= 1.0
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(
        "text,label\n" + "".join(f"rain {i},weather\nthe match {i},sport\n" for i in range(10))
    )
    with pytest.raises(DataError, match=r"\['weather'\] are not among the model's labels"):
        attnzoo.evaluate(result["run_dir"], str(unknown), split="train")
