"""``python -m attnzoo`` is the ``attnzoo`` command."""

from attnzoo.cli import main

main()
