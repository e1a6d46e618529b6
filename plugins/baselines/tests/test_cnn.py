"""The ``cnn`` image baseline: contract, shapes, and the whole CLI path on an image folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from attnzoo.cli import cli
from attnzoo.errors import ConfigError
from attnzoo.testing import ModelConformance, make_image_folder
from attnzoo_baselines import plugin
from attnzoo_baselines.cnn import CNNClassifier
from attnzoo_baselines.cnn_config import CNNConfig


class TestCNNConformance(ModelConformance):
    model_name = "cnn.tiny"
    distribution = "attnzoo-baselines"


def test_registered_as_an_image_classifier():
    spec = plugin.CNN
    assert (spec.task, spec.input_kind, spec.framework) == (
        "image-classification",
        "image",
        "torch",
    )
    assert "tiny" in spec.presets and all(spec.preset(p).description for p in spec.presets)


def test_config_module_imports_no_framework():
    code = "import sys, attnzoo_baselines.cnn_config\nsys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(("size", "channels"), [(8, 1), (13, 3), (32, 3)])
def test_any_input_size_and_channels(size, channels):
    cfg = CNNConfig(widths=[4, 8, 8], in_channels=channels, image_size=size, num_classes=5)
    model = CNNClassifier(cfg).eval()
    out = model(torch.randn(2, channels, size, size))["logits"]
    assert out.shape == (2, 5) and torch.isfinite(out).all()


def test_stages_downsample_after_the_first():
    model = CNNClassifier(CNNConfig(widths=[4, 8, 16], blocks_per_stage=2, in_channels=1))
    convs = [m for m in model.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 2, 1]
    assert [c.out_channels for c in convs] == [4, 4, 8, 8, 16, 16]
    assert model.features(torch.randn(1, 1, 16, 16)).shape == (1, 16, 4, 4)


def test_config_errors():
    import attnzoo

    with pytest.raises(ConfigError, match="kernel_size must be odd"):
        attnzoo.create_model("cnn.tiny", kernel_size=4)
    with pytest.raises(ConfigError, match="widths"):
        attnzoo.create_model("cnn", widths=[])


# ---------------------------------------------------------------------------------------------
# End to end through the CLI on an image folder
# ---------------------------------------------------------------------------------------------

TRAIN_SETS = [
    "progress=false",
    "batch_size=8",
    "lr=1e-2",
    "data.processor.image_size=16",
    "data.processor.random_crop_padding=2",  # a crop only: a flip would swap 60 and 120 degrees
]


def invoke(*args: str) -> str:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False).output


def train_args(folder: Path, out: Path, *sets: str) -> list[str]:
    args = ["train", "--model", "cnn.tiny", "--dataset", str(folder), "--out", str(out)]
    for s in [*TRAIN_SETS, *sets]:
        args += ["--set", s]
    return [*args, "--name", "r", "--json"]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    # 90 images: 72 train, 9 validation, 9 test (stratified 80/10/10)
    return make_image_folder(tmp_path_factory.mktemp("imgs") / "data", 3, 30, 16, seed=0)


def test_train_evaluate_predict_an_image_folder(image_folder, tmp_path):
    final = json.loads(invoke(*train_args(image_folder, tmp_path, "epochs=4")))
    run = tmp_path / "r"
    assert final["num_examples"] == {"train": 72, "validation": 9, "test": 9}
    assert final["test"]["accuracy"] >= 2 / 3  # chance is 1/3
    model_dir = run / "model"
    files = sorted(p.name for p in model_dir.iterdir())
    assert files == ["attnzoo.json", "config.json", "model.safetensors", "processor.json"]
    assert not [p for p in model_dir.rglob("*") if p.suffix in (".pkl", ".pickle", ".pt", ".bin")]
    processor = json.loads((model_dir / "processor.json").read_text())
    assert processor["kind"] == "image" and processor["image_size"] == 16
    config = json.loads((model_dir / "config.json").read_text())
    assert (config["image_size"], config["in_channels"], config["num_classes"]) == (16, 3, 3)

    ev = json.loads(invoke("evaluate", str(run), "--json"))
    assert ev["accuracy"] == pytest.approx(final["test"]["accuracy"])
    assert ev["num_examples"] == 9

    images = [image_folder / f"class_{k}" / "0003.png" for k in (2, 0, 1, 0)]
    lines = invoke("predict", str(run), *map(str, images)).strip().splitlines()
    preds = [json.loads(x) for x in lines]
    assert [p["input"] for p in preds] == [str(p) for p in images]  # input order
    assert all(set(p["probs"]) == {"class_0", "class_1", "class_2"} for p in preds)
    assert preds[1]["probs"] == preds[3]["probs"]  # the same file twice
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps({"image": str(p)}) + "\n" for p in images[:2]))
    from_file = [
        json.loads(x) for x in invoke("predict", str(run), "--input", str(jsonl)).splitlines()
    ]
    assert [p["probs"] for p in from_file] == [p["probs"] for p in preds[:2]]

    res = CliRunner().invoke(cli, ["predict", str(run), str(tmp_path / "missing.png")])
    assert res.exit_code != 0 and "missing.png): no such file" in res.output


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
    cli.main({args!r}, standalone_mode=False)
    """
)


def test_resume_after_a_kill_gives_the_same_final_metrics(image_folder, tmp_path):
    sets = ["epochs=3", "save_every_steps=3", "early_stopping_patience=null"]
    # 72 training images / batch 8 = 9 steps per epoch; saves at steps 3, 6, 9, end of epoch
    # 1, step 12: the 5th save is mid-epoch 2
    args = train_args(image_folder, tmp_path / "killed", *sets)
    script = KILL_SCRIPT.format(kill_after=5, args=args)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ}
    )
    assert proc.returncode == 137, proc.stderr[-2000:]
    state = json.loads((tmp_path / "killed/r/state/trainer.json").read_text())
    assert state["progress"]["epoch"] == 2 and state["progress"]["step_in_epoch"] == 3
    resumed = json.loads(invoke("train", str(tmp_path / "killed/r"), "--resume", "--json"))
    straight = json.loads(invoke(*train_args(image_folder, tmp_path / "straight", *sets)))
    assert resumed["test"] == straight["test"]
    assert resumed["val"] == straight["val"]
    rows = [
        [json.loads(x) for x in (tmp_path / d / "r/metrics.jsonl").read_text().splitlines()]
        for d in ("killed", "straight")
    ]
    assert [r["val_loss"] for r in rows[0]] == [r["val_loss"] for r in rows[1]]
    assert [r["train_loss"] for r in rows[0]] == pytest.approx(
        [r["train_loss"] for r in rows[1]], rel=1e-6
    )
