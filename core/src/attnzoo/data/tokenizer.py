"""Tokenizers (Hugging Face ``tokenizers``): trained on the training split, or pretrained.

A trained tokenizer never sees validation or test text. Every tokenizer is saved as a single
``tokenizer.json`` with the checkpoint, so a run folder is self-contained.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from attnzoo.errors import ConfigError, DataError

PAD, UNK = "[PAD]", "[UNK]"


def build_tokenizer(
    kind: str,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 16000,
    min_frequency: int = 2,
    lowercase: bool = True,
    path: str | None = None,
) -> Any:
    """Train a ``wordpiece``/``bpe``/``word`` tokenizer on ``texts`` or load a ``pretrained`` one.

    ``word`` vocabularies are exactly reproducible. WordPiece and BPE come from the tokenizers
    library, whose trainers break frequency ties in hash order, so two processes may learn
    slightly different vocabularies from the same text: the tokenizer is therefore saved with
    the run (and reused on resume), which is what makes a run reproducible.
    """
    if kind == "pretrained":
        if not path:
            raise ConfigError(
                "Tokenizer kind 'pretrained' needs data.tokenizer.path (a folder or tokenizer.json)."
            )
        return load_tokenizer(path)
    if texts is None:
        raise ConfigError(
            f"Tokenizer kind {kind!r} is trained on the training split, but no texts were given."
        )
    if kind == "word":
        return _word_tokenizer(texts, vocab_size, min_frequency)
    if kind not in _TRAINED:
        raise ConfigError(
            f"Unknown tokenizer kind {kind!r}; choose wordpiece, bpe, word or pretrained."
        )
    tok, trainer = _TRAINED[kind](vocab_size, min_frequency, lowercase)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def _normalizers(lowercase: bool) -> list[Any]:
    from tokenizers import normalizers

    lower = [normalizers.Lowercase()] if lowercase else []
    return [normalizers.NFD(), normalizers.StripAccents(), *lower]


def _wordpiece(vocab_size: int, min_frequency: int, lowercase: bool) -> tuple[Any, Any]:
    """An untrained WordPiece tokenizer (BERT pre-tokenisation) and its trainer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token=UNK))
    tok.normalizer = normalizers.Sequence(_normalizers(lowercase))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[PAD, UNK],
        show_progress=False,
    )
    return tok, trainer


def _bpe(vocab_size: int, min_frequency: int, lowercase: bool) -> tuple[Any, Any]:
    """An untrained byte-level BPE tokenizer and its trainer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.normalizer = normalizers.Sequence(_normalizers(lowercase)) if lowercase else None
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[PAD, UNK],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    return tok, trainer


_TRAINED = {"wordpiece": _wordpiece, "bpe": _bpe}


def _word_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int) -> Any:
    """One id per distinct whitespace token (token streams such as ListOps), no normalisation.

    Built here rather than by the library's trainer so that ids are reproducible across
    processes: most frequent first, ties broken alphabetically.
    """
    from collections import Counter

    from tokenizers import Tokenizer, models, pre_tokenizers

    counts = Counter(t for text in texts for t in text.split())
    ranked = sorted(
        (w for w, c in counts.items() if c >= min_frequency), key=lambda w: (-counts[w], w)
    )
    specials = [PAD, UNK]
    kept = [*specials, *ranked[: max(0, vocab_size - len(specials))]]
    tok = Tokenizer(models.WordLevel(vocab={t: i for i, t in enumerate(kept)}, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


def load_tokenizer(path: str | Path) -> Any:
    """Load ``tokenizer.json`` (or a folder holding it, or a BERT ``vocab.txt`` folder)."""
    from tokenizers import Tokenizer

    p = Path(path)
    if p.is_dir():
        if (p / "tokenizer.json").exists():
            p = p / "tokenizer.json"
        elif (p / "vocab.txt").exists():
            from tokenizers.implementations import BertWordPieceTokenizer

            lower = _do_lower_case(p)
            return BertWordPieceTokenizer(str(p / "vocab.txt"), lowercase=lower)._tokenizer
        else:
            raise DataError(
                f"Tokenizer folder {str(p)!r} has neither tokenizer.json nor vocab.txt."
            )
    if not p.exists():
        raise DataError(
            f"Tokenizer {str(path)!r} not found. Give a local folder with tokenizer.json "
            "(hub ids need a network: download the model first and pass its folder)."
        )
    try:
        return Tokenizer.from_file(str(p))
    except Exception as exc:
        raise DataError(f"{p} is not a valid tokenizers JSON file: {exc}") from exc


def _do_lower_case(folder: Path) -> bool:
    import json

    cfg = folder / "tokenizer_config.json"
    if cfg.exists():
        return bool(json.loads(cfg.read_text()).get("do_lower_case", True))
    return True


def pad_id(tok: Any) -> int:
    """The padding id: the tokenizer's own pad token if it has one, else 0."""
    for name in (PAD, "<pad>", "[pad]", "<PAD>"):
        idx = tok.token_to_id(name)
        if idx is not None:
            return int(idx)
    if tok.padding is not None:
        return int(tok.padding["pad_id"])
    return 0
