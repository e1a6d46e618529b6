"""``attnzoo plugins | models | datasets | info``: never import a framework."""

from __future__ import annotations

from pathlib import Path

import click

from attnzoo.cli.main import echo_json


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console()


def _table(title: str, columns: list[str]):  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for c in columns:
        wide = c in ("description", "hooks / error")
        table.add_column(c, overflow="fold", no_wrap=not wide, ratio=3 if wide else None)
    return table


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")


@click.command()
@json_option
def plugins(as_json: bool) -> None:
    """List plugins: distribution, version, hooks, and the error of any that failed."""
    from attnzoo.registry import list_plugins

    rows = list_plugins()
    if as_json:
        return echo_json(rows)
    table = _table("attnzoo plugins", ["name", "distribution", "version", "hooks / error"])
    for r in rows:
        detail = f"[red]FAILED: {r['error']}[/red]" if r["error"] else ", ".join(r["hooks"])
        for clash in r["conflicts"]:
            detail += f"\n[red]ERROR: {clash}[/red]"
        table.add_row(r["name"], r["distribution"], r["version"], detail)
    _console().print(table)


@click.command()
@click.argument("pattern", default="*")
@click.option(
    "--framework", help="Only models of this framework (a registered trainer: torch, tensorflow)."
)
@click.option("--task", help="Only models for this task.")
@click.option("--input-kind", help="Only models reading this input kind (text, tabular, image).")
@json_option
def models(
    pattern: str, framework: str | None, task: str | None, input_kind: str | None, as_json: bool
) -> None:
    """List registered models (glob PATTERN) with their presets and input kind."""
    from attnzoo.registry import get_model_spec, get_trainer_spec, list_models

    if framework is not None:
        get_trainer_spec(framework)  # the choices are the registered trainers' names
    names = list_models(pattern, framework=framework, task=task)
    specs = [get_model_spec(n) for n in names]
    if input_kind:
        specs = [s for s in specs if s.input_kind == input_kind]
    _warn_failed()
    if as_json:
        return echo_json(
            [
                {
                    "name": s.name,
                    "framework": s.framework,
                    "task": s.task,
                    "input_kind": s.input_kind,
                    "plugin": s.plugin,
                    "presets": sorted(s.presets),
                    "description": s.description,
                }
                for s in specs
            ]
        )
    table = _table(
        "attnzoo models",
        ["model", "presets", "framework", "task", "input", "plugin", "description"],
    )
    for s in specs:
        table.add_row(
            s.name,
            ", ".join(sorted(s.presets)),
            s.framework,
            s.task,
            s.input_kind,
            s.plugin,
            s.description,
        )
    _console().print(table)


@click.command()
@json_option
def datasets(as_json: bool) -> None:
    """List registered dataset recipes (local files and hf:<name> work without registration)."""
    from attnzoo.registry import get_dataset_spec, list_datasets

    specs = [get_dataset_spec(n) for n in list_datasets()]
    _warn_failed()
    if as_json:
        return echo_json(
            [
                {
                    "name": s.name,
                    "task": s.task,
                    "input_kind": s.input_kind,
                    "plugin": s.plugin,
                    "description": s.description,
                }
                for s in specs
            ]
        )
    table = _table("attnzoo datasets", ["dataset", "task", "input", "plugin", "description"])
    for s in specs:
        table.add_row(s.name, s.task, s.input_kind, s.plugin, s.description)
    _console().print(table)
    _console().print(
        "Also: any local CSV/TSV/JSONL/Parquet file or folder, and hf:<name> when online."
    )


@click.command()
@click.argument("target")
@json_option
def info(target: str, as_json: bool) -> None:
    """Describe a model (NAME or NAME.PRESET) or a run / model folder."""
    import json as _json

    from attnzoo.registry import model_info

    path = Path(target)
    if path.exists():
        from attnzoo.checkpoint import find_model_dir, read_meta

        out: dict = {"path": str(path)}
        if (path / "run.yaml").exists():
            from attnzoo.runs import read_run_yaml

            out["run"] = read_run_yaml(path / "run.yaml")
            if (path / "final.json").exists():
                try:
                    out["final"] = _json.loads((path / "final.json").read_text())
                except (ValueError, OSError) as exc:
                    out["final_error"] = f"{path / 'final.json'} is not valid JSON: {exc}"
            if (path / "metrics.jsonl").exists():
                out["epochs"] = sum(
                    1 for line in (path / "metrics.jsonl").read_text().splitlines() if line.strip()
                )
        try:
            mdir = find_model_dir(path)
            out["model"] = read_meta(mdir)
            out["config"] = _json.loads((mdir / "config.json").read_text())
        except Exception as exc:  # a run without a model yet is still worth describing
            out["model_error"] = str(exc)
        return echo_json(out) if as_json else _print_tree(out)
    data = model_info(target)
    data["config_fields"] = _config_fields(target)
    return echo_json(data) if as_json else _print_tree(data)


def _config_fields(model: str) -> dict[str, dict]:
    """Each field of the model's config class: its type, default (or "required") and
    description. Imports the config module only (a pydantic class), never a framework."""
    from pydantic_core import PydanticUndefined

    from attnzoo.registry import get_model_spec

    fields = get_model_spec(model).load_config_class().model_fields
    out: dict[str, dict] = {}
    for name, field in fields.items():
        if field.default_factory is not None:
            default = field.default_factory()
        else:
            default = "required" if field.default is PydanticUndefined else field.default
        annotation = field.annotation
        type_name = annotation.__name__ if isinstance(annotation, type) else str(annotation)
        out[name] = {"type": type_name, "default": default, "description": field.description or ""}
    return out


def _print_tree(data: dict) -> None:
    from rich.pretty import Pretty

    _console().print(Pretty(data, expand_all=False))


def _warn_failed() -> None:
    from attnzoo.plugins import get_host
    from attnzoo.registry import list_clashes

    failed = get_host().failed()
    if failed:
        names = ", ".join(p.name for p in failed)
        click.echo(
            f"Warning: {len(failed)} plugin(s) failed to load ({names}); see `attnzoo plugins`.",
            err=True,
        )
    for clash in list_clashes():
        click.echo(f"Error: {clash}", err=True)


COMMANDS = [plugins, models, datasets, info]
