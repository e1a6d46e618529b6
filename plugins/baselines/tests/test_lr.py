"""The ``lr`` CTR baseline: its arithmetic, and the full path from the CLI on the CTR fixture
(train, evaluate, predict with unseen ids, resume after a kill) in CSV and Parquet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from attnzoo.cli import cli
from attnzoo.testing import make_ctr_table
from attnzoo_baselines.config import LRConfig
from attnzoo_baselines.lr import LogisticRegressionCTR

SETS = [
    "--set",
    "train.progress=false",
    "--set",
    "train.batch_size=32",
    "--set",
    "train.epochs=4",
    "--set",
    "train.early_stopping_patience=null",
    "--set",
    "data.processor.exclude=[timestamp]",
]


def invoke(*args: str):
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_logit_is_bias_plus_field_weights_plus_mean_history_weight():
    cfg = LRConfig(
        categorical_sizes={"user": 4, "item": 5},
        numeric_fields=["price"],
        sequence_fields={"hist": "item"},
        max_history=3,
        init_std=0.5,
    )
    torch.manual_seed(0)
    model = LogisticRegressionCTR(cfg).eval()
    cat = torch.tensor([[2, 4], [1, 3]])
    num = torch.tensor([[0.5], [-1.0]])
    seq = torch.tensor([[[2, 3, 0]], [[0, 0, 0]]])
    mask = (seq != 0).long()
    with torch.no_grad():
        out = model(categorical=cat, numeric=num, sequences=seq, sequence_mask=mask)["logits"]
        w, v = model.categorical.weight[:, 0], model.sequences["hist"].weight[:, 0]
        u, b = model.numeric.weight[0, 0], model.bias[0]
        # item ids index rows after the user field's 4
        first = b + w[2] + w[4 + 4] + u * 0.5 + (v[2] + v[3]) / 2
        second = b + w[1] + w[4 + 3] - u  # an empty history adds nothing
    assert out.shape == (2,)
    torch.testing.assert_close(out, torch.stack([first, second]))
    # padding positions never matter
    seq2 = seq.clone()
    seq2[0, 0, 2] = 4
    with torch.no_grad():
        again = model(categorical=cat, numeric=num, sequences=seq2, sequence_mask=mask)
    torch.testing.assert_close(again["logits"], out)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_train_evaluate_predict_from_the_cli(fmt, tmp_path):
    data = make_ctr_table(tmp_path / "data", n=600, seed=0, fmt=fmt)
    out = invoke(
        "train", "--model", "lr", "--dataset", str(data), "--out", str(tmp_path / "runs"),
        "--name", "r", "--json", *SETS,
    )  # fmt: skip
    result = json.loads(out[out.index("{") :])
    assert result["status"] == "completed"
    assert result["test"]["auc"] > 0.7, result  # the fixture's click signal is learnable
    run = tmp_path / "runs" / "r"
    model_dir = run / "model"
    assert {"schema.json", "processor.json", "config.json", "model.safetensors"} <= {
        p.name for p in model_dir.iterdir()
    }
    for p in model_dir.rglob("*"):  # no pickle anywhere in the model folder
        assert p.suffix not in (".pkl", ".pickle", ".pt", ".bin")
        assert not p.read_bytes().startswith(b"\x80"), p
    schema = json.loads((model_dir / "schema.json").read_text())
    assert [f["name"] for f in schema["sequences"]] == ["item_history"]
    assert schema["sequences"][0]["shares"] == "item_id"

    ev = invoke("evaluate", str(run))
    metrics = dict(line.split(":", 1) for line in ev.strip().splitlines())
    assert float(metrics["auc".rjust(14)]) == pytest.approx(result["test"]["auc"], abs=1e-4)
    assert float(metrics["logloss".rjust(14)]) == pytest.approx(result["test"]["logloss"], abs=1e-4)

    rows = [
        {"user_id": "u1", "item_id": 101, "category": "c2", "price": 20.0, "age": 30.0,
         "item_history": [101, 102] if fmt == "parquet" else "101 102"},
        {"user_id": "never-seen", "item_id": 987654, "category": "c99", "price": 5.0,
         "item_history": [987654, 1]},
        {"item_id": 101},
    ]  # fmt: skip
    inputs = tmp_path / "rows.jsonl"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = [
        json.loads(x) for x in invoke("predict", str(run), "--input", str(inputs)).splitlines()
    ]
    assert [x["input"] for x in lines] == rows
    probs = [x["probs"]["1"] for x in lines]
    assert all(0 < p < 1 for p in probs)
    for x in lines:
        assert x["probs"]["0"] + x["probs"]["1"] == pytest.approx(1.0)


KILL_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from attnzoo import hookimpl
    from attnzoo.cli import cli
    from attnzoo.plugins import get_host

    saves = []

    class Killer:
        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state"):
                saves.append(path)
                if len(saves) == {kill_after}:
                    os._exit(137)  # like SIGKILL: no cleanup, no hooks

    get_host().register(Killer(), "killer")
    cli.main(sys.argv[1:], standalone_mode=True)
    """
)


def test_resume_after_a_kill_gives_the_same_final_metrics(tmp_path):
    data = make_ctr_table(tmp_path / "data", n=400, seed=1, fmt="csv")
    args = ["train", "--model", "lr", "--dataset", str(data), "--name", "r", "--json", *SETS]
    args += ["--set", "train.save_every_steps=4"]
    # 320 training rows / 32 = 10 steps per epoch; state saves at steps 4, 8, end of epoch 1,
    # 12, 16, ...: the 4th is mid-epoch 2
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT.format(kill_after=4), *args, "--out", str(tmp_path / "k")],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 137, proc.stderr[-2000:]
    killed = tmp_path / "k" / "r"
    assert not (killed / "final.json").exists()
    state = json.loads((killed / "state" / "trainer.json").read_text())
    assert state["progress"]["epoch"] == 2 and state["progress"]["step_in_epoch"] == 2
    out = invoke("train", str(killed), "--resume", "--json")
    resumed = json.loads(out[out.index("{") :])
    out = invoke(*args, "--out", str(tmp_path / "straight"))
    straight = json.loads(out[out.index("{") :])
    assert resumed["test"] == straight["test"]
    assert resumed["val"] == straight["val"]
    assert resumed["best_epoch"] == straight["best_epoch"]
    rows = [
        [json.loads(x)["val_auc"] for x in (d / "metrics.jsonl").read_text().splitlines()]
        for d in (killed, tmp_path / "straight" / "r")
    ]
    assert rows[0] == rows[1] and len(rows[0]) == 4
    assert np.isfinite(rows[0]).all()
