"""A minimal TensorBoard scalar writer shared by every backend.

It writes the standard event-file format with the protobufs that ship in the ``tensorboard``
package and never touches ``tensorboard.compat.tf``: torch's SummaryWriter resolves that lazy
module once per process (to all of TensorFlow when it is installed, seconds of import, or to a
stub that then breaks TensorFlow's own ``tf.summary`` in the same process).
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path
from typing import Any


class ScalarWriter:
    """``add_scalar(tag, value, step)`` into ``<logdir>/events.out.tfevents.*``; a no-op without tensorboard."""

    def __init__(self, logdir: str | Path) -> None:
        self._fh: Any = None
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
        except ImportError:  # tensorboard is optional
            return
        self._event_pb2, self._summary_pb2, self._crc = event_pb2, summary_pb2, masked_crc32c
        Path(logdir).mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.attnzoo"
        self._fh = open(Path(logdir) / name, "ab")  # noqa: SIM115 (closed in close())
        self._write(self._event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    @property
    def enabled(self) -> bool:
        return self._fh is not None

    def _write(self, event: Any) -> None:
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        self._fh.write(
            header
            + struct.pack("<I", self._crc(header))
            + data
            + struct.pack("<I", self._crc(data))
        )

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        if self._fh is None:
            return
        summary = self._summary_pb2.Summary(
            value=[self._summary_pb2.Summary.Value(tag=tag, simple_value=float(value))]
        )
        self._write(self._event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))
        self._fh.flush()

    def add_scalars(self, values: dict[str, Any], step: int) -> None:
        for tag, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.add_scalar(tag, value, step)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
