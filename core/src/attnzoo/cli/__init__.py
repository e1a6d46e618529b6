"""The ``attnzoo`` command line: thin click commands over the library, rendered with rich."""

from attnzoo.cli.main import cli, main

__all__ = ["cli", "main"]
