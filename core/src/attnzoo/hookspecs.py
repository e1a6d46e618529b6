"""The attnzoo plugin contract: every hook a plugin may implement.

A plugin is a module (named by an entry point in the ``attnzoo.plugins`` group) whose
functions are marked with :data:`attnzoo.hookimpl` and named after the specs below. All
arguments are passed as keywords; an implementation may accept fewer arguments than its
spec, so new arguments can be added later without breaking existing plugins.

Registration hooks receive a ``registry`` and call ``registry.add(spec)``; they return
nothing. Names are lazy import strings, so registering never imports torch or TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from attnzoo.registry import Registrar
    from attnzoo.runs import Run

hookspec = pluggy.HookspecMarker("attnzoo")
hookimpl = pluggy.HookimplMarker("attnzoo")

# ---------------------------------------------------------------------------------------
# Registration (called once, the first time the registry is used)
# ---------------------------------------------------------------------------------------


@hookspec
def register_models(registry: Registrar) -> None:
    """Register model architectures with ``registry.add(ModelSpec(...))``.

    :param registry: collects specs and attributes them to the calling plugin.
    """


@hookspec
def register_datasets(registry: Registrar) -> None:
    """Register dataset recipes with ``registry.add(DatasetSpec(...))``.

    :param registry: collects specs and attributes them to the calling plugin.
    """


@hookspec
def register_trainers(registry: Registrar) -> None:
    """Register a training backend for one framework with ``registry.add(TrainerSpec(...))``.

    Core registers ``torch``; attnzoo-tensorflow registers ``tensorflow``.

    :param registry: collects specs and attributes them to the calling plugin.
    """


@hookspec
def register_input_kinds(registry: Registrar) -> None:
    """Register an input kind with ``registry.add(InputKindSpec(name, "pkg.module:MyProcessor"))``.

    Core registers ``text``, ``tabular`` and ``image``. A processor subclasses
    :class:`attnzoo.data.processors.Processor`; models and datasets name their kind.

    :param registry: collects specs and attributes them to the calling plugin.
    """


@hookspec
def register_metrics(registry: Registrar) -> None:
    """Register evaluation metrics with ``registry.add(MetricSpec(...))``.

    :param registry: collects specs and attributes them to the calling plugin.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``attnzoo`` command line.

    Called when the CLI starts. Keep imports inside the command bodies so ``--help``
    stays fast.

    :param cli: the top-level click group; use ``@cli.command()``.
    """


# ---------------------------------------------------------------------------------------
# Lifecycle (called by every trainer, whatever the framework)
# ---------------------------------------------------------------------------------------


@hookspec
def on_run_start(run: Run) -> None:
    """Called when a training run starts (or resumes), after the run folder is ready.

    :param run: the run: its folder, resolved config and metadata.
    """


@hookspec
def on_epoch_end(run: Run, epoch: int, metrics: dict[str, Any]) -> None:
    """Called after each epoch's validation, with the line just written to metrics.jsonl.

    :param run: the run.
    :param epoch: the epoch that ended, counted from 1.
    :param metrics: training loss, validation metrics, learning rate, throughput.
    """


@hookspec
def on_checkpoint_saved(run: Run, path: str) -> None:
    """Called after a checkpoint (best model or resume state) was written atomically.

    :param run: the run.
    :param path: the folder that was written.
    """


@hookspec
def on_run_end(run: Run, result: dict[str, Any]) -> None:
    """Called when a run ends, also when it failed.

    :param run: the run.
    :param result: ``{"status": "completed" | "failed" | "interrupted", ...}``; final
        validation and test metrics on success, ``error`` on failure.
    """
