from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """Wheels of core and attnzoo-example, built as for PyPI (no workspace sources)."""
    uv = shutil.which("uv")
    assert uv, "integration tests need uv on PATH (pip install uv)"
    out = tmp_path_factory.mktemp("dist")
    for dist in ("attnzoo-core", "attnzoo-example"):
        subprocess.run(
            [uv, "build", "--no-sources", "--package", dist, "--wheel", "--out-dir", str(out)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return {p.name.split("-")[0]: p for p in out.glob("*.whl")}


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory, wheels) -> Path:
    """A bare venv with attnzoo-core and attnzoo-example installed from their wheels, as a third party would."""
    uv = shutil.which("uv")
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([uv, "venv", "--quiet", str(venv)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            *map(str, wheels.values()),
        ],
        check=True,
        env=env,
    )
    return venv
