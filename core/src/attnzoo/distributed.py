"""Several processes training one run (``torchrun`` / ``accelerate launch``): who writes, and how
the others wait.

Rank 0 owns the run folder: it creates and locks it, fits the processor and writes every file
(``run.yaml``, ``processor.json``, ``state/``, ``model/``, ``metrics.jsonl``, TensorBoard,
``final.json``, plots) and fires the lifecycle hooks. Every other rank follows the folder
read-only: it waits until rank 0 has written what it needs and reads it from there. The torch
engine shards the batches and reduces the metrics (Accelerate); this module only answers
"which process am I" from the launcher's environment, without importing torch, and joins the
process group when there is more than one process.
"""

from __future__ import annotations

import os
from typing import Any


def world_size() -> int:
    """How many processes train this run (``WORLD_SIZE``, set by torchrun and accelerate)."""
    return _env_int("WORLD_SIZE", 1)


def rank() -> int:
    """This process's global rank (0 when not launched by a distributed launcher)."""
    return _env_int("RANK", 0)


def is_main() -> bool:
    """True in the one process that writes the run folder."""
    return rank() == 0


def barrier() -> None:
    """Wait until every process reaches this point (no-op for a single process)."""
    if world_size() > 1:
        _process_group().barrier()


def share_from_main(text: str) -> str:
    """Rank 0's ``text`` on every rank (UTF-8 bytes in a tensor: no pickle crosses processes)."""
    if world_size() == 1:
        return text
    import torch

    dist = _process_group()
    device = _device()
    data = text.encode("utf-8") if is_main() else b""
    size = torch.tensor([len(data)], dtype=torch.long, device=device)
    dist.broadcast(size, src=0)
    buf = torch.zeros(int(size.item()), dtype=torch.uint8, device=device)
    if is_main():
        buf.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    dist.broadcast(buf, src=0)
    return bytes(buf.cpu().tolist()).decode("utf-8")


def _process_group() -> Any:
    """``torch.distributed``, with the process group joined (through Accelerate, as the engine
    does: gloo on CPUs, NCCL on GPUs)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        from accelerate import PartialState

        PartialState(cpu=not _cuda())
    return dist


def _device() -> Any:
    from accelerate import PartialState

    return PartialState().device


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        return default
