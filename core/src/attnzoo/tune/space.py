"""Search spaces: one :class:`Dim` per ``--set`` key, declared by the model's plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from attnzoo.errors import ConfigError


class Dim(BaseModel):
    """One searched setting: a float/int range (optionally log-scaled) or a list of choices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = Field(None, description="For 'categorical'.")

    @model_validator(mode="after")
    def _check(self) -> Dim:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical dimension needs a non-empty 'choices' list")
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(
                f"a {self.type} dimension needs low < high (got {self.low}, {self.high})"
            )
        elif self.log and self.low <= 0:
            raise ValueError("a log-scaled dimension needs low > 0")
        return self

    def contains(self, value: Any) -> bool:
        if self.type == "categorical":
            return value in (self.choices or ())
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return bool(self.low <= value <= self.high)  # type: ignore[operator]

    def suggest(self, trial: Any, key: str) -> Any:
        if self.type == "categorical":
            return trial.suggest_categorical(key, list(self.choices or ()))
        if self.type == "int":
            step = int(self.step or 1)
            return trial.suggest_int(key, int(self.low), int(self.high), step=step, log=self.log)  # type: ignore[arg-type]
        return trial.suggest_float(key, self.low, self.high, step=self.step, log=self.log)  # type: ignore[arg-type]


def parse_space(raw: Mapping[str, Any], *, where: str) -> dict[str, Dim]:
    """``{"train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}, ...}`` -> Dims."""
    from pydantic import ValidationError

    space: dict[str, Dim] = {}
    for key, dim in raw.items():
        try:
            space[key] = dim if isinstance(dim, Dim) else Dim.model_validate(dim)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"Search space of {where}, {key!r}: {first['msg']}.") from exc
    return space


def standard_space(lr: float, *, dropout: float | None = 0.4) -> dict[str, dict[str, Any]]:
    """What most plugins declare: lr x0.2..x5 around the default (log), weight decay 1e-4..0.1
    (log) and, unless ``dropout=None``, ``model.dropout`` in [0, dropout]. Plain dicts, so a
    plugin can extend them next to its presets."""
    space: dict[str, dict[str, Any]] = {
        "train.lr": {"type": "float", "low": lr / 5, "high": lr * 5, "log": True},
        "train.weight_decay": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
    }
    if dropout is not None:
        space["model.dropout"] = {"type": "float", "low": 0.0, "high": dropout}
    return space


def default_space(lr: float) -> dict[str, Dim]:
    """For a model that declares none: the learning rate around its default and weight decay."""
    return {
        "train.lr": Dim(type="float", low=lr / 10, high=lr * 10, log=True),
        "train.weight_decay": Dim(type="float", low=1e-4, high=0.1, log=True),
    }


def search_space_for(model: str, lr: float) -> tuple[dict[str, Dim], str]:
    """The model's declared space (``ModelSpec.search_space``) or :func:`default_space`.

    Returns the space and where it came from (for the report).
    """
    from attnzoo.registry import get_model_spec

    spec = get_model_spec(model)
    if spec.search_space:
        space = parse_space(spec.search_space, where=f"model {spec.name!r}")
        source = f"declared by {spec.plugin or spec.name}"
        return recentre_lr(space, lr, source)
    return default_space(lr), "attnzoo's default (lr x0.1..x10, weight decay 1e-4..0.1)"


def recentre_lr(space: dict[str, Dim], lr: float, source: str) -> tuple[dict[str, Dim], str]:
    """A declared ``train.lr`` range that does not contain the run's own lr (set by a preset or
    ``--set``, e.g. a bench recipe) is moved, with its width, to centre on that lr: a search
    that cannot reach the recipe it is meant to improve would make "tuned" mean "worse"."""
    dim = space.get("train.lr")
    if dim is None or dim.type != "float" or dim.low is None or dim.high is None:
        return space, source
    if dim.low <= lr <= dim.high:
        return space, source
    half = (dim.high / dim.low) ** 0.5  # the geometric half-width
    moved = dim.model_copy(update={"low": lr / half, "high": lr * half})
    note = f"; train.lr range moved to centre on the run's lr {lr:g} (x{half:.3g} either side)"
    return {**space, "train.lr": moved}, source + note
