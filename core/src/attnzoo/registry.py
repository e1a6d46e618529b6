"""The registry: every model, dataset, trainer and metric that the loaded plugins registered.

Built once, lazily, by calling each plugin's ``register_*`` hooks one plugin at a time, so a
plugin whose hook raises is recorded as failed and the others still register.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import replace
from typing import Any

from attnzoo.errors import (
    DuplicateNameError,
    PluginError,
    UnavailableNameError,
    UnknownNameError,
)
from attnzoo.plugins import PluginInfo, get_host, strict_mode
from attnzoo.specs import (
    TASKS,
    DatasetSpec,
    InputKindSpec,
    MetricSpec,
    ModelSpec,
    Spec,
    TrainerSpec,
)
from attnzoo.suggest import did_you_mean

logger = logging.getLogger(__name__)

_KINDS = {
    ModelSpec: "model",
    DatasetSpec: "dataset",
    TrainerSpec: "trainer",
    MetricSpec: "metric",
    InputKindSpec: "input_kind",
}
_HOOKS = {
    "register_models",
    "register_datasets",
    "register_trainers",
    "register_metrics",
    "register_input_kinds",
}


class Registrar:
    """Handed to ``register_*`` hooks; ``add`` attributes each spec to the calling plugin."""

    def __init__(self, registry: Registry, plugin: PluginInfo) -> None:
        self._registry = registry
        self._plugin = plugin

    def add(self, spec: Spec) -> None:
        kind = _KINDS.get(type(spec))
        if kind is None:
            raise PluginError(
                f"registry.add() takes a ModelSpec, DatasetSpec, TrainerSpec, MetricSpec or InputKindSpec, got {type(spec).__name__}."
            )
        if isinstance(spec, ModelSpec | DatasetSpec) and spec.task not in TASKS:
            raise PluginError(
                f"{kind} {spec.name!r} declares unknown task {spec.task!r}; tasks: {', '.join(TASKS)}."
            )
        spec = replace(spec, plugin=self._plugin.distribution or self._plugin.name)
        self._registry.add(kind, spec, self._plugin)


class Registry:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {k: {} for k in _KINDS.values()}
        # (kind, name) -> the plugins that each registered it: a clash, usable by neither
        self.clashes: dict[tuple[str, str], list[str]] = {}
        host = get_host()
        for hook_name in sorted(_HOOKS):
            for impl in getattr(host.pm.hook, hook_name).get_hookimpls():
                info = host.plugins.get(impl.plugin_name)
                if info is None or not info.ok:
                    continue
                try:
                    impl.function(registry=Registrar(self, info))
                except Exception as exc:
                    if isinstance(exc, DuplicateNameError) and strict_mode():
                        raise
                    host.fail(info, f"{hook_name} raised {type(exc).__name__}: {exc}", exc)
        self._check_references()

    def _check_references(self) -> None:
        """Drop (and report against its plugin) a model or dataset whose framework or input kind
        no loaded plugin provides: it could never be built, and saying so now is clearer."""
        host = get_host()
        for kind in ("model", "dataset"):
            for name, spec in list(self.tables[kind].items()):
                problems = []
                if spec.input_kind not in self.tables["input_kind"]:
                    problems.append(f"input kind {spec.input_kind!r}")
                if kind == "model" and spec.framework not in self.tables["trainer"]:
                    problems.append(f"framework {spec.framework!r}")
                if not problems:
                    continue
                del self.tables[kind][name]
                known = {
                    "input kinds": sorted(self.tables["input_kind"]),
                    "frameworks": sorted(self.tables["trainer"]),
                }
                msg = (
                    f"{kind} {name!r} needs unknown {' and '.join(problems)} "
                    f"(installed: {'; '.join(f'{k} {v}' for k, v in known.items())})."
                )
                info = next(
                    (i for i in host.plugins.values() if spec.plugin in (i.distribution, i.name)),
                    None,
                )
                if strict_mode():
                    raise PluginError(msg)
                if info is not None:
                    host.fail(info, msg, None)

    def add(self, kind: str, spec: Spec, plugin: PluginInfo) -> None:
        """Add a spec; a name two plugins register is a clash: it is withdrawn from both and
        recorded against both (``attnzoo plugins`` shows it), and their other names stay."""
        table = self.tables[kind]
        clash = self.clashes.get((kind, spec.name))
        existing = table.get(spec.name)
        if existing is None and clash is None:
            table[spec.name] = spec
            return
        owners = clash if clash is not None else [existing.plugin]  # type: ignore[union-attr]
        if spec.plugin in owners:  # the same plugin twice: its own bug, not a clash
            raise PluginError(f"{kind} {spec.name!r} is registered twice by {spec.plugin!r}.")
        owners.append(spec.plugin)
        message = clash_message(kind, spec.name, owners)
        if strict_mode():
            raise DuplicateNameError(message)
        table.pop(spec.name, None)
        self.clashes[(kind, spec.name)] = owners
        host = get_host()
        for info in host.plugins.values():
            if info.distribution in owners or info.name in owners:
                info.conflicts = [c for c in info.conflicts if f"{kind} {spec.name!r} " not in c]
                info.conflicts.append(message)
        logger.warning("%s", message)

    def get(self, kind: str, name: str) -> Any:
        table = self.tables[kind]
        if name in table:
            return table[name]
        if (kind, name) in self.clashes:
            raise DuplicateNameError(clash_message(kind, name, self.clashes[(kind, name)]))
        message = unknown_message(kind, name, sorted(table))
        if get_host().failed():  # not "not installed": an installed plugin is broken
            raise UnavailableNameError(message)
        raise UnknownNameError(message)


def clash_message(kind: str, name: str, owners: list[str]) -> str:
    both = " and ".join(repr(o) for o in owners)
    return (
        f"Plugin clash: {kind} {name!r} is registered by {both}, so attnzoo uses neither for "
        f"that name (their other {kind}s stay available). Uninstall one, or disable one with "
        f"ATTNZOO_DISABLE_PLUGINS=<entry point name> (see `attnzoo plugins`)."
    )


def unknown_message(kind: str, name: str, known: list[str]) -> str:
    lines = [f"Unknown {kind} {name!r}.{did_you_mean(name, known)}"]
    lines.append(f"Installed {kind}s: " + (", ".join(known) if known else "none") + ".")
    failed = get_host().failed()
    if failed:
        lines.append(
            f"Installed but failed to load, so their {kind}s are unavailable (fix the error; "
            "`attnzoo plugins` shows it): "
            + "; ".join(f"{p.name} from {p.distribution or '?'} ({p.error})" for p in failed)
        )
    else:
        lines.append(
            f"Run `attnzoo {kind}s` to list them; a missing one may need its package installed."
        )
    return "\n".join(lines)


_registry: Registry | None = None


def get_registry() -> Registry:
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


def reset() -> None:
    global _registry
    _registry = None


# ---------------------------------------------------------------------------------------
# timm-shaped module-level API
# ---------------------------------------------------------------------------------------


def split_preset(name: str) -> tuple[str, str | None]:
    """``"diffusion.agnews"`` -> ``("diffusion", "agnews")``; a name without a dot has no preset."""
    base, dot, preset = name.partition(".")
    return base, (preset if dot else None)


def get_model_spec(name: str) -> ModelSpec:
    base, preset = split_preset(name)
    spec: ModelSpec = get_registry().get("model", base)
    if preset is not None and preset not in spec.presets:
        known = sorted(spec.presets)
        hint = did_you_mean(preset, known, prefix=base + ".")
        raise UnknownNameError(
            f"Model {base!r} has no preset {preset!r}.{hint} Presets: "
            + (", ".join(f"{base}.{p}" for p in known) if known else "none")
        )
    return spec


def list_models(
    pattern: str = "*", framework: str | None = None, task: str | None = None, presets: bool = False
) -> list[str]:
    """Names of the registered models matching a glob ``pattern``; ``presets=True`` adds ``name.preset`` entries."""
    out: list[str] = []
    for name, spec in sorted(get_registry().tables["model"].items()):
        if framework and spec.framework != framework:
            continue
        if task and spec.task != task:
            continue
        candidates = [name] + ([f"{name}.{p}" for p in sorted(spec.presets)] if presets else [])
        out.extend(c for c in candidates if fnmatch.fnmatch(c, pattern))
    return out


def model_info(name: str) -> dict[str, Any]:
    """Everything the registry knows about a model, without importing it."""
    spec = get_model_spec(name)
    base, preset = split_preset(name)
    info: dict[str, Any] = {
        "name": base,
        "framework": spec.framework,
        "task": spec.task,
        "input_kind": spec.input_kind,
        "description": spec.description,
        "plugin": spec.plugin,
        "config": spec.config,
        "factory": spec.factory,
        "paper": spec.paper,
        "presets": {
            k: {
                "model": dict(spec.preset(k).model),
                "train": dict(spec.preset(k).train),
                "description": spec.preset(k).description,
            }
            for k in sorted(spec.presets)
        },
        "train_defaults": dict(spec.train_defaults),
    }
    if preset:
        info["preset"] = preset
    return info


def list_datasets(pattern: str = "*", task: str | None = None) -> list[str]:
    return [
        n
        for n, s in sorted(get_registry().tables["dataset"].items())
        if fnmatch.fnmatch(n, pattern) and (task is None or s.task == task)
    ]


def get_dataset_spec(name: str) -> DatasetSpec:
    spec: DatasetSpec = get_registry().get("dataset", name)
    return spec


def get_trainer_spec(framework: str) -> TrainerSpec:
    spec: TrainerSpec = get_registry().get("trainer", framework)
    return spec


def get_metric_spec(name: str) -> MetricSpec:
    spec: MetricSpec = get_registry().get("metric", name)
    return spec


def get_input_kind_spec(name: str) -> InputKindSpec:
    spec: InputKindSpec = get_registry().get("input_kind", name)
    return spec


def list_input_kinds() -> list[str]:
    return sorted(get_registry().tables["input_kind"])


def list_metrics() -> list[str]:
    return sorted(get_registry().tables["metric"])


def list_plugins() -> list[dict[str, Any]]:
    """Every plugin that was found, with its hooks and the error of those that failed."""
    get_registry()  # registration errors are recorded against their plugin
    rows = []
    for info in get_host().plugins.values():
        row = info.as_dict()
        row["models"] = sorted(
            n
            for n, s in get_registry().tables["model"].items()
            if s.plugin in (info.distribution, info.name)
        )
        row["datasets"] = sorted(
            n
            for n, s in get_registry().tables["dataset"].items()
            if s.plugin in (info.distribution, info.name)
        )
        rows.append(row)
    return rows


def list_clashes() -> list[str]:
    """One message per name that two plugins registered (neither is used)."""
    reg = get_registry()
    return [
        clash_message(kind, name, owners) for (kind, name), owners in sorted(reg.clashes.items())
    ]
