"""Plugin discovery: entry points in the ``attnzoo.plugins`` group, loaded lazily and once.

Each entry point loads inside its own try/except, so one broken plugin is recorded (and shown
by ``attnzoo plugins``) without taking anything else down. Environment variables:

- ``ATTNZOO_LOAD_PLUGINS``: comma-separated allow-list of entry-point names (empty: none).
- ``ATTNZOO_DISABLE_PLUGINS``: comma-separated names to skip.
- ``ATTNZOO_STRICT_PLUGINS=1``: raise on the first broken plugin (tests set it).
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from attnzoo import hookspecs
from attnzoo.errors import PluginError, RunStopped

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "attnzoo.plugins"
BUILTIN_PLUGINS = ("attnzoo._builtin",)


@dataclass
class PluginInfo:
    """What is known about one plugin: where it came from and whether it loaded."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    builtin: bool = False
    #: names this plugin registered that another plugin registered too (see registry)
    conflicts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "error": self.error,
            "conflicts": list(self.conflicts),
        }


def strict_mode() -> bool:
    return os.environ.get("ATTNZOO_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes"}


def _names_from_env(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


class PluginHost:
    """Owns the pluggy manager and the record of every plugin it tried to load."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("attnzoo")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module_name in BUILTIN_PLUGINS:
            module = __import__(module_name, fromlist=["_"])
            self._add(
                module,
                PluginInfo(
                    "attnzoo-core",
                    module_name,
                    "attnzoo-core",
                    _version("attnzoo-core"),
                    builtin=True,
                ),
            )
        allow = _names_from_env("ATTNZOO_LOAD_PLUGINS")
        deny = _names_from_env("ATTNZOO_DISABLE_PLUGINS") or set()
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if (allow is not None and ep.name not in allow) or ep.name in deny:
                continue
            dist = ep.dist.name if ep.dist is not None else ""
            info = PluginInfo(
                ep.name, ep.value, dist, ep.dist.version if ep.dist is not None else ""
            )
            if ep.name in self.plugins:
                other = self.plugins[ep.name].distribution
                info.name = f"{ep.name} [{dist}]"
                self.fail(info, f"entry point name {ep.name!r} is already used by {other!r}")
                continue
            try:
                module = ep.load()
            except Exception as exc:
                self.fail(info, f"{type(exc).__name__}: {exc}", exc)
                continue
            self._add(module, info)

    def register(
        self, plugin: ModuleType | object, name: str, distribution: str = ""
    ) -> PluginInfo:
        """Register a plugin object by hand (tests, notebooks). The registry is rebuilt."""
        info = PluginInfo(
            name, getattr(plugin, "__name__", type(plugin).__name__), distribution or name
        )
        self._add(plugin, info)
        return info

    def unregister(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.plugins.pop(name, None)

    def _add(self, plugin: Any, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
            self.pm.check_pending()
        except Exception as exc:
            if self.pm.get_plugin(info.name) is not None:
                self.pm.unregister(name=info.name)
            self.fail(info, f"{type(exc).__name__}: {exc}", exc)
            return
        info.hooks = sorted(
            impl_caller.name for impl_caller in self.pm.get_hookcallers(plugin) or []
        )
        self.plugins[info.name] = info

    def fail(self, info: PluginInfo, message: str, exc: BaseException | None = None) -> None:
        """Record a broken plugin; re-raise in strict mode."""
        info.error = message
        self.plugins[info.name] = info
        logger.info("attnzoo plugin %r failed to load: %s", info.name, message)
        if strict_mode():
            raise PluginError(f"Plugin {info.name!r} ({info.module}) failed: {message}") from exc

    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if not p.ok]


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return ""


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host, built and loaded on first use."""
    global _host
    if _host is None:
        _host = PluginHost()
        _host.load()
    return _host


def reset() -> None:
    """Forget every loaded plugin and registration (tests; after changing the env vars)."""
    global _host
    _host = None
    from attnzoo import registry

    registry.reset()


def call_lifecycle(hook_name: str, **kwargs: Any) -> None:
    """Call a lifecycle hook on every plugin; a failing hook is logged, not fatal (unless strict).

    In a multi-process run only rank 0 fires the hooks (one run, one set of events)."""
    from attnzoo import distributed

    if not distributed.is_main():
        return
    host = get_host()
    caller = getattr(host.pm.hook, hook_name)
    for impl in caller.get_hookimpls():
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except RunStopped:  # a hook's request to end the run (a pruned tuning trial)
            raise
        except Exception as exc:
            logger.warning(
                "hook %s of plugin %r raised %s: %s",
                hook_name,
                impl.plugin_name,
                type(exc).__name__,
                exc,
            )
            if strict_mode():
                raise PluginError(
                    f"{hook_name} of plugin {impl.plugin_name!r} raised: {exc}"
                ) from exc
