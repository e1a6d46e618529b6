"""CTR end to end across packages: the dataset recipes (attnzoo-datasets) train the CTR
yardsticks (attnzoo-baselines) from the CLI, and the ``ctr`` bench preset pairs them."""

from __future__ import annotations

import json

import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from attnzoo.api import build_config
from attnzoo.bench import build_matrix
from attnzoo.cli import cli
from attnzoo.registry import get_model_spec
from attnzoo.testing import make_ctr_table
from attnzoo_datasets.miniatures import write_movielens_atomic as write_atomic
from attnzoo_datasets.miniatures import write_taobao

SCHEMA = """\
label: clicked
categorical: [user_id, item_id, category]
numeric: [price]
sequences: {item_history: item_id}
user: user_id
time: timestamp
"""


def clicked_table(folder):
    """The CTR fixture with its label renamed (a schema names it)."""
    path = make_ctr_table(folder, n=800, seed=0, fmt="csv")
    table = pacsv.read_csv(path)
    table = table.rename_columns(["clicked" if c == "label" else c for c in table.column_names])
    pacsv.write_csv(table, path)
    return path


@pytest.mark.parametrize(("model", "split"), [("lr", "auto"), ("lr", "random"), ("din", "auto")])
def test_train_from_the_cli_on_movielens_per_user_temporal_or_random(tmp_path, model, split):
    folder = write_atomic(tmp_path / "ml", n_users=40, n_items=40, events=30)
    res = CliRunner().invoke(
        cli,
        [
            "train", "--model", model, "--dataset", "movielens-100k", "--out", str(tmp_path / "runs"),
            "--name", "r", "--json", "--set", f"dataset.path={folder}", "--set", f"data.split={split}",
            "--set", "train.progress=false", "--set", "train.epochs=3", "--set", "train.batch_size=64",
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.output[res.output.index("{") :])
    assert {"auc", "logloss", "gauc"} <= set(result["test"])
    epochs = [
        json.loads(x) for x in (tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()
    ]
    assert all(0 < e["val_gauc"] < 1 for e in epochs)  # validation gAUC is grouped by user too
    final = json.loads((tmp_path / "runs" / "r" / "final.json").read_text())
    assert final["split"]["method"] == ("group_temporal" if split == "auto" else "random")
    schema = json.loads((tmp_path / "runs" / "r" / "model" / "schema.json").read_text())
    assert {s["name"]: s["shares"] for s in schema["sequences"]} == {
        "item_history": "item_id", "genre_history": "genre"
    }  # fmt: skip
    assert [f["name"] for f in schema["categorical"]][:2] == ["user_id", "item_id"]


def test_a_taobao_miniature_trains_din_end_to_end(tmp_path):
    folder = write_taobao(tmp_path / "t", n=3000)
    res = CliRunner().invoke(
        cli,
        [
            "train", "--model", "din.tiny", "--dataset", "taobao-ad", "--out", str(tmp_path / "r"),
            "--name", "r", "--json", "--set", f"dataset.path={folder}",
            "--set", "dataset.max_history=10", "--set", "train.progress=false",
            "--set", "train.epochs=3", "--set", "train.batch_size=256", "--set", "train.lr=1e-2",
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.output[res.output.index("{") :])
    assert result["status"] == "completed"
    assert {"auc", "gauc", "logloss"} <= set(result["test"])
    assert result["test"]["auc"] > 0.6, result  # the miniature's click signal is learnable
    schema = json.loads((tmp_path / "r" / "r" / "model" / "schema.json").read_text())
    assert {s["name"]: s["shares"] for s in schema["sequences"]} == {
        "adgroup_history": "adgroup_id", "cate_history": "cate_id"
    }  # fmt: skip


def test_train_from_the_cli_uses_only_the_declared_fields(tmp_path):
    clicked_table(tmp_path / "d")
    (tmp_path / "d" / "schema.yaml").write_text(SCHEMA)
    res = CliRunner().invoke(
        cli,
        [
            "train", "--model", "lr", "--dataset", "ctr-table", "--out", str(tmp_path / "r"),
            "--name", "r", "--json", "--set", f"dataset.path={tmp_path / 'd'}",
            "--set", "train.progress=false", "--set", "train.epochs=4",
            "--set", "train.batch_size=32",
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.output[res.output.index("{") :])
    assert result["test"]["auc"] > 0.7 and "gauc" in result["test"]
    assert result["split"]["method"] == "group_temporal"
    schema = json.loads((tmp_path / "r" / "r" / "model" / "schema.json").read_text())
    assert [f["name"] for f in schema["categorical"]] == ["user_id", "item_id", "category"]
    assert [f["name"] for f in schema["numeric"]] == ["price"]  # age is not declared


def test_ctr_preset_runs_every_ctr_model_and_no_text_model(tmp_path):
    m = build_matrix("ctr")
    models = {c.model for c in m.cells}
    assert {"lr", "deepfm", "din"} <= models
    assert all(get_model_spec(n).task == "ctr" for n in models)
    assert {c.dataset for c in m.cells} == {"movielens-100k"}
    assert sorted(c.seed for c in m.cells if c.model == "din") == [0, 1, 2]
    for cell in m.cells:  # every cell's settings are valid for its model
        config = cell.run_config(str(tmp_path))
        built = build_config(cell.model, None, **config.get("model_args", {}))
        assert built.max_history == 20
        assert config["train"]["batch_size"] == 2048
