"""The fast text path gives exactly the ids ``tokenizers`` gives, for every text and pipeline."""

from __future__ import annotations

import random

import numpy as np
import pytest

from attnzoo.data import build_tokenizer
from attnzoo.data.processors.text import encode_texts
from attnzoo.data.processors.text_fast import pipeline

CORPUS = [
    "The market rose 5% to £1,200 on Monday; shares (in London) fell.",
    "Résumé of the café's naïve CEO: “great” — not ‘bad’… 3½ stars",
    "ΣΊΣΥΦΟΣ and ὈΔΥΣΣΕΎΣ wrote İstanbul ǅemal",
    "tabs\tand\x0bvertical\x0cfeeds\r\nand NEL\x85and\u2028line\u2029para\u3000ideo",
    "control \x1c\x1d\x1e\x1f chars and \x00 nul",
    "special [UNK] and [PAD] and [unk] literal tokens",
    "a" * 150 + " verylongwordthatisnotinthevocab" * 3,
    "",
    "   \n\t  ",
    "emoji 🙂 and CJK 中文字 and math ∑∫ ≤ ≥ ° © ®",
    "e-mail: someone@example.com, url https://x.y/z?q=1&r=2#frag ~^`|",
]


def fuzz_texts(n: int, seed: int) -> list[str]:
    alphabet = (
        "abcdefghij KLMNOP 0123 .,;:!?'\"()-_/\\[]{}<>@#$%^&*+=|~`\t\n\r"
        "£€¥©°±µ¶·×÷–—‘’“”…‰′″€™←→∑√∞≈≠éèçñüÅÆØßΣσςİıǅ\x85\u2028\u2029\xa0\u200b\ufeff\ufffd🙂中"
    )
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(n)]


def reference(tok, texts, max_length):
    tok.no_padding()
    tok.enable_truncation(max_length)
    return [e.ids for e in tok.encode_batch(texts)]


@pytest.fixture(scope="module")
def tokenizers():
    train = [*CORPUS, *fuzz_texts(300, seed=1)] * 2
    return {
        "wordpiece": build_tokenizer("wordpiece", train, vocab_size=400, min_frequency=1),
        "wordpiece-cased": build_tokenizer(
            "wordpiece", train, vocab_size=400, min_frequency=1, lowercase=False
        ),
        "word": build_tokenizer("word", train, vocab_size=300, min_frequency=1),
        "bpe": build_tokenizer("bpe", train, vocab_size=400, min_frequency=1),
    }


def test_pipelines_are_recognised_exactly(tokenizers):
    assert {k: pipeline(t) for k, t in tokenizers.items()} == {
        "wordpiece": "wordpiece",
        "wordpiece-cased": "wordpiece-cased",
        "word": "word",
        "bpe": None,
    }


@pytest.mark.parametrize("kind", ["wordpiece", "wordpiece-cased", "word", "bpe"])
@pytest.mark.parametrize("max_length", [1, 7, 512])
def test_fast_path_ids_equal_tokenizers_ids(tokenizers, kind, max_length):
    tok = tokenizers[kind]
    texts = [*CORPUS, *fuzz_texts(400, seed=2)]
    ours = encode_texts(tok, texts, max_length)
    slow = encode_texts(tok, texts, max_length, fast=False)
    ref = reference(tok, texts, max_length)
    unk = tok.token_to_id("[UNK]")
    for text, a, b, r in zip(texts, ours, slow, ref, strict=True):
        expected = r or [unk]  # an empty encoding is one [UNK]
        assert a.tolist() == expected, repr(text)
        assert b.tolist() == expected, repr(text)
        assert a.dtype == np.int64


def test_fast_path_takes_plain_text_and_leaves_the_rest(tokenizers):
    from attnzoo.data.processors.text_fast import encode_fast

    tok = tokenizers["wordpiece"]
    empty = np.asarray([1])
    _, left = encode_fast(tok, CORPUS, 16, "wordpiece", empty)
    # accents, Greek/Turkish case, NEL/U+2028, literal specials, emoji/CJK go through tokenizers
    assert left == [1, 2, 3, 5, 9]
