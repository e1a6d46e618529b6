"""attnzoo-mdaf's plugin: registers its CTR models, lazily (no torch at import)."""

from __future__ import annotations

from attnzoo import hookimpl


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    """Filled in as the models land."""
