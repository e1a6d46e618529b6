"""A torch model and the Keras ATRT model trained one after the other in one process."""

from __future__ import annotations

import attnzoo
from attnzoo.testing.data import make_text_dataset


def test_torch_then_tensorflow_in_one_process(tmp_path):
    data = make_text_dataset(tmp_path / "data", n=60)
    common = {
        "dataset": str(data),
        "out_dir": str(tmp_path / "runs"),
        "data": {"tokenizer": {"vocab_size": 200, "min_frequency": 1}},
    }
    torch_run = attnzoo.train(
        {**common, "model": "example.tiny", "train": {"epochs": 2, "progress": False}}
    )
    tf_run = attnzoo.train(
        {**common, "model": "atrt.tiny", "train": {"epochs": 2, "progress": False}}
    )
    for result in (torch_run, tf_run):
        assert result["status"] == "completed"
        metrics = attnzoo.evaluate(result["run_dir"])
        assert abs(metrics["accuracy"] - result["test"]["accuracy"]) < 1e-6
    import sys

    assert "torch" in sys.modules and "tensorflow" in sys.modules


def test_tensorflow_then_torch_in_a_fresh_process(tmp_path):
    """The other order: TensorFlow loaded first, then a torch run in deterministic mode (which
    makes torch import triton unless attnzoo blocks it: both bundle LLVM)."""
    import json
    import os
    import subprocess
    import sys

    data = make_text_dataset(tmp_path / "data", n=60)
    cfg = {
        "dataset": str(data),
        "out_dir": str(tmp_path / "runs"),
        "data": {"tokenizer": {"min_frequency": 1}},
        "train": {"epochs": 1, "progress": False},
    }
    code = (
        "import json, sys, attnzoo\n"
        f"cfg = json.loads({json.dumps(cfg)!r})\n"
        "a = attnzoo.train({**cfg, 'model': 'atrt.tiny'})\n"
        "b = attnzoo.train({**cfg, 'model': 'example.tiny'})\n"
        "print(json.dumps([a['status'], b['status']]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["completed", "completed"]
