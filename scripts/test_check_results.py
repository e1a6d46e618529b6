"""Tests of scripts/check_results.py (run by ``nox -s results``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from check_results import main

CSV = """model,dataset,seed,test_accuracy,num_parameters,train_seconds
a,d,0,0.9417,1091269,31.8
a,d,1,0.9283,1091269,33.2
a,d,2,0.9500,1091269,30.0
b,d,0,1.788e-07,5,1
"""


def repo(tmp_path: Path, body: str, cite: str = "results/cells.csv") -> Path:
    (tmp_path / "results").mkdir(exist_ok=True)
    (tmp_path / "results" / "cells.csv").write_text(CSV)
    (tmp_path / "README.md").write_text(
        f"intro 0.123 not checked\n<!-- results: {cite} -->\n{body}\n<!-- /results -->\n"
    )
    return tmp_path


TABLE = "| model | acc | params | s |\n|---|---:|---:|---:|\n| a (width 64) | {acc} | {params} | {secs} |"


@pytest.mark.parametrize(
    ("acc", "params", "secs"),
    [
        ("0.940 ± 0.011", "1.09M", "31.7"),  # mean, sample std, M suffix, mean seconds
        ("**0.9417**", "1,091,269", "33"),  # a single cell, bold; thousands separators
        ("94.0%", "1.09M ± 0", "31,667"),  # percent of a share; std 0; milliseconds
    ],
)
def test_figures_found(tmp_path, capsys, acc, params, secs):
    assert (
        main(["--root", str(repo(tmp_path, TABLE.format(acc=acc, params=params, secs=secs)))]) == 0
    )
    assert "0 problem(s)" in capsys.readouterr().out


@pytest.mark.parametrize("acc", ["0.941 ± 0.011", "0.940 ± 0.02", "0.95 ± 0.0200"])
def test_a_figure_not_in_the_file_fails(tmp_path, capsys, acc):
    body = TABLE.format(acc=acc, params="1.09M", secs="31.7")
    assert main(["--root", str(repo(tmp_path, body))]) == 1
    assert "is not in results/cells.csv" in capsys.readouterr().out


def test_prose_checks_decimals_only(tmp_path):
    body = "After 10 epochs with width 64: accuracy 0.9283 (seed 1)."
    assert main(["--root", str(repo(tmp_path, body))]) == 0
    body = "After 10 epochs with width 64: accuracy 0.9999."
    assert main(["--root", str(repo(tmp_path, body))]) == 1


@pytest.mark.parametrize(
    ("figure", "found"), [("1.8e-7", True), ("1.79e-7", True), ("1.8e-6", False)]
)
def test_scientific_notation(tmp_path, figure, found):
    body = f"max |diff| {figure}."
    assert main(["--root", str(repo(tmp_path, body))]) == (0 if found else 1)


@pytest.mark.parametrize("cite", ["elsewhere/cells.csv", "results/missing.csv", ""])
def test_cited_file_must_exist_under_results(tmp_path, capsys, cite):
    if cite.startswith("elsewhere"):
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "cells.csv").write_text(CSV)
    assert main(["--root", str(repo(tmp_path, "| m | 0.9417 |", cite=cite))]) == 1


def test_unclosed_block_is_an_error(tmp_path, capsys):
    root = repo(tmp_path, "")
    (root / "README.md").write_text("<!-- results: results/cells.csv -->\n| a | 0.9417 |\n")
    assert main(["--root", str(root)]) == 1
    assert "never closed" in capsys.readouterr().out


def test_this_repository_passes():
    assert main([]) == 0
