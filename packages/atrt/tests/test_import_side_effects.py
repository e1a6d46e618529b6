"""Importing the ATRT layers leaves the environment as it was and never raises on its own."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")

_PROBE = """
import json, os
before = dict(os.environ)
import attnzoo_atrt.layers as layers
import keras
print(json.dumps({"changed": sorted(k for k in set(before) | set(os.environ)
                                    if before.get(k) != os.environ.get(k)),
                  "backend": keras.backend.backend()}))
"""


def _probe(env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_sets_no_environment_variable_and_loads_keras_on_tensorflow() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")
    }
    result = _probe(env)
    assert result == {"changed": [], "backend": "tensorflow"}


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="needs a second Keras backend installed (torch); attnzoo-atrt alone has only TensorFlow",
)
def test_wrong_keras_backend_fails_when_a_layer_is_built_not_at_import() -> None:
    env = dict(os.environ, KERAS_BACKEND="torch")
    assert _probe(env)["backend"] == "torch"  # the import itself succeeds
    code = (
        "from attnzoo_atrt.config import ATRTConfig\n"
        "from attnzoo_atrt.layers import ATRTAttention\n"
        "ATRTAttention(ATRTConfig(vocab_size=10, num_classes=2, d_model=8, n_heads=2))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "needs Keras on the TensorFlow backend" in out.stderr
