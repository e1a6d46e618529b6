from __future__ import annotations

import pytest

from attnzoo.tensorboard import ScalarWriter


def test_scalar_events_are_readable_by_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    w = ScalarWriter(tmp_path)
    w.add_scalars({"val_accuracy": 0.5, "best": True, "name": "x"}, step=1)
    w.add_scalar("val_accuracy", 0.75, step=2)
    w.close()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert acc.Tags()["scalars"] == ["val_accuracy"]
    assert [(e.step, e.value) for e in acc.Scalars("val_accuracy")] == [(1, 0.5), (2, 0.75)]
