"""The data layer: datasets as Hugging Face ``datasets``, tokenizers from ``tokenizers``,
batches as dicts of numpy arrays (so any framework can consume them)."""

from attnzoo.data.dataset import SPLITS, TextDataset, load_local_files, resolve_dataset
from attnzoo.data.prepare import PreparedData, prepare_data
from attnzoo.data.tokenizer import build_tokenizer, load_tokenizer

__all__ = [
    "SPLITS",
    "PreparedData",
    "TextDataset",
    "build_tokenizer",
    "load_local_files",
    "load_tokenizer",
    "prepare_data",
    "resolve_dataset",
]
