"""Every function in core is short enough to read at once: under 60 lines from ``def`` to its
last line (docstring included; a click command's option decorators are not counted), split
into named steps rather than crammed."""

from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 60
SRC = Path(__file__).resolve().parents[1] / "src"


def long_functions(root: Path, limit: int = MAX_LINES) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length >= limit:
                    found.append(
                        f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)"
                    )
    return found


def test_no_function_in_core_has_60_lines_or_more():
    assert long_functions(SRC) == []


def test_the_check_finds_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}\n")
    assert long_functions(tmp_path) == [f"m.py:5 long ({MAX_LINES + 1} lines)"]
