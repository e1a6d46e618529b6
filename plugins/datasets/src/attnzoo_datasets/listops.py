"""LRA ListOps: a seeded re-implementation of the Long Range Arena generator, and its loaders.

The generator follows ``lra_benchmarks/data/listops.py`` (google-research/long-range-arena):
operators ``[MIN [MAX [MED [SM``, end token ``]``, digits 0-9, a node is an operator with
probability ``VALUE_P = 0.25`` (forced leaf at ``max_depth``), 2..``max_args`` children, and trees
whose length (operators, digits and ``]``; parentheses not counted) lies strictly between
``min_length`` and ``max_length`` are kept. It draws from the RNG in the same order as the original
(``random()``, then ``choice(range(10))`` or ``randint(2, max_args)``, the children, then
``choice(OPERATORS)``), but from a private ``random.Random(seed)`` instead of the global RNG, and
deduplicates with a list plus a seen-set instead of iterating a ``set`` (whose order depends on
hashing), so the same arguments always give the same splits.

Preprocessing:

* ``"official"``: the LRA input pipeline: drop ``(`` and ``)``, rename ``]`` to ``X``, whitespace
  tokens; exposed as text with a word-level tokenizer hint (one vocabulary, built by core on the
  training split, shared by all splits), max length 2000, 10 classes.
* ``"seed"``: the loader of pbanavara/attention-free-diffusion (``lra_dataloader.py``), bugs
  included: parentheses kept, truncation to 2000 tokens (most sequences lose their end), and a
  vocabulary built separately for every split (``<PAD>`` 0, ``<UNK>`` 1, a fixed list, the digits,
  then unseen tokens in first-appearance order), so operator ids can differ between splits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Union

logger = logging.getLogger(__name__)

MIN, MAX, MED, SUM_MOD, END = "[MIN", "[MAX", "[MED", "[SM", "]"
OPERATORS = (MIN, MAX, MED, SUM_MOD)
VALUES = range(10)
VALUE_P = 0.25
NUM_CLASSES = 10
LABEL_NAMES = [str(v) for v in VALUES]
GENERATOR_VERSION = 1  # bump when the generated data would change; part of the cache key

# the seed's fixed vocabulary prefix (lra_dataloader.py), after <PAD>=0 and <UNK>=1
SEED_COMMON_TOKENS = ("(", ")", "[", "]", "MAX", "MIN", "MED", "SM", "FIRST", "LAST", "SUM_MOD")

Tree = Union[int, tuple[str, list["Tree"]]]  # noqa: UP007 (recursive alias)


# ---------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------


def generate_tree(
    rng: random.Random, max_depth: int = 10, max_args: int = 10, depth: int = 1
) -> tuple[Tree, int]:
    """Draw one expression tree; returns ``(tree, length)``, length without parentheses.

    A tree is a digit (int) or ``(operator, children)``.
    """
    r = rng.random() if depth < max_depth else 1.0
    if r > VALUE_P:
        return rng.choice(VALUES), 1
    num_args = rng.randint(2, max_args)
    children: list[Tree] = []
    length = 2  # the operator and END
    for _ in range(num_args):
        child, child_len = generate_tree(rng, max_depth, max_args, depth + 1)
        children.append(child)
        length += child_len
    return (rng.choice(OPERATORS), children), length


def to_tokens(tree: Tree) -> list[str]:
    """LRA serialisation with parentheses: ``[MAX 2 3]`` -> ``( ( ( [MAX 2 ) 3 ) ] )``."""
    out: list[str] = []
    _emit(tree, out)
    return out


def _emit(tree: Tree, out: list[str]) -> None:
    if isinstance(tree, int):
        out.append(str(tree))
        return
    op, children = tree
    # the original builds ((((op, c0), c1), ...), END) and prints every pair as "( left right )"
    out.extend(["("] * (len(children) + 1))
    out.append(op)
    for child in children:
        _emit(child, out)
        out.append(")")
    out.extend([END, ")"])


def to_string(tree: Tree) -> str:
    return " ".join(to_tokens(tree))


def apply_operator(op: str, args: Sequence[int]) -> int:
    """Value of an operator node: MIN, MAX, MED (``int(np.median)``: floor of the middle mean), SM (sum mod 10)."""
    if not args:
        raise ValueError(f"Operator {op!r} has no arguments.")
    if op == MIN:
        return min(args)
    if op == MAX:
        return max(args)
    if op == MED:
        ordered = sorted(args)
        mid = len(ordered) // 2
        # np.median averages the two middle values; int() truncates (values are non-negative)
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2
    if op == SUM_MOD:
        return sum(args) % 10
    raise ValueError(f"Unknown ListOps operator {op!r}; expected one of {', '.join(OPERATORS)}.")


def tree_value(tree: Tree) -> int:
    if isinstance(tree, int):
        return tree
    op, children = tree
    return apply_operator(op, [tree_value(c) for c in children])


def evaluate_expression(text: str) -> int:
    """Evaluate a raw (parenthesised) or preprocessed (``X`` for ``]``) ListOps expression."""
    stack: list[tuple[str, list[int]]] = []
    result: int | None = None
    for tok in text.split():
        if tok in ("(", ")"):
            continue
        if tok in OPERATORS:
            stack.append((tok, []))
        elif tok in (END, "X"):
            if not stack:
                raise ValueError(f"Unbalanced {tok!r} in ListOps expression: nothing to close.")
            op, args = stack.pop()
            value = apply_operator(op, args)
            if stack:
                stack[-1][1].append(value)
            else:
                result = value
        elif tok.isdigit() and len(tok) == 1:
            if stack:
                stack[-1][1].append(int(tok))
            else:
                result = int(tok)
        else:
            raise ValueError(f"Unknown token {tok!r} in ListOps expression.")
    if stack or result is None:
        raise ValueError("Truncated ListOps expression: an operator is never closed.")
    return result


def _longest_possible(max_depth: int, max_args: int) -> int:
    length = 1
    for _ in range(max_depth - 1):
        length = 2 + max_args * length
    return length


def check_generator_args(max_depth: int, max_args: int, min_length: int, max_length: int) -> None:
    if max_depth < 1 or max_args < 2:
        raise ValueError(
            f"max_depth must be >= 1 and max_args >= 2 (got max_depth={max_depth}, max_args={max_args})."
        )
    if min_length + 1 >= max_length:
        raise ValueError(
            f"Lengths are kept strictly between min_length and max_length, so max_length must exceed "
            f"min_length + 1 (got min_length={min_length}, max_length={max_length})."
        )
    longest = _longest_possible(max_depth, max_args)
    if longest <= min_length:
        raise ValueError(
            f"With max_depth={max_depth} and max_args={max_args} no tree is longer than {longest} tokens, "
            f"so none can exceed min_length={min_length}. Raise max_depth/max_args or lower min_length."
        )


def generate_listops(
    num_samples: int,
    seed: int = 0,
    *,
    max_depth: int = 10,
    max_args: int = 10,
    min_length: int = 500,
    max_length: int = 2000,
    max_rejections: int = 2_000_000,
) -> list[tuple[str, int]]:
    """``num_samples`` distinct ``(expression, value)`` rows, expressions with parentheses.

    Deterministic for given arguments. Raises ValueError after ``max_rejections`` draws in a row
    without a new row (impossible length bounds, or more samples than distinct trees).
    """
    check_generator_args(max_depth, max_args, min_length, max_length)
    rng = random.Random(seed)
    rows: list[tuple[str, int]] = []
    seen: set[str] = set()
    misses = 0
    while len(rows) < num_samples:
        tree, length = generate_tree(rng, max_depth, max_args)
        if min_length < length < max_length:
            text = to_string(tree)
            if text not in seen:
                seen.add(text)
                rows.append((text, tree_value(tree)))
                misses = 0
                if len(rows) % 10_000 == 0:
                    logger.info("ListOps: generated %d/%d trees", len(rows), num_samples)
                continue
        misses += 1
        if misses >= max_rejections:
            raise ValueError(
                f"ListOps generator found no new tree in {max_rejections} draws after {len(rows)} rows "
                f"(max_depth={max_depth}, max_args={max_args}, lengths in ({min_length}, {max_length})): "
                "widen the length range or ask for fewer samples."
            )
    return rows


# ---------------------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------------------


def official_tokens(text: str) -> list[str]:
    """LRA input pipeline: parentheses removed, ``]`` renamed ``X``, whitespace tokens."""
    return ["X" if tok == END else tok for tok in text.split() if tok not in ("(", ")")]


def preprocess_official(text: str) -> str:
    return " ".join(official_tokens(text))


def build_seed_vocab(texts: Iterable[str]) -> dict[str, int]:
    """The seed's per-split vocabulary: ``<PAD>``, ``<UNK>``, fixed tokens, digits, then first appearance."""
    vocab = {"<PAD>": 0, "<UNK>": 1}
    for tok in (*SEED_COMMON_TOKENS, *LABEL_NAMES):
        vocab.setdefault(tok, len(vocab))
    for text in texts:
        for tok in text.split():
            if tok not in vocab:
                vocab[tok] = len(vocab)
    return vocab


def encode_seed(
    texts: Sequence[str], max_length: int = 2000
) -> tuple[list[list[int]], dict[str, int]]:
    """Encode one split the seed's way: its own vocabulary, raw tokens, truncated to ``max_length``."""
    vocab = build_seed_vocab(texts)
    ids = [[vocab.get(tok, 1) for tok in text.split()[:max_length]] for text in texts]
    return ids, vocab


def majority_rate(labels: Iterable[Any]) -> float:
    """Share of the most frequent label: the accuracy of always predicting it."""
    counts = Counter(labels)
    total = sum(counts.values())
    if total == 0:
        raise ValueError("majority_rate needs at least one label.")
    return max(counts.values()) / total


# ---------------------------------------------------------------------------------------
# Cache (LRA's TSV layout) and loaders
# ---------------------------------------------------------------------------------------

SPLIT_FILES = {"train": "basic_train.tsv", "validation": "basic_val.tsv", "test": "basic_test.tsv"}


def default_cache_dir(name: str) -> Path:
    """``$ATTNZOO_CACHE/<name>`` or ``~/.cache/attnzoo/<name>``."""
    root = os.environ.get("ATTNZOO_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "attnzoo"
    )
    return Path(root) / name


def _write_tsv_atomic(path: Path, rows: Sequence[tuple[str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write("Source\tTarget\n")
            for text, value in rows:
                f.write(f"{text}\t{value}\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read_tsv(path: Path) -> list[tuple[str, int]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n")
        if header != "Source\tTarget":
            raise ValueError(
                f"{path}: expected the header 'Source<TAB>Target', got {header!r}. Delete the file to regenerate it."
            )
        for lineno, line in enumerate(f, start=2):
            text, sep, value = line.rstrip("\n").rpartition("\t")
            if not sep:
                raise ValueError(
                    f"{path}: line {lineno} has no tab. Delete the file to regenerate it."
                )
            rows.append((text, int(value)))
    return rows


def generate_splits(
    num_train: int = 96_000,
    num_val: int = 2_000,
    num_test: int = 2_000,
    seed: int = 0,
    *,
    max_depth: int = 10,
    max_args: int = 10,
    min_length: int = 500,
    max_length: int = 2000,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_name: str = "listops",
) -> dict[str, list[tuple[str, int]]]:
    """Raw ``(expression, value)`` rows per split, cached as LRA-style TSV files.

    The cache folder is keyed by every generator argument; files are written atomically, so an
    interrupted run never leaves a truncated split behind.
    """
    for what, n in (("num_train", num_train), ("num_val", num_val), ("num_test", num_test)):
        if n < 1:
            raise ValueError(f"{what} must be >= 1, got {n}.")
    args = {
        "num_train": num_train,
        "num_val": num_val,
        "num_test": num_test,
        "seed": seed,
        "max_depth": max_depth,
        "max_args": max_args,
        "min_length": min_length,
        "max_length": max_length,
        "version": GENERATOR_VERSION,
    }
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir(cache_name)
    folder = folder / f"basic-{key}"
    paths = {split: folder / fname for split, fname in SPLIT_FILES.items()}
    if all(p.exists() for p in paths.values()):
        logger.info("ListOps: reading cached splits from %s", folder)
        return {split: _read_tsv(p) for split, p in paths.items()}
    logger.info(
        "ListOps: generating %d trees into %s (pure Python; 96k LRA-size trees take minutes)",
        num_train + num_val + num_test,
        folder,
    )
    rows = generate_listops(
        num_train + num_val + num_test,
        seed,
        max_depth=max_depth,
        max_args=max_args,
        min_length=min_length,
        max_length=max_length,
    )
    splits = {
        "train": rows[:num_train],
        "validation": rows[num_train : num_train + num_val],
        "test": rows[num_train + num_val :],
    }
    for split, split_rows in splits.items():
        _write_tsv_atomic(paths[split], split_rows)
    _write_json_atomic(folder / "args.json", args)
    return splits


def _write_json_atomic(path: Path, obj: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def _to_dataset(
    raw: dict[str, list[tuple[str, int]]],
    preprocessing: str,
    name: str,
    max_length: int,
    description: str,
) -> Any:
    from datasets import Dataset

    from attnzoo.data import TextDataset

    if preprocessing == "official":
        splits = {
            split: Dataset.from_dict(
                {"text": [preprocess_official(t) for t, _ in rows], "label": [v for _, v in rows]}
            )
            for split, rows in raw.items()
        }
        return TextDataset(
            splits,
            LABEL_NAMES,
            name=name,
            tokenizer_hint={"kind": "word"},
            max_length_hint=max_length,
            description=description,
        )
    if preprocessing == "seed":
        splits, vocab_sizes = {}, []
        for split, rows in raw.items():
            ids, vocab = encode_seed([t for t, _ in rows], max_length)
            vocab_sizes.append(len(vocab))
            splits[split] = Dataset.from_dict({"input_ids": ids, "label": [v for _, v in rows]})
        return TextDataset(
            splits,
            LABEL_NAMES,
            name=name,
            max_length_hint=max_length,
            pretokenized_vocab_size=max(vocab_sizes),
            description=description
            + " Seed preprocessing: parentheses kept, truncated, per-split vocabularies.",
        )
    raise ValueError(
        f"Unknown ListOps preprocessing {preprocessing!r}; choose 'official' (LRA) or 'seed' (the seed's loader)."
    )


def _load(name: str, title: str, preprocessing: str, seed: int, **generator: Any) -> Any:
    """Generate (or read from the cache) and preprocess; shared by both recipes."""
    if preprocessing not in ("official", "seed"):
        raise ValueError(
            f"Unknown ListOps preprocessing {preprocessing!r}; choose 'official' (LRA) or 'seed' (the seed's loader)."
        )
    g = generator
    raw = generate_splits(
        g.pop("num_train"), g.pop("num_val"), g.pop("num_test"), seed, cache_name=name, **g
    )
    return _to_dataset(
        raw,
        preprocessing,
        name,
        g["max_length"],
        f"{title} generated with seed {seed}: depth <= {g['max_depth']}, <= {g['max_args']} args, "
        f"{g['min_length']} < length < {g['max_length']}.",
    )


def load_listops(
    num_train: int = 96_000,
    num_val: int = 2_000,
    num_test: int = 2_000,
    seed: int = 0,
    preprocessing: str = "official",
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    max_depth: int = 10,
    max_args: int = 10,
    min_length: int = 500,
    max_length: int = 2000,
) -> Any:
    """LRA ListOps (basic task) as a :class:`attnzoo.data.TextDataset`, 10 classes "0".."9".

    Defaults are LRA's: 96k/2k/2k trees, depth 10, up to 10 arguments, 500 < length < 2000.
    The first call generates and caches the data (a few minutes in pure Python).
    """
    return _load(
        "listops",
        "LRA ListOps",
        preprocessing,
        seed,
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        cache_dir=cache_dir,
        max_depth=max_depth,
        max_args=max_args,
        min_length=min_length,
        max_length=max_length,
    )


def load_listops_mini(
    num_train: int = 2_000,
    num_val: int = 200,
    num_test: int = 200,
    seed: int = 0,
    preprocessing: str = "official",
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    max_depth: int = 6,
    max_args: int = 10,
    min_length: int = 50,
    max_length: int = 300,
) -> Any:
    """A CPU-sized ListOps: same generator, 2000/200/200 trees of 50 < length < 300, depth <= 6."""
    return _load(
        "listops-mini",
        "ListOps mini",
        preprocessing,
        seed,
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        cache_dir=cache_dir,
        max_depth=max_depth,
        max_args=max_args,
        min_length=min_length,
        max_length=max_length,
    )
