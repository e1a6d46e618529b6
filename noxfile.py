"""nox sessions: each package's tests run with core + that package alone.

    uv run nox                       # every default session (what CI runs)
    uv run nox -s tests-core         # one session
    uv run nox -s results            # README figures vs the results files they cite
    uv run nox -s bump -- attnzoo-diffusion minor
    uv run nox -s bench              # the quick benchmark (not a default session)

Each test session syncs only what it tests into its own venv (``uv sync --locked --package
<dist>``), so "install only what you need" is checked on every run.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
PYTHON = os.environ.get("UV_PYTHON", "3.11")

PACKAGES = {
    # session suffix: (distribution, folder, extras)
    "core": ("attnzoo-core", "core", ["torch", "tune", "ray", "slurm"]),
    "amsdff": ("attnzoo-amsdff", "packages/amsdff", []),
    "diffusion": ("attnzoo-diffusion", "packages/diffusion", []),
    "atrt": ("attnzoo-atrt", "packages/atrt", []),
    "tensorflow": ("attnzoo-tensorflow", "packages/tensorflow", []),
    "dsp": ("attnzoo-dsp", "packages/dsp", []),
    "mdaf": ("attnzoo-mdaf", "packages/mdaf", []),
    "baselines": ("attnzoo-baselines", "plugins/baselines", []),
    "datasets": ("attnzoo-datasets", "plugins/datasets", ["sentiment"]),
    "example": ("attnzoo-example", "plugins/example", []),
}
TEST_ENV = {
    "ATTNZOO_STRICT_PLUGINS": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def sync(session: nox.Session, *args: str) -> None:
    """``uv sync --locked`` into this session's venv, then the test tools."""
    env = {"UV_PROJECT_ENVIRONMENT": str(session.virtualenv.location)}
    session.run_install(
        "uv", "sync", "--locked", "--no-default-groups", *args, env=env, external=True
    )
    session.install("pytest>=8.3")


def _tests(session: nox.Session, key: str) -> None:
    dist, folder, extras = PACKAGES[key]
    sync(session, "--package", dist, *[f"--extra={e}" for e in extras])
    session.run(
        "pytest",
        f"{folder}/tests",
        "-q",
        "-m",
        "not slow and not gpu",
        *session.posargs,
        env=TEST_ENV,
    )


for _key in PACKAGES:

    def _make(key: str):  # bind the loop variable
        @nox.session(name=f"tests-{key}", python=PYTHON)
        def tests(session: nox.Session) -> None:
            _tests(session, key)

        tests.__doc__ = f"Tests of {PACKAGES[key][0]} with only its own dependencies installed."
        return tests

    globals()[f"tests_{_key}"] = _make(_key)


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """End to end as a user runs it: the README's commands, wheels in fresh venvs, torch + TF together."""
    sync(session, "--all-packages", "--all-extras")
    session.run(
        "pytest",
        "integration-tests",
        "-q",
        "-m",
        "not slow and not gpu",
        *session.posargs,
        env=TEST_ENV,
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and format check over the whole workspace."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def results(session: nox.Session) -> None:
    """Every figure a README quotes is in the committed results file it cites."""
    session.install("pytest>=8.3")
    session.run("pytest", "scripts/test_check_results.py", "-q", *session.posargs)
    session.run("python", "scripts/check_results.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy on attnzoo-core."""
    sync(session, "--package", "attnzoo-core", "--extra=torch")
    session.install("mypy>=1.13", "types-PyYAML")
    session.run("mypy", "core/src/attnzoo")


def _workspace_dependencies(folder: str) -> list[str]:
    """The attnzoo distributions a package depends on (built too: they are not on PyPI)."""
    import re
    import tomllib

    deps = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]["dependencies"]
    names = (re.match(r"[A-Za-z0-9_.-]+", d).group(0) for d in deps)  # type: ignore[union-attr]
    return [n for n in names if n.startswith("attnzoo-")]


def _wheel(session: nox.Session, key: str) -> None:
    dist, folder, _ = PACKAGES[key]
    out = Path(session.create_tmp()) / "dist"
    for d in {"attnzoo-core", dist, *_workspace_dependencies(folder)}:
        session.run(
            "uv",
            "build",
            "--no-sources",
            "--package",
            d,
            "--wheel",
            "--out-dir",
            str(out),
            external=True,
        )
    venv = Path(session.create_tmp()) / "bare"
    session.run("uv", "venv", "--quiet", str(venv), external=True)
    py = str(venv / "bin" / "python")
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        py,
        *map(str, out.glob("*.whl")),
        external=True,
    )
    check = (
        "import attnzoo, sys; from attnzoo.plugins import get_host;"
        f"mine = [s for s in attnzoo.registry.get_registry().tables['model'].values() if s.plugin == {dist!r}];"
        "print('models:', [s.name for s in mine]);"
        "[attnzoo.create_model(s.name + ('.tiny' if 'tiny' in s.presets else ''), **({'vocab_size': 50, 'num_classes': 2} if 'vocab_size' in s.load_config_class().model_fields else {})) for s in mine];"
        "bad = get_host().failed(); sys.exit(f'failed plugins: {bad}' if bad else 0)"
    )
    session.run(py, "-c", check, env=TEST_ENV, external=True)
    session.run(str(venv / "bin" / "attnzoo"), "models", external=True)


for _key in PACKAGES:

    def _make_wheel(key: str):
        @nox.session(name=f"wheel-{key}", python=False, default=False)
        def wheel(session: nox.Session) -> None:
            _wheel(session, key)

        wheel.__doc__ = f"Build {PACKAGES[key][0]} (+ core) wheels, install into a bare venv, list and build its models."
        return wheel

    globals()[f"wheel_{_key}"] = _make_wheel(_key)


@nox.session(python=False, default=False)
def bump(session: nox.Session) -> None:
    """Bump a package version: ``nox -s bump -- attnzoo-diffusion minor`` (then add a CHANGELOG entry)."""
    if len(session.posargs) != 2:
        session.error("usage: nox -s bump -- <distribution> <major|minor|patch>")
    dist, part = session.posargs
    session.run("uv", "version", "--package", dist, "--bump", part, external=True)
    session.log(
        f"Now add a '## <new version>' entry to the CHANGELOG.md of {dist} and tag {dist}/v<version>."
    )


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """`attnzoo bench quick` with every package installed (minutes; prints the leaderboard)."""
    sync(session, "--all-packages", "--all-extras")
    session.run("attnzoo", "bench", "quick", *session.posargs)


# --- export (issue 18): an ONNX export predicts in a venv without torch -------------------
# core's tests include the ONNX export tests, which need ONNX Runtime in the tests-core venv
PACKAGES["core"][2].append("onnx")


@nox.session(name="export-bare", python=PYTHON, default=False)
def export_bare(session: nox.Session) -> None:
    """Export diffusion.tiny to ONNX with the full env, then `attnzoo predict` it in a bare venv
    holding only attnzoo-core[onnx] (torch must not import there) and compare with torch."""
    sync(session, "--all-packages", "--all-extras")
    work = Path(session.create_tmp())
    script = str(ROOT / "core" / "tests" / "bare" / "export_bare.py")
    session.run("python", script, "make", str(work), env=TEST_ENV)
    wheels = work / "wheels"
    session.run(
        "uv",
        "build",
        "--package",
        "attnzoo-core",
        "--wheel",
        "--out-dir",
        str(wheels),
        external=True,
    )
    venv = work / "bare"
    session.run("uv", "venv", "--quiet", "--python", PYTHON, str(venv), external=True)
    py = str(venv / "bin" / "python")
    wheel = next(wheels.glob("attnzoo_core-*.whl"))
    session.run("uv", "pip", "install", "--quiet", "--python", py, f"{wheel}[onnx]", external=True)
    session.run(py, script, "compare", str(work), env=TEST_ENV, external=True)
