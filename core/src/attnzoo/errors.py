"""Errors raised by attnzoo.

Every error says what was wrong, with which value, and what to do about it. The library
raises these; only the CLI turns them into click exceptions.
"""

from __future__ import annotations


class AttnzooError(Exception):
    """Base class of every attnzoo error."""


class PluginError(AttnzooError):
    """A plugin failed to load or registered something invalid."""


class DuplicateNameError(AttnzooError, ValueError):
    """Two plugins registered the same name."""


class UnknownNameError(AttnzooError, KeyError):
    """A model, dataset, trainer, metric or loss name that nothing registered."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class ConfigError(AttnzooError, ValueError):
    """A configuration value is missing, misspelt or out of range."""


class DataError(AttnzooError, ValueError):
    """Input data is malformed: names the file, row or column and how to fix it."""


class CheckpointError(AttnzooError, ValueError):
    """A model or run folder is missing, truncated, foreign or from an unknown plugin."""


class RunFolderError(AttnzooError, FileExistsError):
    """A run folder exists and neither --overwrite nor --resume was given."""


class MissingDependencyError(AttnzooError, ImportError):
    """An optional dependency (a framework, a plugin) is not installed."""


class RunInUseError(AttnzooError, OSError):
    """Another process holds the lock of a run folder (a second --resume of the same run)."""


class UnsafeStateError(CheckpointError):
    """Resume state holds a file attnzoo does not read safely (a pickle): refused, never loaded."""


class DiskFullError(AttnzooError, OSError):
    """A write failed because the disk is full; names the path. Earlier complete files are kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: resumable state was saved; the message says how to resume."""


class UnavailableNameError(PluginError, KeyError):
    """A name nothing registered while an installed plugin failed to load (it may provide it):
    the message says the plugin is installed but broken, not that something is missing."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class RunStopped(AttnzooError):
    """Raised by a lifecycle hook (``on_epoch_end``) to end a run early, e.g. a pruned tuning
    trial. It passes through the plugin host (other hook errors are only logged) and ends the
    run with status "failed" and this message."""
