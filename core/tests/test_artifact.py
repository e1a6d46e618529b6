"""The typed model artifact: what a model folder holds, attached to the models the API returns;
folders written before it existed still load and predict the same."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HERE

import attnzoo
from attnzoo.artifact import ModelArtifact, artifact_of
from attnzoo.errors import ConfigError

LEGACY = HERE / "fixtures" / "run-0.1-tiny"  # written by attnzoo 0.1 before the artifact


def _probs(rows):
    return [[r["probs"][k] for k in sorted(r["probs"])] for r in rows]


def test_a_run_folder_written_before_the_artifact_loads_and_predicts_the_same(tmp_path):
    expected = json.loads((LEGACY / "expected_probs.json").read_text())
    run = shutil.copytree(LEGACY, tmp_path / "run")
    loaded = attnzoo.load_model(run)
    assert loaded.name == "tiny" and loaded.label_names == ["money", "sport", "tech"]
    got = attnzoo.predict(run, ["money bank loan", "goal match team"])
    np.testing.assert_allclose(_probs(got), _probs([{"probs": p} for p in expected]), atol=1e-6)
    # and saved again it is the same folder format
    resaved = attnzoo.save_model(loaded.model, tmp_path / "again")
    old_meta = json.loads((LEGACY / "model" / "attnzoo.json").read_text())
    new_meta = json.loads((resaved / "attnzoo.json").read_text())
    # the same format, written by another core version
    assert new_meta.pop("core_version") and old_meta.pop("core_version")
    assert new_meta == old_meta
    assert sorted(p.name for p in resaved.iterdir()) == sorted(
        p.name for p in (LEGACY / "model").iterdir()
    )
    again = attnzoo.predict(resaved, ["money bank loan", "goal match team"])
    np.testing.assert_allclose(_probs(again), _probs(got), atol=1e-7)


def test_created_models_carry_a_frozen_artifact(tmp_path):
    model = attnzoo.create_model("tiny", num_classes=3, vocab_size=50)
    artifact = artifact_of(model)
    assert isinstance(artifact, ModelArtifact)
    assert artifact.name == "tiny" and artifact.config.num_classes == 3
    assert artifact.spec.name == "tiny" and artifact.processor is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        artifact.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        artifact.extra["labels"] = ["x"]  # type: ignore[index]
    labelled = artifact.with_(extra={"labels": ["a", "b", "c"]})
    assert labelled.label_names == ["a", "b", "c"] and artifact.label_names == []
    # the attribute is no torch submodule or parameter: the weights are untouched
    assert not any("artifact" in k for k in model.state_dict())
    folder = attnzoo.save_model(model, tmp_path / "m", label_names=["a", "b", "c"])
    assert attnzoo.load_model(folder).label_names == ["a", "b", "c"]


def test_saving_a_model_attnzoo_did_not_build_says_how(tmp_path):
    import torch

    with pytest.raises(ConfigError, match="create_model"):
        attnzoo.save_model(torch.nn.Linear(2, 2), tmp_path / "m")
    assert not Path(tmp_path / "m").exists()
