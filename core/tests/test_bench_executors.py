"""Bench executors: cells on a local Ray cluster and through submitit give the local records."""

from __future__ import annotations

import json

import pytest

from attnzoo.bench import build_matrix, run_bench
from attnzoo.errors import ConfigError

SMALL = ["data.tokenizer.vocab_size=200", "data.tokenizer.min_frequency=1", "train.epochs=1"]


def _matrix(tiny_csv):
    return build_matrix(None, ["tiny", "tiny.wide"], [str(tiny_csv)], 2, SMALL)


def _by_id(records):
    return {r["cell_id"]: r for r in records}


def _check_same(records, reference):
    assert set(_by_id(records)) == set(_by_id(reference))
    for cell_id, rec in _by_id(records).items():
        ref = _by_id(reference)[cell_id]
        assert rec["status"] == ref["status"] == "ok", rec.get("log_tail")
        assert rec["test"] == ref["test"] and rec["val"] == ref["val"]  # deterministic on a CPU


@pytest.fixture
def ray_cluster():
    """A local Ray cluster for the test (the executor joins it instead of starting its own).

    Starting one needs what the machine may not give (shared memory, ports, 10-60 s); a cluster
    that does not start skips the test with Ray's reason, everything after the start is tested."""
    ray = pytest.importorskip("ray")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # Ray raises several kinds at start-up
        pytest.skip(f"a local Ray cluster did not start here: {type(exc).__name__}: {exc}")
    yield ray
    ray.shutdown()


def test_ray_executor_gives_the_local_records_and_resumes(tiny_csv, tmp_path, ray_cluster):
    matrix = _matrix(tiny_csv)
    local = run_bench(matrix, tmp_path / "local", show_progress=False)
    on_ray = run_bench(matrix, tmp_path / "ray", show_progress=False, executor="ray")
    _check_same(on_ray, local)
    assert json.loads((tmp_path / "ray" / "results.json").read_text())["executor"] == "ray"
    board = (tmp_path / "ray" / "leaderboard.md").read_text().splitlines()
    local_board = (tmp_path / "local" / "leaderboard.md").read_text().splitlines()
    assert len(board) == len(local_board) and board[0] == local_board[0]
    finished = {r["cell_id"]: r["finished_at"] for r in on_ray}
    again = run_bench(matrix, tmp_path / "ray", show_progress=False, executor="ray")
    assert {r["cell_id"]: r["finished_at"] for r in again} == finished  # resumed: nothing re-ran


def test_slurm_path_through_submitit_gives_the_local_records_and_resumes(tiny_csv, tmp_path):
    matrix = build_matrix(None, ["tiny"], [str(tiny_csv)], 2, SMALL)
    local = run_bench(matrix, tmp_path / "local", show_progress=False)
    options = {"show_progress": False, "executor": "slurm", "slurm_cluster": "local"}
    jobs = run_bench(matrix, tmp_path / "slurm", **options)
    _check_same(jobs, local)
    job_dirs = [d for d in (tmp_path / "slurm" / "slurm").iterdir() if d.name.isdigit()]
    assert len(job_dirs) == 2  # one submitit job (folder named by its id) per cell
    finished = {r["cell_id"]: r["finished_at"] for r in jobs}
    again = run_bench(matrix, tmp_path / "slurm", **options)
    assert {r["cell_id"]: r["finished_at"] for r in again} == finished


def test_slurm_without_slurm_and_unknown_executors_are_clear_errors(tiny_csv, tmp_path):
    matrix = _matrix(tiny_csv)
    with pytest.raises(ConfigError, match="no Slurm on this machine"):
        run_bench(matrix, tmp_path / "s", show_progress=False, executor="slurm")
    with pytest.raises(ConfigError, match="Unknown executor 'dask'"):
        run_bench(matrix, tmp_path / "d", show_progress=False, executor="dask")


def test_preset_resources_reach_the_matrix():
    from attnzoo.bench.presets import PRESETS

    assert build_matrix("quick").resources == dict(PRESETS["quick"].resources)
    assert build_matrix("quick").resources["cpus"] >= 1


def test_cli_executor_options_belong_to_their_executor(tiny_csv):
    from click.testing import CliRunner

    from attnzoo.cli.main import cli

    base = ["bench", "--models", "tiny", "--datasets", str(tiny_csv), "--dry-run"]
    res = CliRunner().invoke(cli, [*base, "--executor", "slurm", "--address", "auto"])
    assert res.exit_code == 2 and "--address is the Ray cluster's" in res.output
    res = CliRunner().invoke(cli, [*base, "--partition", "gpu"])
    assert res.exit_code == 2 and "--partition is Slurm's" in res.output
    res = CliRunner().invoke(cli, [*base, "--tuned", "3"])
    assert res.exit_code == 0 and "first tuned with 3 trials" in res.output
