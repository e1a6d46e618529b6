"""The plots draw on their own canvas and leave the process's matplotlib backend alone."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from attnzoo import plots  # noqa: E402


@pytest.fixture
def svg_backend():
    """A user's own backend choice (svg: non-interactive, needs no display), restored after."""
    previous = matplotlib.get_backend()
    matplotlib.use("svg")
    yield
    matplotlib.use(previous)


def test_plots_write_pngs_and_leave_the_backend_unchanged(tmp_path, svg_backend) -> None:
    rows = [
        {"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "val_accuracy": 0.5 + 0.1 * e}
        for e in (1, 2, 3)
    ]
    curves = plots.plot_curves(rows, tmp_path / "curves.png", title="t")
    cm = np.array([[3, 1], [0, 4]])
    confusion = plots.plot_confusion(cm, ["a", "b"], tmp_path / "confusion.png")
    y = np.array([0, 1] * 20)
    probs = np.linspace(0.05, 0.95, 40)
    roc = plots.plot_roc_and_calibration(y, probs, tmp_path / "roc.png")
    assert matplotlib.get_backend() == "svg"
    for path in (curves, confusion, roc):
        assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_pyplot_figure_is_left_open(tmp_path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.plot_confusion(np.eye(2, dtype=int), ["a", "b"], tmp_path / "c.png")
    assert plt.get_fignums() == before
