"""DeepFM's and DIN's arithmetic against hand computations, and training from the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from attnzoo.cli import cli
from attnzoo.testing import make_ctr_table
from attnzoo_baselines.config import DeepFMConfig, DINConfig
from attnzoo_baselines.deepfm import DeepFM
from attnzoo_baselines.din import DIN

SCHEMA = dict(
    categorical_sizes={"user": 4, "item": 6},
    numeric_fields=["price"],
    sequence_fields={"hist": "item"},
    max_history=3,
)


def inputs():
    cat = torch.tensor([[2, 4], [1, 3], [3, 0]])
    num = torch.tensor([[0.5], [-1.0], [2.0]])
    seq = torch.tensor([[[2, 3, 0]], [[0, 0, 0]], [[5, 0, 0]]])
    return cat, num, seq, (seq != 0).long()


def randomise(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def test_deepfm_is_bias_plus_first_order_plus_fm_pairs_plus_mlp():
    model = randomise(DeepFM(DeepFMConfig(**SCHEMA, embedding_dim=3, hidden_units=[5]))).eval()
    cat, num, seq, mask = inputs()
    with torch.no_grad():
        out = model(categorical=cat, numeric=num, sequences=seq, sequence_mask=mask)["logits"]
        E, W = model.embeddings.categorical.weight, model.weights.categorical.weight
        V, U = model.embeddings.numeric, model.weights.numeric
        expected = []
        for b in range(3):
            vecs, first = [], model.bias[0].clone()
            for f, off in enumerate([0, 4]):  # item ids index rows after the user field's 4
                i = int(cat[b, f])
                vecs.append(E[off + i] if i else torch.zeros(3))
                first += W[off + i, 0] if i else 0.0
            vecs.append(num[b, 0] * V[0])
            first += num[b, 0] * U[0, 0]
            hist = [4 + int(j) for j in seq[b, 0] if j]
            vecs.append(E[hist].mean(0) if hist else torch.zeros(3))
            first += W[hist, 0].mean() if hist else 0.0
            pairs = sum(
                vecs[i] @ vecs[j] for i in range(len(vecs)) for j in range(i + 1, len(vecs))
            )
            deep = model.mlp(torch.cat(vecs)[None])[0, 0]
            expected.append(first + pairs + deep)
    torch.testing.assert_close(out, torch.stack(expected))


def test_din_attends_to_valid_events_with_the_activation_unit():
    cfg = DINConfig(**SCHEMA, embedding_dim=3, attention_units=[4], hidden_units=[5])
    model = randomise(DIN(cfg)).eval()
    cat, num, seq, mask = inputs()
    with torch.no_grad():
        out = model(categorical=cat, numeric=num, sequences=seq, sequence_mask=mask)["logits"]
        E = model.embeddings.categorical.weight
        unit = model.attention[0].mlp
        expected = []
        for b in range(3):
            user = E[int(cat[b, 0])] if cat[b, 0] else torch.zeros(3)
            target = E[4 + int(cat[b, 1])] if cat[b, 1] else torch.zeros(3)
            pooled = torch.zeros(3)
            for j in [int(j) for j in seq[b, 0] if j]:
                h = E[4 + j]
                a = unit(torch.cat([target, h, target - h, target * h])[None])[0, 0]
                pooled += a * h  # no softmax: weights are not normalised
            x = torch.cat([user, target, num[b, 0] * model.embeddings.numeric[0], pooled])
            expected.append(model.mlp(x[None])[0, 0])
    torch.testing.assert_close(out, torch.stack(expected))


def test_din_padding_never_matters_even_in_training_mode():
    cfg = DINConfig(**SCHEMA, embedding_dim=3, attention_units=[4], hidden_units=[5])
    model = randomise(DIN(cfg)).train()
    cat, num, seq, mask = inputs()
    torch.manual_seed(0)
    a = model(categorical=cat, numeric=num, sequences=seq, sequence_mask=mask)["logits"]
    seq2 = seq.clone()
    seq2[0, 0, 2], seq2[1, 0, :] = 5, 3  # garbage behind the mask
    b = model(categorical=cat, numeric=num, sequences=seq2, sequence_mask=mask)["logits"]
    torch.testing.assert_close(a, b)
    # a batch of one row trains (Dice falls back to running statistics)
    one = model(categorical=cat[:1], numeric=num[:1], sequences=seq[:1], sequence_mask=mask[:1])
    assert torch.isfinite(one["logits"]).all()


@pytest.mark.parametrize("cls,cfg", [(DeepFM, DeepFMConfig), (DIN, DINConfig)])
def test_loss_is_bce_plus_half_lambda_times_squared_embedding_norms(cls, cfg):
    model = randomise(cls(cfg(**SCHEMA, embedding_dim=3, embedding_regularizer=0.1)))
    cat, num, seq, mask = inputs()
    out = model(categorical=cat, numeric=num, sequences=seq, sequence_mask=mask)
    labels = torch.tensor([1, 0, 1])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out["logits"], labels.float())
    tables = [m for m in model.modules() if type(m).__name__ == "FieldEmbeddings"]
    norm = sum(p.pow(2).sum() for t in tables for p in t.parameters())
    torch.testing.assert_close(model.compute_loss(out, labels), bce + 0.05 * norm)
    model.config.embedding_regularizer = 0.0
    torch.testing.assert_close(model.compute_loss(out, labels), bce)


@pytest.mark.parametrize("model", ["deepfm", "din"])
def test_train_from_the_cli_learns_the_fixture(model, tmp_path):
    data = make_ctr_table(tmp_path / "data", n=800, seed=0, fmt="parquet")
    res = CliRunner().invoke(
        cli,
        [
            "train", "--model", model, "--dataset", str(data), "--out", str(tmp_path / "runs"),
            "--name", "r", "--json", "--set", "train.progress=false", "--set", "train.epochs=15",
            "--set", "train.batch_size=64", "--set", "train.lr=3e-3",
            "--set", "data.processor.exclude=[timestamp]",
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.output[res.output.index("{") :])
    assert result["status"] == "completed"
    assert result["test"]["auc"] > 0.7, result  # the fixture's click signal is learnable
