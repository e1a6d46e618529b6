"""Input kinds: one processor per kind (text, tabular, image), registered like models."""

from attnzoo.data.processors.base import (
    PROCESSOR_FILE,
    Encoded,
    Processor,
    load_processor,
    processor_class,
)

__all__ = ["PROCESSOR_FILE", "Encoded", "Processor", "load_processor", "processor_class"]
