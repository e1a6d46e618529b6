"""Test helpers for plugin authors: the conformance suite every model package subclasses."""

from attnzoo.testing.conformance import ModelConformance
from attnzoo.testing.data import make_text_dataset, tiny_batch

__all__ = ["ModelConformance", "make_text_dataset", "tiny_batch"]
