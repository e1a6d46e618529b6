"""CTR models export to ONNX: the tabular batch is the graph's input, the selective scan's loop is
unrolled to the processor's fixed history length, and the export equals the torch model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import attnzoo
from attnzoo.export import export_run, load_export
from attnzoo.export.manifest import MANIFEST_FILE
from attnzoo.testing import make_ctr_table
from attnzoo.testing.ctr import make_ctr_rows

#: the static model, both sequence branches alone and MDAF over each (mamba: the scan's loop)
MODELS = ["dcnv3.tiny", "mamba4rec.tiny", "bst.tiny", "mdaf.tiny", "mdaf.tiny-bst"]
MAX_HISTORY = 6


def train_tiny(model: str, root: Path) -> Path:
    data = make_ctr_table(root / "data", n=300, seed=0, fmt="parquet")
    result = attnzoo.train(
        {
            "model": model,
            "dataset": str(data),
            "out_dir": str(root / "runs"),
            "name": model.replace(".", "-"),
            "model_args": {"max_history": MAX_HISTORY},
            "data": {"processor": {"exclude": ["timestamp"]}},
            "train": {"epochs": 1, "progress": False, "batch_size": 64, "seed": 0},
        }
    )
    return Path(result["run_dir"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    return {m: train_tiny(m, tmp_path_factory.mktemp(m.replace(".", "-"))) for m in MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_ctr_fp32_export_equals_the_torch_model(runs, model):
    run = runs[model]
    result = export_run(run, "onnx")
    report = result.report
    assert report["passed"] and report["num_examples"] > 0
    assert report["max_abs_diff_probability"] <= 1e-4
    assert report["label_agreement"] == 1.0
    assert abs(report["metrics_delta"]["auc"]) < 1e-6
    manifest = json.loads((result.directory / MANIFEST_FILE).read_text())
    shapes = {i["name"]: i["shape"] for i in manifest["inputs"]}
    assert list(shapes) == ["categorical", "numeric", "sequences", "sequence_mask"]
    # batch is free; fields and the history length are fixed (the processor pads to max_history)
    assert shapes["sequences"][0] == "batch" and shapes["sequences"][2] == MAX_HISTORY
    assert shapes["sequences"] == shapes["sequence_mask"]
    assert "schema.json" in manifest["files"]
    # raw rows, including a user and items never seen, through the export alone
    rows = make_ctr_rows(5, seed=1)
    rows[0] = {**rows[0], "user_id": "u_unseen", "item_id": 99_999, "item_history": [99_998]}
    rows[1] = {**rows[1], "item_history": []}
    ours = attnzoo.predict(result.directory, rows)
    theirs = attnzoo.predict(run, rows)
    got = np.array([r["probability"] for r in ours])
    want = np.array([r["probability"] for r in theirs])
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    # batch sizes other than the exporter's sample of two
    loaded = load_export(result.directory)
    enc = loaded.processor.from_records(make_ctr_rows(7, seed=2))
    logits = loaded.model.logits(loaded.processor.collate(enc, range(7)))
    assert logits.shape[0] == 7 and np.isfinite(logits).all()


def test_ctr_int8_export_is_checked_on_auc(runs):
    result = export_run(runs["mdaf.tiny"], "onnx", quantize="int8", tolerance=0.05)
    report = result.report
    assert report["check"].startswith("auc drop")
    assert report["passed"] == (-report["metrics_delta"]["auc"] <= 0.05)
    assert result.manifest["quantization"] == "int8-dynamic"


@pytest.mark.parametrize(
    ("model", "field"), [("mamba4rec.tiny", "impl"), ("mdaf.tiny", "mamba_impl")]
)
def test_cuda_scan_refuses_export_and_names_the_switch(runs, tmp_path, model, field):
    """A run set to mamba-ssm's kernel says why it cannot export and which setting makes it
    exportable; following the message (the setting in the run's model/config.json) works."""
    import shutil

    from attnzoo.checkpoint import find_model_dir
    from attnzoo.export.onnx import ExportError

    run = tmp_path / "run"
    shutil.copytree(runs[model], run, ignore=shutil.ignore_patterns("exports"))
    config_file = find_model_dir(run) / "config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, field: "cuda"}))
    with pytest.raises(
        ExportError, match=f'CUDA kernel \\({field}=\'cuda\'\\).*"{field}": "sequential"'
    ):
        export_run(run, "onnx")
    config_file.write_text(json.dumps({**config, field: "sequential"}))
    assert export_run(run, "onnx").report["passed"]
