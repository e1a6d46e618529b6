"""``attnzoo bench``: the matrix, resume, outputs, leaderboard, and the scaling sweep's budget.

Every cell runs in a child process (which pays ``import torch``), so the matrix is kept to a
few cells of the tiny test model; the test plugin is forwarded to the children by the bench.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from attnzoo.bench import build_matrix, fit_exponent, leaderboard_markdown
from attnzoo.bench.matrix import Cell
from attnzoo.bench.presets import QUICK, BenchPreset, Recipe
from attnzoo.bench.report import leaderboard
from attnzoo.bench.runner import run_cell
from attnzoo.bench.scaling import ScalingSettings, doubling, run_scaling
from attnzoo.cli.main import cli

SMALL = ["data.tokenizer.vocab_size=200", "data.tokenizer.min_frequency=1", "train.epochs=1"]


def _bench(args: list[str]) -> str:
    result = CliRunner().invoke(cli, ["bench", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------------------------------
# The matrix (pure)
# ---------------------------------------------------------------------------------------


def test_matrix_expands_models_datasets_seeds_with_stable_ids(tiny_csv):
    m = build_matrix(None, ["tiny", "tiny.wide"], [str(tiny_csv), "other.csv"], 2, SMALL)
    assert len(m.cells) == 2 * 2 * 2
    assert [c.model for c in m.cells[:4]] == ["tiny"] * 4
    assert len({c.id for c in m.cells}) == 8
    cell = m.cells[0]
    assert cell.id.startswith("tiny__tiny__s0__")  # dataset path -> file stem
    assert cell.id == build_matrix(None, ["tiny"], [str(tiny_csv)], 1, SMALL).cells[0].id
    changed = build_matrix(
        None, ["tiny"], [str(tiny_csv)], 1, [*SMALL[:-1], "train.epochs=2"]
    ).cells[0]
    assert changed.id != cell.id  # a changed setting is a new cell
    cfg = cell.run_config("/runs")
    assert (
        cfg["train"]["seed"] == 0
        and cfg["train"]["epochs"] == 1
        and cfg["data"]["tokenizer"]["vocab_size"] == 200
    )
    assert cfg["name"] == cell.id and cfg["out_dir"] == "/runs"


def test_all_means_every_installed_text_model(tiny_csv):
    assert [c.model for c in build_matrix(None, ["all"], [str(tiny_csv)], 1).cells] == ["tiny"]


def test_preset_recipes_generic_settings_and_missing_requirements(monkeypatch, tiny_csv):
    import attnzoo.bench.matrix as matrix_mod

    preset = BenchPreset(
        "t",
        "test",
        datasets=(str(tiny_csv),),
        seeds=1,
        common=("train.epochs=1",),
        models={
            "tiny": (
                Recipe("tiny.wide", ("train.lr=0.1",)),
                Recipe("tiny", requires=("no_such_module_xyz",), note="needs xyz"),
            )
        },
        generic=("train.batch_size=4",),
    )
    monkeypatch.setitem(matrix_mod.PRESETS, "t", preset)
    m = build_matrix("t")
    assert [(c.model, c.sets) for c in m.cells] == [
        ("tiny.wide", ("train.epochs=1", "train.lr=0.1"))
    ]
    assert m.notes == ["skipped tiny: needs xyz"]
    # a model the preset does not know gets the generic settings
    assert build_matrix("quick", ["tiny"], [str(tiny_csv)]).cells[0].sets == (
        *QUICK.common,
        *QUICK.generic,
    )


# ---------------------------------------------------------------------------------------
# Running, outputs, resume (child processes)
# ---------------------------------------------------------------------------------------


def test_bench_runs_the_matrix_writes_outputs_and_resumes(tiny_csv, tmp_path):
    out = tmp_path / "bench"
    args = [
        "--models",
        "tiny,tiny.wide",
        "--datasets",
        str(tiny_csv),
        "--seeds",
        "2",
        "--out",
        str(out),
    ]
    for s in SMALL:
        args += ["--set", s]
    output = _bench(args)
    assert "leaderboard" in output

    cells = sorted((out / "cells").glob("*.json"))
    assert len(cells) == 4
    records = json.loads((out / "results.json").read_text())["cells"]
    assert [(r["model"], r["seed"]) for r in records] == [
        ("tiny", 0),
        ("tiny", 1),
        ("tiny.wide", 0),
        ("tiny.wide", 1),
    ]
    for r in records:
        assert r["status"] == "ok", r.get("log_tail")
        assert 0 <= r["test"]["accuracy"] <= 1 and r["num_parameters"] > 0
        assert r["samples_per_s"] > 0 and r["tokens_per_s"] > 0 and r["latency_ms_per_batch"] > 0
        assert (
            r["peak_memory_mb"] > r["baseline_rss_mb"] > 0
            and r["memory_kind"] == "peak RSS (process)"
        )
        assert r["wall_seconds"] > r["train_seconds"] > 0 and r["device"].startswith("cpu")
        assert r["versions"]["attnzoo-core"] and r["versions"]["torch"]
        assert (Path(r["run_dir"]) / "final.json").exists()
    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and {
        "test_accuracy",
        "test_macro_f1",
        "num_parameters",
        "peak_memory_mb",
        "seed",
    } <= set(rows[0])
    board = (out / "leaderboard.md").read_text()
    assert "| tiny | 2 |" in board and "| tiny.wide | 2 |" in board and "±" in board
    assert (out / "accuracy_vs_throughput.png").stat().st_size > 0 and (
        out / "accuracy_vs_memory.png"
    ).stat().st_size > 0

    # resume: delete one cell's record; only that cell runs again
    before = {p.name: p.stat().st_mtime_ns for p in cells}
    logs_before = {p.name: p.stat().st_mtime_ns for p in (out / "logs").glob("*.log")}
    victim = cells[1]
    victim.unlink()
    output = _bench(args)
    assert "resuming: 3/4 cells already done" in output
    after = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert set(after) == set(before)
    assert [n for n in after if after[n] != before[n]] == [victim.name]
    logs_after = {p.name: p.stat().st_mtime_ns for p in (out / "logs").glob("*.log")}
    assert [n for n in logs_after if logs_after[n] != logs_before[n]] == [
        victim.name.replace(".json", ".log")
    ]


def test_a_failing_cell_is_recorded_with_its_error(tiny_csv, tmp_path):
    record = run_cell(
        tmp_path, Cell("tiny", str(tiny_csv), 0, (*SMALL, "model.d_model=0")), plugins=_plugins()
    )
    assert record["status"] == "failed" and record["exit_code"] == 1
    assert "d_model" in record["error"]
    assert (
        json.loads((tmp_path / "cells" / f"{record['cell_id']}.json").read_text())["status"]
        == "failed"
    )


def _plugins() -> list[dict[str, str]]:
    from attnzoo.bench.runner import forwarded_plugins

    return forwarded_plugins()


# ---------------------------------------------------------------------------------------
# Leaderboard (pure)
# ---------------------------------------------------------------------------------------


def _record(model: str, seed: int, acc: float, params: int, sps: float, mem: float) -> dict:
    return {
        "cell_id": f"{model}-{seed}",
        "model": model,
        "dataset": "d",
        "seed": seed,
        "status": "ok",
        "test": {"accuracy": acc, "macro_f1": acc - 0.1, "loss": 1.0},
        "num_parameters": params,
        "samples_per_s": sps,
        "latency_ms_per_batch": 1000 / sps,
        "peak_memory_mb": mem,
    }


def test_leaderboard_means_over_seeds_and_marks_the_best():
    records = [
        _record("a", 0, 0.80, 1000, 100.0, 500.0),
        _record("a", 1, 0.90, 1000, 100.0, 500.0),
        _record("b", 0, 0.70, 5000, 400.0, 300.0),
        _record("b", 1, 0.70, 5000, 400.0, 300.0),
        {
            "cell_id": "c-0",
            "model": "c",
            "dataset": "d",
            "seed": 0,
            "status": "failed",
            "error": "boom",
        },
    ]
    cols, tables = leaderboard(records)
    titles = [c.title for c in cols]
    assert titles[:2] == ["accuracy", "macro-F1"] and "loss" not in titles
    a, b = tables["d"]
    assert (
        a.n == 2
        and a.stats[0][0] == pytest.approx(0.85)
        and a.stats[0][1] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    )
    best = {e.model: [t for t, flag in zip(titles, e.best, strict=True) if flag] for e in (a, b)}
    assert best == {
        "a": ["accuracy", "macro-F1", "params"],
        "b": ["samples/s", "ms/batch", "peak MB"],
    }
    md = leaderboard_markdown(records)
    assert "**0.8500 ± 0.0707**" in md and "| b | 2 | 0.7000 ± 0.0000 |" in md
    assert "`c-0`: failed: boom" in md


def test_ctr_and_text_tables_show_only_their_own_metrics():
    text = [_record("a", 0, 0.8, 1000, 100.0, 500.0)]
    ctr = {
        **_record("lr", 0, 0.0, 20, 5000.0, 300.0),
        "dataset": "movielens-100k",
        "test": {"auc": 0.75, "logloss": 0.55, "gauc": 0.7, "loss": 0.55},
    }
    md = leaderboard_markdown([*text, ctr])
    d, ml = md.split("## d")[1].split("## movielens-100k")
    assert "| model | seeds | AUC | gAUC | log loss | params |" in ml and "accuracy" not in ml
    assert "| model | seeds | accuracy | macro-F1 | params |" in d and "AUC" not in d
    assert "| lr | 1 | **0.7500** | **0.7000** | **0.5500** |" in ml
    assert "trainable" in md


# ---------------------------------------------------------------------------------------
# Scaling
# ---------------------------------------------------------------------------------------


def test_exponent_fit_on_synthetic_points():
    lengths = [256, 512, 1024, 2048, 4096]
    assert fit_exponent(lengths, [3e-9 * n**2 for n in lengths]) == pytest.approx(2.0)
    assert fit_exponent(lengths, [5e-4 * n + 0 for n in lengths]) == pytest.approx(1.0)
    assert fit_exponent([256], [1.0]) is None
    assert fit_exponent([256, 512], [1.0, None]) is None
    assert doubling(256, 16384) == (256, 512, 1024, 2048, 4096, 8192, 16384)


def test_scaling_stops_a_model_over_its_time_budget(tmp_path):
    result = run_scaling(
        ["tiny"],
        tmp_path,
        ScalingSettings(lengths=(8, 16, 32), steps=2, time_budget=1e-4),
        show_progress=False,
    )
    assert [(p["length"], p["status"]) for p in result["points"]] == [
        (8, "timeout")
    ]  # 16 and 32 never ran
    assert result["models"]["tiny"]["stopped"].startswith("timeout at length 8")
    assert result["models"]["tiny"]["time_exponent"] is None


def test_scaling_sweep_measures_each_length_and_writes_outputs(tmp_path):
    result = run_scaling(
        ["tiny"],
        tmp_path,
        ScalingSettings(lengths=(16, 64), steps=2, time_budget=120),
        show_progress=False,
    )
    assert [(p["length"], p["status"]) for p in result["points"]] == [(16, "ok"), (64, "ok")], (
        result["points"]
    )
    for p in result["points"]:
        assert (
            p["seconds_per_sample"] > 0
            and p["tokens_per_s"] > 0
            and p["memory_kind"] == "peak RSS above baseline"
        )
    assert (
        result["models"]["tiny"]["stopped"] is None
        and result["models"]["tiny"]["time_exponent"] is not None
    )
    for name in ("scaling.json", "scaling.csv", "scaling_time.png", "scaling_memory.png"):
        assert (tmp_path / name).stat().st_size > 0
    # a re-run reuses the finished points
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "points").glob("*.json")}
    run_scaling(
        ["tiny"],
        tmp_path,
        ScalingSettings(lengths=(16, 64), steps=2, time_budget=120),
        show_progress=False,
    )
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "points").glob("*.json")} == mtimes


def test_models_pair_only_with_datasets_of_their_input_kind(tiny_csv):
    import types

    from attnzoo import hookimpl
    from attnzoo.errors import ConfigError
    from attnzoo.plugins import get_host
    from attnzoo.registry import reset
    from attnzoo.specs import DatasetSpec

    def register_datasets(registry):
        registry.add(DatasetSpec("clicks", "tinymodels:Tiny", task="ctr", input_kind="tabular"))

    get_host().register(
        types.SimpleNamespace(register_datasets=hookimpl(register_datasets)), "clickdata"
    )
    reset()
    m = build_matrix(None, models=["tiny"], datasets=[str(tiny_csv), "clicks"], seeds=1)
    assert {c.dataset for c in m.cells} == {str(tiny_csv)}
    assert any("skipped tiny on clicks" in n and "'tabular'" in n for n in m.notes)
    with pytest.raises(ConfigError, match="No installed model reads"):
        build_matrix(None, datasets=["clicks"], seeds=1)


def test_the_bench_does_not_import_the_cli() -> None:
    """Layering: the CLI sits on top of the bench, never under it."""
    import attnzoo.bench

    bench_dir = Path(attnzoo.bench.__file__).parent
    offenders = [p.name for p in bench_dir.rglob("*.py") if "attnzoo.cli" in p.read_text()]
    assert offenders == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_cell_reports_its_own_peak_memory_not_its_parents():
    # ru_maxrss carries the parent's high-water mark across fork + exec: a cell started from a
    # big process (this test holds 600 MB) must still report only its own memory
    held = bytearray(600 * 2**20)
    held[::4096] = b"\x01" * len(held[::4096])
    code = "from attnzoo.bench.worker import rss_peak_mb; print(rss_peak_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 400, out.stdout
    del held
