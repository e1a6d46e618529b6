"""Test helpers for plugin authors: the conformance suite every model package subclasses,
and tiny deterministic datasets (text, CTR, images)."""

from attnzoo.testing.conformance import ModelConformance
from attnzoo.testing.ctr import make_ctr_rows, make_ctr_table
from attnzoo.testing.data import make_text_dataset, tiny_batch
from attnzoo.testing.images import make_image_folder

__all__ = [
    "ModelConformance",
    "make_ctr_rows",
    "make_ctr_table",
    "make_image_folder",
    "make_text_dataset",
    "tiny_batch",
]
