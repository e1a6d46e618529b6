"""The one "did you mean" hint every unknown-name error uses."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], prefix: str = "", n: int = 3) -> str:
    """``" Did you mean 'a' or 'b'?"`` for the choices close to ``word``, or ``""`` if none is.

    ``prefix`` is put before each suggestion (``"atrt."`` for a preset of model ``atrt``).
    """
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(prefix + c) for c in close) + "?"
