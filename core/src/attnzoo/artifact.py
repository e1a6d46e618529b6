"""What a model folder holds besides the weights: one typed value instead of loose keywords.

A :class:`ModelArtifact` is the registered spec, the name it was asked for (a preset included),
the validated config, the processor that encodes raw inputs and the extra ``attnzoo.json``
fields (labels, dataset, max length). :func:`attnzoo.checkpoint.write_model_dir` writes it;
``api.create_model`` and ``api.load_model`` attach it to the model they return
(:func:`attach` / :func:`artifact_of`) so that ``api.save_model(model, dir)`` needs nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from attnzoo.errors import ConfigError
from attnzoo.specs import ModelSpec

#: the attribute a built model carries its artifact under
ATTRIBUTE = "_attnzoo_artifact"


@dataclass(frozen=True)
class ModelArtifact:
    """A model's description: spec, name, config, processor and extra ``attnzoo.json`` fields."""

    spec: ModelSpec
    name: str
    config: Any
    processor: Any = None
    #: JSON-able fields added to ``attnzoo.json`` (``labels``, ``dataset``, ``max_length`` ...)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def label_names(self) -> list[str]:
        return list(self.extra.get("labels") or [])

    def with_(self, **changes: Any) -> ModelArtifact:
        """A copy with fields replaced (``extra`` is merged, not replaced)."""
        if "extra" in changes:
            changes["extra"] = {**self.extra, **changes["extra"]}
        return replace(self, **changes)


def attach(model: Any, artifact: ModelArtifact) -> Any:
    """Record ``artifact`` on ``model`` (bypassing a framework's attribute tracking)."""
    try:
        object.__setattr__(model, ATTRIBUTE, artifact)
    except (AttributeError, TypeError):
        raise ConfigError(
            f"A {type(model).__name__} cannot carry attributes, so attnzoo cannot record which "
            "model and config it is; save it with attnzoo.checkpoint.write_model_dir(dir, "
            "artifact, model, backend) instead of attnzoo.save_model()."
        ) from None
    return model


def artifact_of(model: Any) -> ModelArtifact:
    """The artifact :func:`attach` recorded on ``model``; a clear error for a foreign model."""
    artifact = getattr(model, ATTRIBUTE, None)
    if not isinstance(artifact, ModelArtifact):
        raise ConfigError(
            "save_model() needs a model made by attnzoo.create_model() or attnzoo.load_model() "
            f"(this {type(model).__name__} was built some other way, so its config is unknown)."
        )
    return artifact
