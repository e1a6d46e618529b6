"""Lazy specifications of what plugins register.

A spec names its code as ``"module:attribute"`` import strings, so building the registry
never imports a framework. Nothing here imports more than the standard library.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from attnzoo.errors import MissingDependencyError, PluginError

TASKS = ("text-classification", "sequence-classification", "ctr", "image-classification")


def import_string(path: str, *, what: str = "object") -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(
            f"Invalid import string {path!r} for {what}: expected 'module:attribute'."
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        raise MissingDependencyError(
            f"Cannot import {module_name!r} for {what}: module {missing!r} is not installed. "
            f"Install the package that provides it (for torch models: pip install 'attnzoo-core[torch]')."
        ) from exc
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise PluginError(
                f"{module_name!r} has no attribute {attr!r} (needed for {what})."
            ) from exc
    return obj


@dataclass(frozen=True)
class Preset:
    """A named variant: model-config overrides and, optionally, a training recipe."""

    model: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture.

    Args:
        name: registry name, e.g. ``"diffusion"``; presets are addressed as ``"diffusion.agnews"``.
        config: import string of the pydantic config class.
        factory: import string of the model class (called with the config instance).
        framework: ``"torch"`` or ``"tensorflow"``: picks the trainer backend.
        task: one of :data:`TASKS`.
        input_kind: the registered input kind whose processor feeds it (``text``, ``tabular``, ``image``).
        description: one line for ``attnzoo models``.
        presets: named variants (a :class:`Preset` or a plain mapping of model overrides).
        train_defaults: the training recipe this model is meant to use (lr, epochs, ...),
            applied below the user's own settings.
        paper: citation or link.
        plugin: filled in by the registry with the distribution that registered it.
        search_space: what ``attnzoo tune`` searches for this model (empty: lr and weight decay).
    """

    name: str
    config: str
    factory: str
    framework: str = "torch"
    task: str = "text-classification"
    input_kind: str = "text"
    description: str = ""
    presets: Mapping[str, Preset | Mapping[str, Any]] = field(default_factory=dict)
    train_defaults: Mapping[str, Any] = field(default_factory=dict)
    paper: str = ""
    plugin: str = ""
    #: ``attnzoo tune``'s space: ``{"train.lr": {"type": "float", "low": 1e-4, "high": 1e-2,
    #: "log": True}, "model.dropout": {...}}`` (see :class:`attnzoo.tune.Dim`); empty = default
    search_space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def preset(self, name: str) -> Preset:
        value = self.presets[name]
        return value if isinstance(value, Preset) else Preset(model=dict(value))

    def load_config_class(self) -> Any:
        return import_string(self.config, what=f"config of model {self.name!r}")

    def load_factory(self) -> Any:
        return import_string(self.factory, what=f"model {self.name!r}")


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset recipe; ``factory(**args)`` returns a :class:`attnzoo.data.Dataset`."""

    name: str
    factory: str
    task: str = "text-classification"
    input_kind: str = "text"
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    plugin: str = ""

    def load_factory(self) -> Any:
        return import_string(self.factory, what=f"dataset {self.name!r}")


@dataclass(frozen=True)
class TrainerSpec:
    """A training backend for one framework; ``factory()`` returns a :class:`attnzoo.backend.Backend`."""

    name: str  # the framework: "torch", "tensorflow"
    factory: str
    description: str = ""
    plugin: str = ""

    def load_factory(self) -> Any:
        return import_string(self.factory, what=f"trainer {self.name!r}")


@dataclass(frozen=True)
class MetricSpec:
    """A metric ``fn(y_true, probs) -> float`` on numpy arrays (probabilities, shape (N, C))."""

    name: str
    factory: str
    higher_is_better: bool = True
    #: called as ``fn(y_true, probs, groups)`` with a group id per row (gAUC)
    grouped: bool = False
    description: str = ""
    plugin: str = ""

    def load_factory(self) -> Any:
        return import_string(self.factory, what=f"metric {self.name!r}")


@dataclass(frozen=True)
class InputKindSpec:
    """An input kind; ``factory`` names its :class:`attnzoo.data.processors.Processor` subclass."""

    name: str  # "text", "tabular", "image"
    factory: str
    description: str = ""
    plugin: str = ""

    def load_factory(self) -> Any:
        return import_string(self.factory, what=f"input kind {self.name!r}")


Spec = ModelSpec | DatasetSpec | TrainerSpec | MetricSpec | InputKindSpec
