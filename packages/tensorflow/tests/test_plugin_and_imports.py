"""The plugin registers the ``tensorflow`` trainer without importing a framework; importing the
engine leaves the environment as it was; a wrong Keras backend fails when a model is built."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_plugin_registers_the_tensorflow_trainer_without_importing_a_framework():
    code = (
        "import sys\n"
        "from attnzoo.registry import get_trainer_spec\n"
        "spec = get_trainer_spec('tensorflow')\n"
        "assert spec.factory == 'attnzoo_tensorflow.backend:TensorFlowBackend', spec\n"
        "assert spec.plugin == 'attnzoo-tensorflow', spec.plugin\n"
        "bad = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = _python(code, ATTNZOO_LOAD_PLUGINS="tensorflow", ATTNZOO_STRICT_PLUGINS="1")
    assert out.returncode == 0, out.stderr[-2000:]


_PROBE = """
import json, os
before = dict(os.environ)
import attnzoo_tensorflow.backend, attnzoo_tensorflow.engine
import keras
print(json.dumps({"changed": sorted(k for k in set(before) | set(os.environ)
                                    if before.get(k) != os.environ.get(k)),
                  "backend": keras.backend.backend()}))
"""


def test_importing_the_engine_sets_no_environment_variable_and_picks_tensorflow():
    env = {
        k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "changed": [],
        "backend": "tensorflow",
    }


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="needs a second Keras backend installed (torch); attnzoo-tensorflow alone has only TensorFlow",
)
def test_a_wrong_keras_backend_fails_when_the_model_is_built_not_at_import(tmp_path):
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path.parent)!r})\n"
        "import attnzoo_tensorflow.backend as b\n"  # the import itself succeeds
        "from attnzoo.specs import ModelSpec\n"
        "spec = ModelSpec('m', 'x:C', 'x:M', framework='tensorflow')\n"
        "b.TensorFlowBackend().build_model(spec, None)\n"
    )
    out = _python(code, KERAS_BACKEND="torch")
    assert out.returncode != 0
    assert "attnzoo-tensorflow needs Keras on the TensorFlow backend" in out.stderr
    assert "KERAS_BACKEND=tensorflow" in out.stderr
