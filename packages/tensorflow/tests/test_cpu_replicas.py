"""Data-parallel Keras training over two logical CPU devices (``ATTNZOO_TF_CPU_REPLICAS=2``,
``MirroredStrategy``) equals one device at the same global batch.

The two-replica run is a subprocess: TensorFlow splits the CPU into logical devices only
before it initialises its devices, which this test process has long done. It is interrupted
mid-epoch and resumed, like the torch engine's two-process test. The tiny model has no dropout
and the gradient clip is small enough to act at every step, so the runs differ only by
floating-point summation order: a clip applied per replica, or a strategy not applied (then
the global batch halves and the step count doubles), fails it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import HERE, run_config

import attnzoo
from attnzoo.errors import ConfigError
from attnzoo_tensorflow.distribute import CPU_REPLICAS, make_strategy

CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {here!r})
    import attnzoo
    from attnzoo import hookimpl
    from attnzoo.errors import ConfigError
    from attnzoo.plugins import get_host
    from attnzoo_tensorflow.distribute import make_strategy
    import tinykeras

    class InterruptAtSave:  # Ctrl-C right after the 3rd state save (one step into epoch 2)
        saves = 0

        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state"):
                self.saves += 1
                if self.saves == 3:
                    raise KeyboardInterrupt

    get_host().register(tinykeras, "tinykeras", "tinykeras")
    interrupt = InterruptAtSave()
    get_host().register(interrupt, "interrupt")
    cfg = json.loads({cfg!r})
    try:
        attnzoo.train(cfg)
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
    get_host().unregister("interrupt")
    result = attnzoo.train(cfg, resume=True)
    print("REPLICAS", make_strategy().num_replicas_in_sync, flush=True)
    cfg["name"], cfg["train"]["grad_accum"] = "accum", 2
    try:
        attnzoo.train(cfg)
    except ConfigError as exc:
        print("REFUSED", exc, flush=True)
    """
)


def _config(data: Path, out: Path, batch_size: int) -> dict:
    # 144 training rows: 9 global batches of 16 an epoch, split 8 + 8 on two replicas; state
    # saves at steps 5, 9 (end of epoch 1), 10: the 3rd is one step into epoch 2
    cfg = run_config(
        data,
        out,
        "r",
        batch_size=batch_size,
        grad_clip=0.05,
        save_every_steps=5,
        early_stopping_patience=None,
    )
    cfg["model_args"] = {"dropout": 0.0}
    return cfg


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _weights(path: Path) -> dict[str, np.ndarray]:
    import h5py

    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(
            lambda name, obj: (
                arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return arrays


def test_two_cpu_replicas_train_like_one_device(toy_file, tmp_path):
    single = attnzoo.train(_config(toy_file, tmp_path / "single", batch_size=16))
    cfg = _config(toy_file, tmp_path / "mirrored", batch_size=8)  # per replica: 2 x 8 = 16
    script = CHILD.format(here=str(HERE), cfg=json.dumps(cfg))
    env = {**os.environ, CPU_REPLICAS: "2", "OMP_NUM_THREADS": "1"}
    env.pop("TF_CONFIG", None)
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert child.returncode == 0, child.stdout[-2000:] + child.stderr[-3000:]
    lines = child.stdout.splitlines()
    assert "INTERRUPTED" in lines and "REPLICAS 2" in lines
    refused = [line for line in lines if line.startswith("REFUSED")]
    assert refused and "train.grad_accum=2" in refused[0] and "2 replicas" in refused[0]

    run_dir, single_dir = tmp_path / "mirrored" / "r", tmp_path / "single" / "r"
    final = json.loads((run_dir / "final.json").read_text())
    assert final["test"]["accuracy"] == pytest.approx(single["test"]["accuracy"])
    assert final["test"]["loss"] == pytest.approx(single["test"]["loss"], rel=1e-6)
    rows, single_rows = _rows(run_dir), _rows(single_dir)
    assert [r["epoch"] for r in rows] == [1, 2]  # one row per epoch: one writer
    # the examples trained on in each attempt's epoch (epoch 2 resumed one step in), counted
    # once although tf.distribute reads batches beyond them; and the same tokens as one device
    assert [round(r["samples_per_s"] * r["epoch_seconds"]) for r in rows] == [144, 128]
    tokens = [round(r["tokens_per_s"] * r["epoch_seconds"]) for r in (rows[0], single_rows[0])]
    assert tokens[0] == tokens[1]
    for two, one in zip(rows, single_rows, strict=True):
        assert two["global_step"] == one["global_step"]  # 9 steps an epoch: the global batch
        assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-6)
        assert two["val_accuracy"] == pytest.approx(one["val_accuracy"])
        assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-5)
        assert two["train_accuracy"] == pytest.approx(one["train_accuracy"])
    best, best_single = (_weights(d / "model" / "model.weights.h5") for d in (run_dir, single_dir))
    assert best.keys() == best_single.keys() and best
    for name, value in best.items():
        np.testing.assert_allclose(value, best_single[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert len(list((run_dir / "tb").glob("events.*"))) == 2  # the interrupted attempt + resume


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_a_bad_replica_count_is_refused(monkeypatch, value):
    monkeypatch.setenv(CPU_REPLICAS, value)
    with pytest.raises(ConfigError, match=f"{CPU_REPLICAS}=.*whole number"):
        make_strategy()


def test_one_replica_is_the_default_strategy(monkeypatch):
    monkeypatch.setenv(CPU_REPLICAS, "1")
    assert make_strategy().num_replicas_in_sync == 1


def test_replicas_asked_for_after_tensorflow_started_are_refused(monkeypatch):
    from attnzoo_tensorflow.on_tensorflow import tf

    tf.constant(1.0) + 1.0  # TensorFlow's devices are initialised in this process now
    monkeypatch.setenv(CPU_REPLICAS, "3")
    with pytest.raises(ConfigError, match="came too late.*environment that starts the process"):
        make_strategy()


def test_replicas_and_several_workers_are_refused(monkeypatch):
    cluster = {"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker"}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    monkeypatch.setenv(CPU_REPLICAS, "2")
    with pytest.raises(ConfigError, match="TF_CONFIG names 2 workers"):
        make_strategy()
