"""attnzoo plugin of attnzoo-atrt: the ``atrt`` model.

The ``tensorflow`` trainer it trains with comes from attnzoo-tensorflow (a dependency, with its own
plugin). Imports neither tensorflow nor keras: specs name their code as import strings, so
listing models stays fast.
"""

from __future__ import annotations

from attnzoo.hookspecs import hookimpl
from attnzoo.specs import ModelSpec, Preset

PAPER = (
    "ATRT: Attention-Regularized Transformer for Text Classification (README only; the "
    "notebook is not public, the network is a reconstruction)"
)


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    registry.add(
        ModelSpec(
            name="atrt",
            config="attnzoo_atrt.config:ATRTConfig",
            factory="attnzoo_atrt.model:ATRTClassifier",
            framework="tensorflow",
            task="text-classification",
            description="Transformer encoder whose attention rescales tokens by importance zone "
            "(Keras 3)",
            paper=PAPER,
            presets={
                "tiny": Preset(
                    model={
                        "d_model": 16,
                        "n_heads": 2,
                        "n_layers": 1,
                        "d_ff": 32,
                        "max_seq_len": 64,
                    },
                    description="Test-sized network (CPU forward + backward in milliseconds).",
                ),
                "summarization": Preset(
                    model={
                        "high_max": 1.20,
                        "high_min": 1.15,
                        "moderate_low": 1.05,
                        "moderate_high": 1.10,
                        "moderate_threshold_std": -0.5,
                    },
                    description="The smoother, broader zone profile the README gives for "
                    "summarisation. [reconstructed values]",
                ),
                "base": Preset(
                    model={"attention": "plain"},
                    description="The same network with plain attention: the seed's "
                    "'Base Transformer'.",
                ),
            },
            # [reconstructed] Adam-like recipe: the README names Adam and 10 epochs only.
            train_defaults={
                "lr": 1e-3,
                "epochs": 10,
                "batch_size": 32,
                "weight_decay": 0.0,
                "scheduler": "constant",
                "warmup_ratio": 0.0,
            },
        )
    )
