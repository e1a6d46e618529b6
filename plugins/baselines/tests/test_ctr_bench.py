"""The ``ctr`` bench preset pairs every installed CTR model with movielens-100k, 3 seeds."""

from __future__ import annotations

from attnzoo.api import build_config
from attnzoo.bench import build_matrix
from attnzoo.registry import get_model_spec


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
