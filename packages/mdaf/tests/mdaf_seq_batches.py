"""Test helpers for the sequence branches: a CTR schema and hand-made batches.

(A uniquely named module rather than conftest.py, so it cannot clash with another package's
test helpers when several test folders run in one session.)
"""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from attnzoo.cli import cli
from attnzoo.config import CTRConfig
from attnzoo.testing import make_ctr_table

#: user, item and its category; an item history and its category history (aligned events)
SCHEMA = dict(
    categorical_sizes={"user_id": 7, "item_id": 30, "category": 6},
    numeric_fields=["price"],
    sequence_fields={"item_history": "item_id", "category_history": "category"},
    max_history=10,
)


def schema(**overrides: object) -> CTRConfig:
    return CTRConfig(**{**SCHEMA, **overrides})  # type: ignore[arg-type]


def batch(
    histories: list[list[int]], length: int | None = None, *, left: bool = False, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A batch whose rows have these item histories (categories = item % 4 + 2), padded to
    ``length`` on the right (the collator's) or on the ``left`` (the MDAF seed's)."""
    length = length or max(len(h) for h in histories)
    g = torch.Generator().manual_seed(seed)
    n = len(histories)
    seqs = torch.zeros(n, 2, length, dtype=torch.long)
    mask = torch.zeros(n, 2, length, dtype=torch.long)
    for i, h in enumerate(histories):
        items = torch.tensor(h, dtype=torch.long)
        where = slice(length - len(h), length) if left else slice(0, len(h))
        seqs[i, 0, where], seqs[i, 1, where] = items, items % 4 + 2
        mask[i, :, where] = 1
    return {
        "categorical": torch.stack(
            [
                torch.randint(2, 7, (n,), generator=g),
                torch.randint(2, 30, (n,), generator=g),
                torch.randint(2, 6, (n,), generator=g),
            ],
            dim=1,
        ),
        "numeric": torch.randn(n, 1, generator=g),
        "sequences": seqs,
        "sequence_mask": mask,
    }


def randomise(module: torch.nn.Module, seed: int = 0, scale: float = 0.5) -> torch.nn.Module:
    """Random weights everywhere (LayerNorm biases too, so padding would show if it leaked)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return module


def train_from_cli(model: str, tmp_path: object) -> dict:
    """Train ``model`` on the synthetic CTR table from the CLI; the run's result JSON."""
    from pathlib import Path

    root = Path(str(tmp_path))
    data = make_ctr_table(root / "data", n=800, seed=0, fmt="parquet")
    res = CliRunner().invoke(
        cli,
        [
            "train", "--model", model, "--dataset", str(data), "--out", str(root / "runs"),
            "--name", "r", "--json", "--set", "train.progress=false", "--set", "train.epochs=15",
            "--set", "train.batch_size=64", "--set", "train.lr=3e-3",
            "--set", "data.processor.exclude=[timestamp]",
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{") :])
