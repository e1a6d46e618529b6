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
