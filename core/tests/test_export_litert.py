"""LiteRT export of a tiny ATRT (Keras) run: verified, int8 within tolerance, served by the
standalone LiteRT interpreter. Skipped where TensorFlow or attnzoo-atrt is not installed."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("attnzoo_atrt")

from export_helpers import has_module, register_plugin, train_tiny

import attnzoo
from attnzoo.export import export_run, load_export

TEXTS = ["the match ended in a late goal", "shares fell as markets opened", "a new phone chip"]
INT8_TINY_TOLERANCE = 0.12  # 9 test examples: one flipped label is 11 points


@pytest.fixture(scope="module")
def atrt_exports(tmp_path_factory):
    run = train_tiny("atrt.tiny", tmp_path_factory.mktemp("atrt"))
    return (
        run,
        export_run(run, "litert"),
        export_run(run, "litert", quantize="int8", tolerance=INT8_TINY_TOLERANCE),
    )


@pytest.fixture
def atrt(atrt_exports):
    register_plugin("atrt")
    return atrt_exports


def test_litert_fp32_is_verified_and_int8_within_tolerance(atrt):
    run, fp32, int8 = atrt
    assert fp32.report["passed"] and fp32.report["max_abs_diff_probability"] <= 1e-4
    assert fp32.report["label_agreement"] == 1.0
    assert int8.report["passed"]
    assert -int8.report["metrics_delta"]["accuracy"] <= INT8_TINY_TOLERANCE
    assert int8.manifest["quantization"] == "int8-dynamic-range"
    assert (int8.directory / "model.tflite").stat().st_size < (
        fp32.directory / "model.tflite"
    ).stat().st_size
    m = json.loads((fp32.directory / "export.json").read_text())
    assert m["export_format"] == "litert" and m["framework"] == "tensorflow"
    assert [i["shape"] for i in m["inputs"]] == [[1, "sequence"], [1, "sequence"]]


def test_predict_from_litert_export_matches_the_run(atrt):
    run, fp32, _ = atrt
    original = attnzoo.predict(run, TEXTS)
    rows = attnzoo.predict(fp32.directory, TEXTS)
    for a, b in zip(original, rows, strict=True):
        assert a["label"] == b["label"]
        assert max(abs(a["probs"][k] - b["probs"][k]) for k in a["probs"]) <= 1e-4


def test_the_standalone_interpreter_is_used_when_installed(atrt):
    _, fp32, _ = atrt
    loaded = load_export(fp32.directory)
    module = type(loaded.model.interpreter).__module__
    if has_module("ai_edge_litert"):
        assert module.startswith("ai_edge_litert")
    else:
        assert module.startswith("tensorflow")


def test_onnx_of_a_keras_run_says_use_litert(atrt):
    from attnzoo.export.onnx import ExportError

    run, _, _ = atrt
    with pytest.raises(ExportError, match="tensorflow model; --format onnx .* Use --format litert"):
        export_run(run, "onnx")
