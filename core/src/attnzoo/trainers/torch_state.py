"""The torch backend's resume state, without pickle: safetensors for tensors, JSON for the rest.

Accelerate's ``save_state``/``load_state`` pickle the optimizer, scheduler and RNG states
(``torch.save``; ``custom_checkpoint_0.pkl`` is loaded with ``weights_only=False``), so a shared
run folder could run code on ``--resume``. This module writes the same state as data:

- ``model.safetensors``: the model's weights;
- ``optimizer.safetensors`` + ``optimizer.json``: every tensor of ``optimizer.state_dict()``
  keyed ``<param index>.<name>``, the scalars and ``param_groups`` as JSON;
- ``rng.safetensors`` + ``rng.json``: torch CPU (and CUDA) generator states; Python's and
  numpy's global generators;
- the scheduler and grad scaler ``state_dict()`` go into ``trainer.json`` (plain numbers).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attnzoo.errors import CheckpointError

MODEL_FILE = "model.safetensors"
OPTIMIZER_TENSORS, OPTIMIZER_JSON = "optimizer.safetensors", "optimizer.json"
RNG_TENSORS, RNG_JSON = "rng.safetensors", "rng.json"


# -- optimizer ----------------------------------------------------------------------------
def save_optimizer(optimizer: Any, directory: Path) -> None:
    from safetensors.torch import save_file

    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, state in sd["state"].items():
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    save_file(tensors, str(directory / OPTIMIZER_TENSORS))
    _write_json(
        directory / OPTIMIZER_JSON,
        {"param_groups": sd["param_groups"], "scalars": scalars, "params": sorted(sd["state"])},
    )


def load_optimizer(optimizer: Any, directory: Path) -> None:
    from safetensors.torch import load_file

    tensors = _load_tensors(load_file, directory / OPTIMIZER_TENSORS)
    meta = _read_json(directory / OPTIMIZER_JSON)
    state: dict[int, dict[str, Any]] = {int(pid): {} for pid in meta["params"]}
    for key, value in tensors.items():
        pid, _, name = key.partition(".")
        state.setdefault(int(pid), {})[name] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    groups = meta["param_groups"]
    for group in groups:  # JSON made the tuples lists
        for key, value in group.items():
            if key != "params" and isinstance(value, list):
                group[key] = tuple(value)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(
            f"{directory / OPTIMIZER_JSON} does not fit this model's optimizer ({exc}); it was "
            "written for another model. Start without --resume (--overwrite)."
        ) from None


# -- RNG ----------------------------------------------------------------------------------
def save_rng(directory: Path) -> None:
    from safetensors.torch import save_file

    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = s
    save_file(tensors, str(directory / RNG_TENSORS))
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    _write_json(
        directory / RNG_JSON,
        {
            "python": {"version": version, "state": list(internal), "gauss_next": gauss},
            "numpy": {
                "kind": kind,
                "keys": [int(k) for k in keys],
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            },
        },
    )


def load_rng(directory: Path) -> None:
    from safetensors.torch import load_file

    tensors = _load_tensors(load_file, directory / RNG_TENSORS)
    meta = _read_json(directory / RNG_JSON)
    py = meta["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss_next"]))
    n = meta["numpy"]
    np.random.set_state(
        (
            n["kind"],
            np.asarray(n["keys"], dtype=np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


# -- model --------------------------------------------------------------------------------
def save_model_state(model: torch.nn.Module, directory: Path) -> None:
    from safetensors.torch import save_model

    save_model(getattr(model, "module", model), str(directory / MODEL_FILE))


def load_model_state(model: torch.nn.Module, directory: Path) -> None:
    from safetensors.torch import load_model

    path = directory / MODEL_FILE
    try:
        missing, unexpected = load_model(getattr(model, "module", model), str(path), strict=False)
    except Exception as exc:  # safetensors parses the header itself; a bad file is data
        raise CheckpointError(
            f"Cannot read {path}: {exc}. It is damaged or not a safetensors file."
        ) from None
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match the model (missing {sorted(missing)[:5]}, unexpected "
            f"{sorted(unexpected)[:5]}): it was written for another model. Start without --resume."
        )


# -- helpers ------------------------------------------------------------------------------
def _load_tensors(load_file: Any, path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise CheckpointError(f"{path} is missing: the resume state is incomplete.")
    try:
        tensors: dict[str, torch.Tensor] = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(
            f"Cannot read {path}: {exc}. It is damaged or not a safetensors file."
        ) from None
    return tensors


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: the resume state is incomplete.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"{path} is not valid JSON ({exc}): the resume state is damaged."
        ) from None


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj), encoding="utf-8")
