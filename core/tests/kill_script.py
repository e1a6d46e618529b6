"""The training script the kill-and-resume tests run in a subprocess (one process, or each rank
under torchrun): it trains ``cfg`` with the tiny test plugin and dies like SIGKILL (no cleanup, no
hooks) at the ``kill_after``-th state save, on the process that fires hooks (rank 0); 0 never.
It prints ``RESULT <rank> <test metrics as JSON>`` when training ends."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

HERE = Path(__file__).parent

_TEMPLATE = textwrap.dedent(
    """
    import os, sys, json
    sys.path.insert(0, {here!r})
    os.environ["ATTNZOO_LOAD_PLUGINS"] = ""
    import attnzoo
    from attnzoo import hookimpl
    from attnzoo.plugins import get_host
    import tinymodels

    saves = []

    class Killer:
        @hookimpl
        def on_checkpoint_saved(self, run, path):
            if path.endswith("state"):
                saves.append(path)
                if len(saves) == {kill_after}:
                    os._exit(137)

    get_host().register(tinymodels, "tinyplugin", "tinyplugin")
    get_host().register(Killer(), "killer")
    result = attnzoo.train(json.loads({cfg!r}), resume={resume!r})
    print("RESULT", os.environ.get("RANK", "0"), json.dumps(result["test"]), flush=True)
    """
)


def kill_script(cfg: dict, kill_after: int = 0, *, resume: bool = False) -> str:
    return _TEMPLATE.format(
        here=str(HERE), kill_after=kill_after, cfg=json.dumps(cfg), resume=resume
    )
