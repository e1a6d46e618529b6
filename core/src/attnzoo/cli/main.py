"""Top-level group and error handling. Plugin commands are added when ``main()`` runs, never at import."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from attnzoo.errors import AttnzooError


class AttnzooGroup(click.Group):
    """Turns attnzoo's domain errors into clean click errors (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AttnzooError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:  # a file the user named or a folder attnzoo writes: one line
            if exc.filename is None:
                raise
            where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
            raise click.ClickException(
                f"Cannot access {where}: {exc.strerror or exc}. Check the path and its permissions."
            ) from exc


@click.group(cls=AttnzooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attnzoo-core", prog_name="attnzoo")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """attnzoo: research architectures as real, comparable software.

    \b
    Quick start:
      attnzoo models                      what is installed
      attnzoo train --model example --dataset bbc-news
      attnzoo bench quick                 every installed model on bbc-news
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:
        for noisy in ("accelerate", "datasets", "filelock"):
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def _register_builtin_commands() -> None:
    from attnzoo.cli import bench, export, listing, running, tune

    for module in (listing, running, bench, export, tune):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_builtin_commands()
_plugins_added = False


def add_plugin_commands() -> None:
    """Call every plugin's ``register_commands(cli)`` once; a failing one is reported, not fatal."""
    global _plugins_added
    if _plugins_added:
        return
    _plugins_added = True
    from attnzoo.plugins import get_host, strict_mode

    host = get_host()
    for impl in host.pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:
            info = host.plugins.get(impl.plugin_name)
            if info is not None:
                host.fail(info, f"register_commands raised {type(exc).__name__}: {exc}", exc)
            elif strict_mode():
                raise


def main(argv: list[str] | None = None) -> Any:
    add_plugin_commands()
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="attnzoo")
