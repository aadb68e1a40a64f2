"""Every name that a lab, a lecture note or an assignment imports from ``medai_edu`` exists:
a move inside the library that breaks a notebook fails here in a second, not after the
book has executed it."""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(
    [*ROOT.glob("labs/**/*.ipynb"), *ROOT.glob("autograder/source/*/*.ipynb")]
    + [*ROOT.glob("course/**/*.md")]
)
CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def code_of(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    cells = CODE_CELL.findall(path.read_text(encoding="utf-8"))
    return [_without_options(cell) for cell in cells]


def _without_options(cell: str) -> str:
    """A MyST code cell without its ``---`` options block or ``:key: value`` lines."""
    if cell.startswith("---\n"):
        cell = cell.split("\n---\n", 1)[1] if "\n---\n" in cell else ""
    return cell


def imports_of(source: str):
    """(module, name or None) for each import of medai_edu in a cell (magics skipped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!", ":"))]
    tree = ast.parse("\n".join(lines))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("medai_edu"):
            yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((a.name, None) for a in node.names if a.name.startswith("medai_edu"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_imported_name_exists(path):
    missing = []
    for source in code_of(path):
        for module, name in imports_of(source):
            imported = importlib.import_module(module)
            if name is None or hasattr(imported, name):
                continue
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"from {module} import {name}")
    assert missing == []
