"""Test helpers for plugin authors: the conformance suite every model package subclasses."""

from attnzoo.testing.conformance import ModelConformance
from attnzoo.testing.data import make_text_dataset, tiny_batch
from attnzoo.testing.images import make_image_folder

__all__ = ["ModelConformance", "make_image_folder", "make_text_dataset", "tiny_batch"]
