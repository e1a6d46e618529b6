"""MDAF: the gate as the code computes it, the static embedding, the branches, the gate log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from attnzoo_mdaf.config import MDAFConfig
from attnzoo_mdaf.mdaf import MDAF, GatedFusion
from mdaf_seq_batches import SCHEMA, batch, train_from_cli

from attnzoo.trainers.torch_backend import TorchBackend

TINY = dict(
    embedding_dim=4,
    num_deep_cross_layers=2,
    num_shallow_cross_layers=2,
    d_model=8,
    mamba_layers=1,
    d_state=4,
    bst_heads=2,
    bst_layers=1,
    head_units=[8],
)
BATCH = dict(histories=[[3, 4, 5], [7], [2, 9, 11, 12], [6, 6]])
LABELS = torch.tensor([1, 0, 1, 0])


def _model(**kw: object) -> MDAF:
    torch.manual_seed(0)
    return MDAF(MDAFConfig(**SCHEMA, **{**TINY, **kw}))  # type: ignore[arg-type]


def test_gate_weighs_the_static_branch_by_g() -> None:
    torch.manual_seed(0)
    fusion = GatedFusion(3, dropout=0.0)
    a, b = torch.full((2, 3), 5.0), torch.full((2, 3), -1.0)
    h, g = fusion(a, b)
    assert g.shape == (2, 1) and ((g > 0) & (g < 1)).all()
    torch.testing.assert_close(h, g * a + (1 - g) * b)  # h = g * h_static + (1 - g) * h_seq
    with torch.no_grad():
        fusion.net[-1].bias.fill_(50.0)  # g -> 1: only the first (static) input is left
    torch.testing.assert_close(fusion(a, b)[0], a)


@pytest.mark.parametrize("branch", ["mamba", "bst"])
def test_forward_composes_static_branch_gate_and_head(branch: str) -> None:
    model = _model(seq_branch=branch).eval()
    b = batch(**BATCH)  # type: ignore[arg-type]
    out = model(**b)
    assert out["logits"].shape == (4,) and out["gate"].shape == (4,)
    h_static = model.static_proj(model.static_embedding(b))
    h_seq = model.seq_proj(model.branch(b))
    g = out["gate"].unsqueeze(-1)
    expected = model.head(g * h_static + (1 - g) * h_seq).squeeze(-1)
    torch.testing.assert_close(out["logits"], expected)


def test_static_embedding_is_the_mean_of_the_final_ecn_and_lcn_states() -> None:
    from attnzoo_mdaf.dcnv3 import field_vectors

    model = _model().eval()
    b = batch(**BATCH)  # type: ignore[arg-type]
    fields = field_vectors(model.embeddings, model.config, b, model.branch.names)
    x_ecn, x_lcn = model.encoder(fields)
    torch.testing.assert_close(model.static_embedding(b), ((x_ecn + x_lcn) / 2).flatten(1))


def test_static_branch_reads_the_fields_the_sequence_branch_does_not() -> None:
    fields = len(SCHEMA["categorical_sizes"]) + len(SCHEMA["numeric_fields"])  # type: ignore[arg-type]
    assert _model().static_fields == fields  # Mamba reads both sequences
    assert _model(seq_branch="bst").static_fields == fields  # FuxiCTR's BST too
    # the seed's BST reads the item history only: the category history is pooled into DCNv3
    assert _model(seq_branch="bst", bst_variant="mdaf").static_fields == fields + 1


def test_branches_share_the_field_embeddings() -> None:
    model = _model()
    assert model.branch.history.embeddings is model.embeddings
    names = [n for n, _ in model.named_parameters()]
    assert not [n for n in names if n.startswith("branch.") and "embeddings" in n]


@pytest.mark.parametrize(
    "kw",
    [{}, {"seq_branch": "bst"}, {"mamba_impl": "mdaf_surrogate"}, {"aux_heads": True}],
    ids=["mamba", "bst", "surrogate", "aux"],
)
def test_every_counted_parameter_gets_gradient(kw: dict) -> None:
    model = _model(**kw).train()
    model.compute_loss(model(**batch(**BATCH)), LABELS).backward()  # type: ignore[arg-type]
    # an auxiliary head's Tri-BCE weight max(0, L_aux - L) can be exactly 0 (its gradient too)
    zero_ok = ("static_head.", "seq_head.")
    dead = [
        n
        for n, p in model.named_parameters()
        if p.grad is None or (not p.grad.abs().sum() and not n.startswith(zero_ok))
    ]
    assert not dead, dead
    counted = TorchBackend().num_parameters(model)  # what runs and the bench report
    assert counted == sum(p.numel() for p in model.parameters() if p.grad is not None)


def test_surrogate_is_the_seeds_branch() -> None:
    assert _model(mamba_impl="mdaf_surrogate").branch.surrogate
    assert not _model().branch.surrogate


def test_aux_heads_add_the_tri_bce_terms() -> None:
    from attnzoo_mdaf.dcnv3 import tri_bce

    model = _model(aux_heads=True, embedding_regularizer=0.0).eval()
    out = model(**batch(**BATCH))  # type: ignore[arg-type]
    expected = tri_bce(out["logits"], [out["logit_static"], out["logit_seq"]], LABELS)
    torch.testing.assert_close(model.compute_loss(out, LABELS), expected)
    assert "logit_static" not in _model()(**batch(**BATCH))  # type: ignore[arg-type]


def test_training_logs_the_gate_every_epoch(tmp_path: Path) -> None:
    result = train_from_cli("mdaf.tiny", tmp_path)
    assert result["status"] == "completed"
    assert result["test"]["auc"] > 0.7, result
    rows = [json.loads(line) for line in (tmp_path / "runs" / "r" / "metrics.jsonl").open()]
    for row in rows:
        assert 0 < row["val_gate_min"] <= row["val_gate_mean"] <= row["val_gate_max"] < 1
        assert row["val_gate_std"] >= 0
