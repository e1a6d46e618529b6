"""Check that every figure a README quotes is in the committed results file it cites.

A README marks each quoted block with the files behind it::

    <!-- results: results/quick-bbc-news-3seeds/results.csv -->
    | model | test accuracy |
    |---|---:|
    | diffusion | 0.930 ± 0.014 |
    <!-- /results -->

Paths are relative to the README (several: comma-separated) and must lie under a ``results/``
folder. Inside a block every number in a table cell (except the first column, which names the
row) is a figure; in prose, numbers with a decimal point, a thousands separator, a ``%`` or a
k/M/G suffix are figures (plain integers there are settings: epochs, widths, seeds). Code spans
and link targets are ignored. A figure matches when the file holds a value that rounds to it
at the figure's precision (``0.946`` matches 0.9462; ``4.22M`` matches 4,220,123; ``95.3%``
matches 0.953 or 95.3). Candidate values of a file: every number in it and, for tables (CSV,
JSON lists of records), the mean, std (ddof 0 and 1), min, max and median of each numeric
column per (model, dataset) group; for a ``*_bytes`` field also MiB and GiB, for a field in
seconds (``*_s``, ``*second*``) also milliseconds.

    python scripts/check_results.py              # exit 1 and list every figure not found
    python scripts/check_results.py --uncovered  # also list numeric README tables outside blocks

Used by ``nox -s results``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", ".nox", "node_modules", ".git", "bench-results", "runs", "build", "dist"}

BLOCK_START = re.compile(r"<!--\s*results:\s*(?P<paths>[^>]*?)\s*-->")
BLOCK_END = re.compile(r"<!--\s*/results\s*-->")
NUMBER = re.compile(
    r"(?<![\w.,])(?P<sign>[-−])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:[eE](?P<exp>[-+−]?\d+))?(?P<suffix>[kMG%](?![A-Za-z])|(?![\w]))(?!\.\d)"
)
SCALE = {"k": 1e3, "M": 1e6, "G": 1e9, "%": 1.0, "": 1.0}
CODE_SPAN = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
GROUP_KEYS = ("model", "dataset", "length", "impl", "config")


@dataclass(frozen=True)
class Figure:
    text: str
    value: float
    tol: float
    percent: bool
    line: int

    def matches(self, values: list[float]) -> bool:
        targets = [self.value]
        if self.percent:
            targets.append(self.value / 100)
        for target, tol in zip(targets, (self.tol, self.tol / 100), strict=False):
            i = bisect.bisect_left(values, target - tol)
            if i < len(values) and values[i] <= target + tol:
                return True
        return False


def parse_number(match: re.Match[str], line: int) -> Figure:
    num = match.group("num").replace(",", "")
    suffix = match.group("suffix") or ""
    decimals = len(num.split(".")[1]) if "." in num else 0
    scale = SCALE[suffix] * 10.0 ** int((match.group("exp") or "0").replace("−", "-"))
    value = float(num) * scale * (-1 if match.group("sign") else 1)
    tol = 0.5 * 10**-decimals * scale * (1 + 1e-9) + 1e-12
    return Figure(match.group(0), value, tol, suffix == "%", line)


def clean(text: str) -> str:
    return CODE_SPAN.sub(" ", LINK_TARGET.sub("]", text)).replace("**", "")


def figures_in_line(text: str, line: int, table: bool) -> Iterator[Figure]:
    for m in NUMBER.finditer(clean(text)):
        if table or "." in m.group("num") or "," in m.group("num") or m.group("suffix"):
            yield parse_number(m, line)


def table_cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def is_separator(row: str) -> bool:
    return bool(re.fullmatch(r"\|?[\s:|-]+\|?", row.strip())) and "-" in row


# ------------------------------------------------------------------ candidate values of a file


def _numbers_in_text(text: str) -> Iterator[float]:
    for m in NUMBER.finditer(text):
        f = parse_number(m, 0)
        yield f.value
        if f.percent:
            yield f.value / 100


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def _record_values(records: list[dict]) -> Iterator[float]:
    """Every numeric field, plus per-group summaries of each numeric column."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[tuple(str(r.get(k)) for k in GROUP_KEYS if k in r)].append(r)
    for rows in groups.values():
        columns: dict[str, list[float]] = defaultdict(list)
        for r in rows:
            for key, raw in r.items():
                v = _as_float(raw)
                if v is None:
                    if isinstance(raw, str):
                        yield from _numbers_in_text(raw)
                    continue
                columns[key].append(v)
                if key.endswith("_bytes"):
                    columns[key + ":MiB"].append(v / 2**20)
                    columns[key + ":GiB"].append(v / 2**30)
                if key.endswith("_s") or "second" in key:
                    columns[key + ":ms"].append(v * 1e3)
        for vals in columns.values():
            yield from vals
            if len(vals) > 1:
                yield statistics.fmean(vals)
                yield statistics.stdev(vals)
                yield statistics.pstdev(vals)
                yield statistics.median(vals)
                yield min(vals)
                yield max(vals)


def _json_records(node: object) -> Iterator[list[dict]]:
    if isinstance(node, list):
        dicts = [x for x in node if isinstance(x, dict)]
        if dicts:
            yield dicts
        for x in node:
            yield from _json_records(x)
    elif isinstance(node, dict):
        yield [node]
        for x in node.values():
            if isinstance(x, dict | list):
                yield from _json_records(x)


def candidate_values(path: Path) -> list[float]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".csv":
        values = list(_record_values(list(csv.DictReader(text.splitlines()))))
    elif path.suffix == ".json":
        values = [v for recs in _json_records(json.loads(text)) for v in _record_values(recs)]
    elif path.suffix == ".jsonl":
        recs = [json.loads(line) for line in text.splitlines() if line.strip()]
        values = list(_record_values(recs))
    else:
        values = list(_numbers_in_text(text))
    return sorted(values)


# ------------------------------------------------------------------ READMEs


@dataclass
class Block:
    readme: Path
    line: int
    paths: list[str]
    lines: list[tuple[int, str]]


def readmes(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("README.md")):
        if not SKIP_DIRS.intersection(path.relative_to(root).parts):
            yield path


def blocks_and_rest(readme: Path) -> tuple[list[Block], list[tuple[int, str]], list[str]]:
    """The README's result blocks, the lines outside them, and structural errors."""
    blocks: list[Block] = []
    outside: list[tuple[int, str]] = []
    errors: list[str] = []
    current: Block | None = None
    for i, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), start=1):
        start, end = BLOCK_START.search(line), BLOCK_END.search(line)
        if start:
            if current:
                errors.append(
                    f"{readme}:{i}: results block opened inside the one of line {current.line}"
                )
            paths = [p.strip() for p in start.group("paths").split(",") if p.strip()]
            current = Block(readme, i, paths, [])
        elif end:
            if not current:
                errors.append(f"{readme}:{i}: <!-- /results --> without an opening block")
            else:
                blocks.append(current)
                current = None
        elif current:
            current.lines.append((i, line))
        else:
            outside.append((i, line))
    if current:
        errors.append(f"{readme}:{current.line}: results block never closed (<!-- /results -->)")
    return blocks, outside, errors


def block_figures(lines: list[tuple[int, str]]) -> Iterator[Figure]:
    for i, (n, line) in enumerate(lines):
        if line.lstrip().startswith("|"):
            if is_separator(line):
                continue
            following = lines[i + 1][1] if i + 1 < len(lines) else ""
            if is_separator(following):  # a header row
                continue
            for cell in table_cells(line)[1:]:
                yield from figures_in_line(cell, n, table=True)
        else:
            yield from figures_in_line(line, n, table=False)


def check_block(block: Block, root: Path, cache: dict[Path, list[float]]) -> list[str]:
    problems = []
    values: list[float] = []
    for rel in block.paths:
        path = (block.readme.parent / rel).resolve()
        where = f"{block.readme.relative_to(root)}:{block.line}"
        if "results" not in path.relative_to(root).parts[:-1]:
            problems.append(f"{where}: {rel} is not under a results/ folder")
        if not path.is_file():
            problems.append(f"{where}: cited file {rel} does not exist")
            continue
        if path not in cache:
            cache[path] = candidate_values(path)
        values.extend(cache[path])
    if not block.paths:
        problems.append(f"{block.readme.relative_to(root)}:{block.line}: block cites no file")
    values.sort()
    for fig in block_figures(block.lines):
        if not fig.matches(values):
            problems.append(
                f"{block.readme.relative_to(root)}:{fig.line}: {fig.text!r} is not in "
                f"{', '.join(block.paths)}"
            )
    return problems


def uncovered_tables(readme: Path, outside: list[tuple[int, str]], root: Path) -> list[str]:
    """Table rows with decimal figures outside any results block (informational)."""
    notes = []
    for n, line in outside:
        if line.lstrip().startswith("|") and not is_separator(line):
            cells = table_cells(line)[1:]
            if any(re.search(r"\d\.\d", clean(c)) for c in cells):
                notes.append(f"{readme.relative_to(root)}:{n}: {line.strip()[:100]}")
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument(
        "--uncovered", action="store_true", help="also list numeric table rows outside blocks"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    cache: dict[Path, list[float]] = {}
    problems: list[str] = []
    n_blocks = n_figures = 0
    for readme in readmes(root):
        blocks, outside, errors = blocks_and_rest(readme)
        problems += errors
        for block in blocks:
            n_blocks += 1
            n_figures += sum(1 for _ in block_figures(block.lines))
            problems += check_block(block, root, cache)
        if args.uncovered:
            for note in uncovered_tables(readme, outside, root):
                print(f"uncovered: {note}")
    for p in problems:
        print(p)
    print(
        f"{n_figures} figures in {n_blocks} results blocks checked against "
        f"{len(cache)} files: {len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
