"""``--set key=value`` overrides: dotted paths into the run config, values parsed as YAML."""

from __future__ import annotations

from typing import Any

from attnzoo.errors import ConfigError

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
    import difflib

    close = difflib.get_close_matches(head, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"--set {key}: unknown setting {head!r}.{hint} Use train.<key>, data.<key>, model.<key> or dataset.<key>."
    )


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
        node = config
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is not a section.")
        node[path[-1]] = parse_value(raw)
    return config
