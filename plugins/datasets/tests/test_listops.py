"""ListOps generator, preprocessing and loaders (fast: a few thousand small-to-LRA-size trees)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from attnzoo_datasets import listops
from attnzoo_datasets.listops import (
    build_seed_vocab,
    encode_seed,
    evaluate_expression,
    generate_listops,
    generate_tree,
    majority_rate,
    official_tokens,
    preprocess_official,
    to_string,
    tree_value,
)

MINI = {"max_depth": 6, "max_args": 10, "min_length": 50, "max_length": 300}


@pytest.fixture(scope="module")
def lra_rows():
    """2000 trees with LRA's default generator settings (about 10 s)."""
    return generate_listops(2000, seed=0)


def test_serialisation_matches_lra_format():
    tree = ("[MAX", [2, 3])
    assert to_string(tree) == "( ( ( [MAX 2 ) 3 ) ] )"
    assert preprocess_official(to_string(tree)) == "[MAX 2 3 X"
    nested = ("[SM", [("[MIN", [4, 7]), 9])
    assert evaluate_expression(to_string(nested)) == tree_value(nested) == 3


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("[MIN 4 2 7 ]", 2),
        ("[MAX 4 2 7 ]", 7),
        ("[MED 1 2 ]", 1),
        ("[MED 1 2 3 4 ]", 2),
        ("[MED 9 1 5 ]", 5),
        ("[SM 9 8 7 ]", 4),
        ("[MAX 1 [MIN 8 9 ] X", 8),
    ],
)
def test_operator_semantics(expr, value):
    assert evaluate_expression(expr) == value


@pytest.mark.parametrize("expr", ["[MAX 1 2", "1 ]", "[FOO 1 ]", "( ( [MAX 2 ) 3 )"])
def test_evaluate_rejects_malformed(expr):
    with pytest.raises(ValueError):
        evaluate_expression(expr)


def test_labels_equal_evaluated_expression(lra_rows):
    for text, value in lra_rows:
        assert evaluate_expression(text) == value
        assert evaluate_expression(preprocess_official(text)) == value


def test_lengths_strictly_in_range_and_under_2000_tokens(lra_rows):
    lengths = [len(official_tokens(text)) for text, _ in lra_rows]
    assert all(500 < n < 2000 for n in lengths)
    assert all(
        "(" not in t and ")" not in t and "]" not in t
        for t in (preprocess_official(x) for x, _ in lra_rows[:50])
    )


def test_majority_class_near_chance_level_of_the_seed(lra_rows):
    rate = majority_rate(v for _, v in lra_rows)
    assert 0.15 <= rate <= 0.20


def test_raw_lengths_with_parentheses_mostly_exceed_2000(lra_rows):
    """Why the seed's loader (parentheses kept, truncated at 2000) fails: most inputs lose their end."""
    over = sum(len(text.split()) > 2000 for text, _ in lra_rows) / len(lra_rows)
    assert over > 0.6


def test_rows_are_distinct_and_deterministic():
    a = generate_listops(100, seed=1, **MINI)
    assert a == generate_listops(100, seed=1, **MINI)
    assert a != generate_listops(100, seed=2, **MINI)
    assert len({t for t, _ in a}) == 100


def test_generator_leaves_global_rng_alone():
    random.seed(123)
    expected = random.random()
    random.seed(123)
    generate_listops(20, seed=0, **MINI)
    assert random.random() == expected


def test_generate_tree_forces_leaf_at_max_depth():
    rng = random.Random(0)
    assert all(generate_tree(rng, max_depth=1)[1] == 1 for _ in range(20))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_length": 300, "max_length": 300},
        {"max_depth": 2, "max_args": 3, "min_length": 50},
        {"max_args": 1},
    ],
)
def test_impossible_generator_args_are_rejected(kwargs):
    args = {**MINI, **kwargs}
    with pytest.raises(ValueError):
        generate_listops(5, seed=0, **args)


def test_majority_rate():
    assert majority_rate([1, 1, 2, 3]) == 0.5
    with pytest.raises(ValueError):
        majority_rate([])


# ---------------------------------------------------------------- the seed's loader


def test_seed_vocab_layout_and_first_appearance_order():
    vocab = build_seed_vocab(["( [SM 1 ) ] [MAX", "[MIN 2 [MED"])
    assert vocab["<PAD>"] == 0 and vocab["<UNK>"] == 1
    assert vocab["("] == 2 and vocab["SUM_MOD"] == 12
    assert [vocab[str(d)] for d in range(10)] == list(range(13, 23))
    assert [vocab[t] for t in ("[SM", "[MAX", "[MIN", "[MED")] == [23, 24, 25, 26]
    assert len(vocab) == 27


def test_seed_encoding_truncates_and_permutes_operator_ids_across_splits():
    long_text = to_string(("[MAX", [1] * 1500))  # 3004 tokens with parentheses
    train_ids, train_vocab = encode_seed(["[MAX 1 ]", long_text], max_length=2000)
    test_ids, test_vocab = encode_seed(["[MIN 2 ]", "[MAX 3 ]"], max_length=2000)
    assert len(train_ids[1]) == 2000 < len(long_text.split())
    assert train_vocab["[MAX"] == 23 and test_vocab["[MAX"] == 24  # same token, different id
    assert train_ids[0][0] == test_ids[0][0] == 23  # same id, different token ([MAX vs [MIN)


# ---------------------------------------------------------------- loaders and cache


def test_cache_written_atomically_and_reused(tmp_path: Path, monkeypatch):
    raw = listops.generate_splits(30, 5, 5, seed=0, cache_dir=tmp_path, **MINI)
    (folder,) = tmp_path.iterdir()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["args.json", "basic_test.tsv", "basic_train.tsv", "basic_val.tsv"]
    assert (folder / "basic_train.tsv").read_text().splitlines()[0] == "Source\tTarget"
    assert [len(raw[s]) for s in ("train", "validation", "test")] == [30, 5, 5]

    def boom(*_a, **_k):
        raise AssertionError("regenerated instead of reading the cache")

    monkeypatch.setattr(listops, "generate_listops", boom)
    assert listops.generate_splits(30, 5, 5, seed=0, cache_dir=tmp_path, **MINI) == raw
    with pytest.raises(AssertionError):  # another seed is another cache entry
        listops.generate_splits(30, 5, 5, seed=1, cache_dir=tmp_path, **MINI)


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ATTNZOO_CACHE", str(tmp_path))
    assert listops.default_cache_dir("listops-mini") == tmp_path / "listops-mini"


def _data_api_available() -> bool:
    try:
        from attnzoo.data import TextDataset  # noqa: F401
    except ImportError:
        return False
    return True


needs_data_api = pytest.mark.skipif(
    not _data_api_available(), reason="attnzoo.data not available yet"
)


@needs_data_api
def test_load_listops_mini_official(tmp_path: Path):
    ds = listops.load_listops_mini(num_train=60, num_val=10, num_test=10, cache_dir=tmp_path)
    assert ds.label_names == [str(i) for i in range(10)]
    assert ds.tokenizer_hint == {"kind": "word"} and ds.max_length_hint == 300
    assert not ds.pretokenized
    train = ds.splits["train"]
    assert len(train) == 60 and len(ds.splits["validation"]) == 10 and len(ds.splits["test"]) == 10
    for text, label in zip(train["text"], train["label"], strict=True):
        assert "(" not in text and evaluate_expression(text) == label


@needs_data_api
def test_load_listops_seed_preprocessing(tmp_path: Path):
    ds = listops.load_listops(
        num_train=20, num_val=5, num_test=5, cache_dir=tmp_path, preprocessing="seed", **MINI
    )
    assert ds.pretokenized and ds.pretokenized_vocab_size <= 27
    ids = ds.splits["train"]["input_ids"]
    assert all(len(x) <= 300 for x in ids) and all(min(x) >= 2 for x in ids)


def test_unknown_preprocessing(tmp_path: Path):
    with pytest.raises(ValueError, match="official"):
        listops.load_listops_mini(cache_dir=tmp_path, preprocessing="lra")
