from __future__ import annotations

import json

import numpy as np
import pytest

from attnzoo.data import build_tokenizer, load_local_files, prepare_data
from attnzoo.data.processors.text import TextProcessor
from attnzoo.data.splits import stratified_split
from attnzoo.errors import ConfigError, DataError
from attnzoo.testing.data import make_text_dataset


def write(path, text, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_csv_and_jsonl_load_with_sorted_label_names(tmp_path):
    for fmt in ("csv", "jsonl"):
        ds = load_local_files(make_text_dataset(tmp_path / fmt, n=30, fmt=fmt))
        assert ds.label_names == ["money", "sport", "tech"]
        assert len(ds.splits["train"]) == 30


def test_parquet_and_folder_with_splits(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "d"
    folder.mkdir()
    pq.write_table(
        pa.table({"body": ["a b", "c d", "e f", "g h"], "y": [1, 0, 1, 0]}),
        folder / "train.parquet",
    )
    write(folder / "test.csv", "body,y\nx y,1\n")
    ds = load_local_files(folder, text_column="body", label_column="y")
    assert set(ds.splits) == {"train", "test"}
    assert ds.label_names == ["0", "1"]
    assert ds.splits["test"]["label"] == [1]


def test_missing_column_names_the_file_and_fix(tmp_path):
    p = write(tmp_path / "a.csv", "content,label\nhello,1\n")
    with pytest.raises(DataError, match=r"no column 'text'.*content.*data.text_column"):
        load_local_files(p)


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match="is empty"):
        load_local_files(write(tmp_path / "a.csv", ""))
    with pytest.raises(DataError, match="no rows"):
        load_local_files(write(tmp_path / "b.csv", "text,label\n"))


def test_ragged_row_names_the_line(tmp_path):
    p = write(tmp_path / "a.csv", "text,label\nok,1\nbad,row,2\n")
    with pytest.raises(DataError, match="line 3 has 3 fields"):
        load_local_files(p)


def test_non_utf8_names_the_line(tmp_path):
    p = write(tmp_path / "a.csv", b"text,label\nfine,1\ncaf\xe9,2\n")
    with pytest.raises(DataError, match="line 3 is not valid UTF-8"):
        load_local_files(p)


def test_bad_jsonl_line(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"text": "a", "label": 1}\n{"text": oops}\n')
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        load_local_files(p)


@pytest.mark.parametrize("label", ["", "nan"])
def test_missing_or_nan_label(tmp_path, label):
    p = write(tmp_path / "a.csv", f"text,label\nok,1\nhmm,{label}\n")
    with pytest.raises(DataError, match="row 2 has no label"):
        load_local_files(p)


def test_nan_label_in_jsonl(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": NaN}\n')
    with pytest.raises(DataError, match="row 2 has no label"):
        load_local_files(p)


def test_label_unseen_in_training(tmp_path):
    folder = tmp_path / "d"
    write(folder / "train.csv", "text,label\na,x\nb,y\n")
    write(folder / "validation.csv", "text,label\nc,z\n")
    with pytest.raises(DataError, match="label 'z', never seen in the training data"):
        load_local_files(folder)


def test_stratified_split_is_seeded_and_stratified():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    a = stratified_split(labels, [0.1, 0.1], seed=1)
    b = stratified_split(labels, [0.1, 0.1], seed=1)
    c = stratified_split(labels, [0.1, 0.1], seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])
    assert sorted(np.concatenate(a).tolist()) == list(range(100))
    assert np.bincount(labels[a[1]]).tolist() == [5, 3, 2]


def test_ensure_splits_records_how(tmp_path):
    ds = load_local_files(make_text_dataset(tmp_path, n=60)).ensure_splits(0.2, 0.1, seed=0)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 42, "validation": 12, "test": 6}
    assert ds.split_info["seed"] == 0 and ds.split_info["method"] == "stratified"


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "word"])
def test_tokenizers_train_on_texts_and_round_trip(tmp_path, kind):
    texts = ["the market rose", "the team won the match", "new phone software"] * 5
    tok = build_tokenizer(kind, texts, vocab_size=300, min_frequency=1)
    assert tok.token_to_id("[PAD]") == 0
    tok.save(str(tmp_path / "tokenizer.json"))
    from attnzoo.data import load_tokenizer

    again = load_tokenizer(tmp_path)
    assert again.encode("the market").ids == tok.encode("the market").ids


def test_pretrained_tokenizer_needs_a_path():
    with pytest.raises(ConfigError, match="needs data.tokenizer.path"):
        build_tokenizer("pretrained")
    with pytest.raises(DataError, match="not found"):
        build_tokenizer("pretrained", path="/nonexistent/tokenizer.json")


def test_batches_pad_to_longest_in_batch_and_truncate(tmp_path):
    ds = load_local_files(make_text_dataset(tmp_path, n=30)).ensure_splits(0.2, 0.2, 0)
    tok = build_tokenizer("word", ds.splits["train"]["text"], vocab_size=200)
    data = prepare_data(ds, TextProcessor(tok, max_length=8))
    offsets = data.encoded["train"].arrays["offsets"]
    assert np.diff(offsets).max() == 8
    batches = list(data.batches("train", batch_size=4))
    for b in batches:
        assert set(b) == {"input_ids", "attention_mask", "labels"}
        assert b["input_ids"].dtype == np.int64
        assert b["input_ids"].shape[1] == b["attention_mask"].sum(1).max()
    shuffled = list(data.batches("train", 4, shuffle=True, seed=0, epoch=1))
    again = list(data.batches("train", 4, shuffle=True, seed=0, epoch=1))
    assert all(
        np.array_equal(x["labels"], y["labels"]) for x, y in zip(shuffled, again, strict=True)
    )
    from attnzoo.errors import DataError as DE

    with pytest.raises(DE, match="batch_size must be positive"):
        next(data.batches("train", 0))
    with pytest.raises(DE, match="max_length must be positive"):
        prepare_data(ds, TextProcessor(tok, max_length=0))


def test_hub_dataset_offline_fails_fast_with_a_fix(monkeypatch):
    from attnzoo.data import resolve_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        DataError, match=r"Cannot load hub dataset 'ag_news'.*--dataset path/to/train.csv"
    ):
        resolve_dataset("hf:ag_news")


def test_jsonl_must_hold_objects(tmp_path):
    p = write(tmp_path / "a.jsonl", json.dumps(["a", 1]) + "\n")
    with pytest.raises(DataError, match="expected an object"):
        load_local_files(p)
