"""The benchmark matrix: models x datasets x seeds, as cells with stable ids."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from attnzoo.bench.presets import CUSTOM, PRESETS, BenchPreset, Recipe
from attnzoo.errors import ConfigError


@dataclass(frozen=True)
class Cell:
    """One run of the matrix: a model variant on a dataset with a seed.

    ``sets`` are every ``--set`` item of the cell (preset, then user), in order; the id ends
    with a hash of them, so changing a setting makes a new cell instead of reusing an old one.
    """

    model: str
    dataset: str
    seed: int
    sets: tuple[str, ...] = ()

    @property
    def config_hash(self) -> str:
        blob = json.dumps(
            {"model": self.model, "dataset": self.dataset, "sets": list(self.sets)}, sort_keys=True
        )
        return hashlib.sha1(blob.encode()).hexdigest()[:8]

    @property
    def id(self) -> str:
        return f"{_slug(self.model)}__{_slug(self.dataset)}__s{self.seed}__{self.config_hash}"

    def run_config(self, runs_dir: str) -> dict[str, Any]:
        """The run config handed to ``attnzoo.train`` (``--set`` items routed like the CLI's)."""
        from attnzoo.overrides import apply_overrides

        config: dict[str, Any] = {"model": self.model, "dataset": self.dataset}
        apply_overrides(config, list(self.sets))
        config.setdefault("train", {}).update(seed=self.seed, progress=False)
        config["out_dir"] = runs_dir
        config["name"] = self.id
        return config


@dataclass
class Matrix:
    cells: list[Cell]
    preset: str
    models: list[str]
    datasets: list[str]
    seeds: int
    notes: list[str] = field(default_factory=list)  # variants skipped, and why
    tuned_trials: int = 0  # tuning trials each model had before its cells (bench --tuned)
    resources: dict[str, float] = field(default_factory=dict)  # per cell, from the preset


def _slug(text: str) -> str:
    """A file-name-safe form of a model or dataset name (a dataset may be a path)."""
    if "/" in text or "\\" in text:
        text = re.split(r"[/\\]", text.rstrip("/\\"))[-1].rsplit(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


def dataset_input_kind(dataset: str) -> str | None:
    """The input kind of a registered dataset; ``None`` for a file or hub dataset, which is
    read as whatever the model reads."""
    from attnzoo.errors import UnknownNameError
    from attnzoo.registry import get_dataset_spec

    try:
        return get_dataset_spec(dataset).input_kind
    except UnknownNameError:
        return None


def models_for(datasets: Sequence[str]) -> list[str]:
    """Every installed model that reads the input kind of one of ``datasets`` (``--models all``);
    text models for file datasets."""
    from attnzoo.registry import get_registry

    kinds = {dataset_input_kind(d) or "text" for d in datasets}
    return sorted(n for n, s in get_registry().tables["model"].items() if s.input_kind in kinds)


def pairs(model: str, dataset: str) -> bool:
    """Whether ``model`` can run on ``dataset``: same input kind (file datasets take any)."""
    from attnzoo.registry import get_model_spec

    kind = dataset_input_kind(dataset)
    return kind is None or kind == get_model_spec(model).input_kind


def get_preset(name: str | None) -> BenchPreset:
    if name is None:
        return CUSTOM
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown bench preset {name!r}; choose one of: {', '.join(PRESETS)}."
        ) from None


def recipes_for(name: str, preset: BenchPreset) -> tuple[Recipe, ...]:
    """The preset's recipes for ``name``: by base name (``atrt``) or exact variant (``atrt.base``)."""
    from attnzoo.registry import split_preset

    base, variant = split_preset(name)
    table = preset.models.get(base, ())
    if variant is None:
        return table or (Recipe(name, preset.generic),)
    exact = [r for r in table if r.model == name]
    return tuple(exact) or (Recipe(name, preset.generic),)


def _installed_variants(
    names: Sequence[str], preset: BenchPreset, notes: list[str]
) -> list[Recipe]:
    """The preset's recipes of ``names`` whose requirements are installed (the rest noted)."""
    variants: list[Recipe] = []
    for name in names:
        for recipe in recipes_for(name, preset):
            missing = [m for m in recipe.requires if importlib.util.find_spec(m) is None]
            if missing:
                notes.append(
                    f"skipped {recipe.model}: {recipe.note or 'missing ' + ', '.join(missing)}"
                )
                continue
            if recipe not in variants:
                variants.append(recipe)
    return variants


def build_matrix(
    preset_name: str | None = None,
    models: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    seeds: int | None = None,
    sets: Sequence[str] = (),
) -> Matrix:
    """Expand a preset and the user's choices into cells (model-major, then dataset, then seed).

    ``models`` may hold ``"all"``; names may carry model presets. Unknown names fail here,
    before anything runs.
    """
    from attnzoo.registry import get_model_spec

    preset = get_preset(preset_name)
    dataset_list = list(datasets) if datasets else list(preset.datasets)
    names = list(models) if models else ["all"]
    if "all" in names:
        expanded = models_for(dataset_list)
        names = [n for n in names if n != "all"]
        names = expanded + [n for n in names if n not in expanded]
    for n in names:
        get_model_spec(n)  # UnknownNameError lists what is installed
    if not names:
        raise ConfigError(
            f"No installed model reads the datasets {dataset_list}: install a model package (see `attnzoo models`)."
        )
    n_seeds = preset.seeds if seeds is None else seeds
    if n_seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {n_seeds}.")
    notes: list[str] = []
    variants = _installed_variants(names, preset, notes)
    for r in variants:
        for d in dataset_list:
            if not pairs(r.model, d):
                notes.append(
                    f"skipped {r.model} on {d}: it reads {get_model_spec(r.model).input_kind!r} inputs, "
                    f"{d} is {dataset_input_kind(d)!r} data"
                )
    cells = [
        Cell(r.model, d, s, (*preset.common, *r.sets, *sets))
        for r in variants
        for d in dataset_list
        if pairs(r.model, d)
        for s in range(n_seeds)
    ]
    return Matrix(
        cells,
        preset.name,
        [r.model for r in variants],
        dataset_list,
        n_seeds,
        notes,
        resources=dict(preset.resources),
    )
