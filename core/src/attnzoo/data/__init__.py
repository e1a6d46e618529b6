"""The data layer: datasets as Hugging Face ``datasets``, one processor per input kind,
batches as dicts of numpy arrays (so any framework can consume them)."""

from attnzoo.data.dataset import SPLITS, Dataset, TextDataset, resolve_dataset
from attnzoo.data.files import load_local_files
from attnzoo.data.prepare import PreparedData, prepare_data
from attnzoo.data.processors import Encoded, Processor, load_processor, processor_class
from attnzoo.data.tokenizer import build_tokenizer, load_tokenizer

__all__ = [
    "SPLITS",
    "Dataset",
    "Encoded",
    "PreparedData",
    "Processor",
    "TextDataset",
    "build_tokenizer",
    "load_local_files",
    "load_processor",
    "load_tokenizer",
    "prepare_data",
    "processor_class",
    "resolve_dataset",
]
