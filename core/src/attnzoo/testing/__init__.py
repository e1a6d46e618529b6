"""Test helpers for plugin authors: the conformance suite every model package subclasses,
and tiny deterministic datasets (text, CTR)."""

from attnzoo.testing.conformance import ModelConformance
from attnzoo.testing.ctr import make_ctr_rows, make_ctr_table
from attnzoo.testing.data import make_text_dataset, tiny_batch

__all__ = ["ModelConformance", "make_ctr_rows", "make_ctr_table", "make_text_dataset", "tiny_batch"]
