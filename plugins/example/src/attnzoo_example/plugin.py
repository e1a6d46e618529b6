"""The plugin module named by the entry point. It imports no framework: specs are strings."""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import ModelSpec, Preset


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    registry.add(
        ModelSpec(
            name="example",
            config="attnzoo_example.config:BagOfEmbeddingsConfig",
            factory="attnzoo_example.model:BagOfEmbeddings",
            framework="torch",
            task="text-classification",
            description="Bag of embeddings + MLP: the template plugin (tiny, fast, a sanity baseline)",
            presets={
                "tiny": Preset(model={"d_model": 16, "d_hidden": 16}, description="for tests"),
                "wide": Preset(model={"d_model": 256, "d_hidden": 256}),
            },
            train_defaults={"lr": 3e-3, "epochs": 5, "batch_size": 32},
        )
    )
