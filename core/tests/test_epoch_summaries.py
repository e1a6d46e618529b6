"""A model's ``epoch_summaries``: per-example validation outputs summarised in the metrics row."""

from __future__ import annotations

import numpy as np

from attnzoo.trainers.loop import summarise


def test_summarise_gives_mean_std_min_max_per_output() -> None:
    out = summarise({"gate": np.array([0.2, 0.4, 0.9])})
    assert set(out) == {"gate_mean", "gate_std", "gate_min", "gate_max"}
    assert np.isclose(out["gate_mean"], 0.5) and np.isclose(
        out["gate_std"], np.std([0.2, 0.4, 0.9])
    )
    assert out["gate_min"] == 0.2 and out["gate_max"] == 0.9


def test_no_summaries_add_nothing() -> None:
    assert summarise(None) == {} and summarise({"gate": np.array([])}) == {}
