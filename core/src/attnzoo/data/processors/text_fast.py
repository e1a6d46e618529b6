"""An exact fast path for the tokenizers attnzoo trains: the same ids as ``tokenizers``, sooner.

``tokenizers`` normalises and pre-tokenizes a whole document with alignment bookkeeping per
character before truncating it, which costs far more than the WordPiece lookups themselves.
For the two pipelines attnzoo builds (``wordpiece``: NFD, strip accents, lowercase, BERT
pre-tokenizer, WordPiece; ``word``: whitespace split, word level) the normalisation and the
split are simple on most text, so this module does them with one regular expression, asks the
tokenizer's own model for each distinct word once (a cache), and stops at ``max_length`` tokens.

Exactness is by construction, not by approximation: a text is taken only when every character
in it is one whose treatment is unambiguous (ASCII, or a long-assigned character with no case
mapping and no decomposition, whitespace and punctuation handled as the Rust pre-tokenizers
do); any other text, any text holding a special token's string, and any tokenizer that is not
exactly one of these two pipelines go through ``tokenizers`` as before.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Rust's ``char::is_whitespace`` (the Unicode White_Space property), which both pre-tokenizers use
RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
#: non-ASCII characters considered: blocks assigned long ago, whose properties no longer change
_RANGE = (0x80, 0x2BFF)


@functools.cache
def _classes() -> tuple[str, str]:
    """Non-ASCII characters the fast path may see: (inside words, punctuation)."""
    word: list[str] = []
    punct: list[str] = []
    for code in range(*_RANGE):
        c = chr(code)
        cat = unicodedata.category(c)
        if c in RUST_WHITESPACE or c.isspace() or cat in ("Mn", "Me", "Mc", "Cn", "Cs", "Co"):
            continue
        if unicodedata.normalize("NFD", c) != c or c.lower() != c or c.upper() != c:
            continue  # decomposes or has a case mapping: left to tokenizers
        (punct if cat.startswith("P") else word).append(c)
    return "".join(word), "".join(punct)


def _char_class(chars: str) -> str:
    return "".join(re.escape(c) for c in chars)


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    word, punct = _classes()
    ws = _char_class(RUST_WHITESPACE)
    all_punct = _char_class(_ASCII_PUNCT + punct)
    return {
        # BertPreTokenizer: drop whitespace, isolate each punctuation character
        "bert": re.compile(f"[{all_punct}]|[^{ws}{all_punct}]+"),
        # texts the wordpiece path takes: ASCII plus the characters above
        "bert_unsafe": re.compile(f"[^\\x00-\\x7f{_char_class(word + punct)}]"),
        # WhitespaceSplit: runs of non-whitespace (exact for every text: no normaliser)
        "words": re.compile(f"[^{ws}]+"),
        # the only characters of ASCII and the characters above that Python's str.split()
        # takes for whitespace and Rust does not
        "ascii_separators": re.compile("[\x1c-\x1f]"),
    }


def pipeline(tokenizer: Any) -> str | None:
    """``"wordpiece"``, ``"wordpiece-cased"`` or ``"word"`` when ``tokenizer`` is exactly one of
    the pipelines attnzoo builds (no post-processor, no extra added tokens), else ``None``."""
    try:
        spec = json.loads(tokenizer.to_str())
    except Exception:
        return None
    if spec.get("post_processor") is not None:
        return None
    model = (spec.get("model") or {}).get("type")
    pre = spec.get("pre_tokenizer") or {}
    norm = spec.get("normalizer")
    if model == "WordLevel" and norm is None and pre.get("type") == "WhitespaceSplit":
        return "word"
    if model != "WordPiece" or pre.get("type") != "BertPreTokenizer":
        return None
    if not norm or norm.get("type") != "Sequence":
        return None
    steps = [n.get("type") for n in norm.get("normalizers", [])]
    if steps == ["NFD", "StripAccents", "Lowercase"]:
        return "wordpiece"
    if steps == ["NFD", "StripAccents"]:
        return "wordpiece-cased"
    return None


class _WordIndex(dict[str, int]):
    """Word -> a dense id, assigned on first sight (``words`` lists them in id order)."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []

    def __missing__(self, word: str) -> int:
        i = self[word] = len(self.words)
        self.words.append(word)
        return i


def encode_fast(
    tokenizer: Any, texts: Sequence[str], max_length: int, kind: str, empty: np.ndarray
) -> tuple[list[np.ndarray | None], list[int]]:
    """Ids of the texts the fast path takes; ``None`` (and its index in the second list) for
    each text left to ``tokenizers``.

    Every word gives at least one token, so only a text's first ``max_length`` words are
    kept. Each distinct word is tokenized once by the tokenizer's own model; the token ids of
    all words of all texts are then gathered and truncated with numpy.
    """
    doc_words, taken, left = _split_words(tokenizer, texts, max_length, kind)
    out: list[np.ndarray | None] = [None] * len(texts)
    if not taken:
        return out, left
    tokens, doc_first, keep = _gather_tokens(tokenizer, kind, doc_words, max_length)
    for j, i in enumerate(taken):
        k = int(keep[j])
        out[i] = tokens[doc_first[j] : doc_first[j] + k] if k else empty
    return out, left


def _split_words(
    tokenizer: Any, texts: Sequence[str], max_length: int, kind: str
) -> tuple[list[list[str]], list[int], list[int]]:
    """The first ``max_length`` words of each text the fast path takes; the indices of those
    texts; the indices of those left to ``tokenizers`` (special tokens, unsafe unicode)."""
    pats = _patterns()
    specials = [t.content.lower() for t in tokenizer.get_added_tokens_decoder().values()]
    unsafe = pats["bert_unsafe"].search
    split = pats["words" if kind == "word" else "bert"].findall
    seps = pats["ascii_separators"].search
    doc_words: list[list[str]] = []
    taken: list[int] = []
    left: list[int] = []
    for i, text in enumerate(texts):
        lowered = text.lower()
        if any(s in lowered for s in specials) or (
            kind != "word" and not text.isascii() and unsafe(text)
        ):
            left.append(i)
            continue
        taken.append(i)
        if kind == "word" and (text.isascii() or not unsafe(text)) and not seps(text):
            words = text.split()  # Python's whitespace is Rust's here (see _patterns)
        else:
            words = split(lowered if kind == "wordpiece" else text)
        doc_words.append(words[:max_length])
    return doc_words, taken, left


def _gather_tokens(
    tokenizer: Any, kind: str, doc_words: list[list[str]], max_length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All texts' token ids in one array, each text's first position in it, and how many of
    its tokens to keep (at most ``max_length``): each distinct word is tokenized once."""
    index = _WordIndex()
    n_words = np.fromiter(map(len, doc_words), dtype=np.int64, count=len(doc_words))
    wids = np.fromiter(
        map(index.__getitem__, itertools.chain.from_iterable(doc_words)),
        dtype=np.int64,
        count=int(n_words.sum()),
    )
    pieces = _pieces(tokenizer, kind, index.words)
    piece_len = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    piece_flat = np.fromiter(itertools.chain.from_iterable(pieces), dtype=np.int64)
    piece_start = np.cumsum(piece_len) - piece_len
    # one row per token of every word occurrence, in order
    tok_len = piece_len[wids]
    word_first_tok = np.cumsum(tok_len) - tok_len
    token_word = np.repeat(np.arange(len(wids)), tok_len)
    within = np.arange(len(token_word)) - word_first_tok[token_word]
    tokens = piece_flat[piece_start[wids][token_word] + within]
    # tokens per text, cut to max_length
    doc_of_word = np.repeat(np.arange(len(doc_words)), n_words)
    doc_tok = np.bincount(doc_of_word, weights=tok_len, minlength=len(doc_words)).astype(np.int64)
    doc_first = np.cumsum(doc_tok) - doc_tok
    return tokens, doc_first, np.minimum(doc_tok, max_length)


def _pieces(tokenizer: Any, kind: str, words: list[str]) -> list[list[int]]:
    """Token ids of each distinct word, from the tokenizer's own model."""
    if kind == "word":
        vocab = tokenizer.get_vocab()
        unk_id = vocab.get(tokenizer.model.unk_token, 0)
        return [[vocab.get(w, unk_id)] for w in words]
    model = tokenizer.model
    return [[t.id for t in model.tokenize(w)] for w in words]
