"""``--set key=value`` overrides: dotted paths into the run config, values parsed as YAML."""

from __future__ import annotations

from typing import Any

from attnzoo.errors import ConfigError
from attnzoo.suggest import did_you_mean

_ALIASES = {"model": "model_args", "dataset": "dataset_args"}


def _route(key: str) -> list[str]:
    """Where a key goes: ``train.lr``, ``model.d_model`` (-> model_args), or a bare train/data field."""
    from attnzoo.config import DataConfig, RunConfig, TrainConfig

    parts = key.split(".")
    head = parts[0]
    if len(parts) > 1 and head in _ALIASES:
        return [_ALIASES[head], *parts[1:]]
    if head in RunConfig.model_fields:
        return parts
    if len(parts) == 1:
        if head in TrainConfig.model_fields:
            return ["train", head]
        if head in DataConfig.model_fields:
            return ["data", head]
    known = sorted(
        [
            *RunConfig.model_fields,
            *TrainConfig.model_fields,
            *DataConfig.model_fields,
            "model.<key>",
            "dataset.<key>",
        ]
    )
    hint = did_you_mean(head, known)
    raise ConfigError(
        f"--set {key}: unknown setting {head!r}.{hint} Use train.<key>, data.<key>, model.<key> or dataset.<key>."
    )


def check_path(key: str, path: list[str], model: str | None = None) -> None:
    """Every level of a routed key must exist: ``train.epoch`` -> "did you mean 'epochs'?"."""
    from attnzoo.config import RunConfig, section_fields

    fields = section_fields(RunConfig, [])
    for depth, part in enumerate(path):
        if depth == 1 and path[0] == "model_args" and model:
            fields = _model_fields(model)
        if not fields:  # a free-form mapping (dataset_args, loss.weights) or an unknown model
            return
        if part not in fields:
            section = ".".join(path[:depth]) or "the run config"
            hint = did_you_mean(part, sorted(fields))
            raise ConfigError(
                f"--set {key}: {section} has no setting {part!r}.{hint} "
                f"Settings of {section}: {', '.join(sorted(fields))}."
            )
        fields = section_fields(RunConfig, path[: depth + 1]) if path[0] != "model_args" else {}


def _model_fields(model: str) -> dict[str, Any]:
    """The model config's fields, when the model is registered (else no check: the run's own
    validation reports the unknown model)."""
    from attnzoo.errors import AttnzooError
    from attnzoo.registry import get_model_spec

    try:
        return dict(get_model_spec(model).load_config_class().model_fields)
    except (AttnzooError, ImportError):
        return {}


def parse_value(raw: str) -> Any:
    import yaml

    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
        try:
            return float(value)
        except ValueError:
            pass
    return value


def apply_overrides(config: dict[str, Any], items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r} (e.g. --set train.epochs=3).")
        path = _route(key.strip())
        model = config.get("model")
        check_path(key.strip(), path, model if isinstance(model, str) else None)
        node = config
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is not a section.")
        node[path[-1]] = parse_value(raw)
    return config
