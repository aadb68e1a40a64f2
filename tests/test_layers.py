"""The package's layers run one way: a module imports only its own layer or lower ones
(the order is written here and in the README's layout), and the grading engine and the
hub import no model code. Every import is read with ``ast``, inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "medai_edu"

#: Bottom to top. Each entry: the layer's top-level modules or packages of medai_edu.
LAYERS = [
    ["__init__", "lazy", "vocabulary", "paths", "metrics", "imaging", "retrieval", "sandboxing"],
    ["wsi"],
    ["data"],
    ["models"],
    ["train", "evaluation"],
    ["explain"],
    ["experiments"],
    ["viz"],
    ["demos", "hub", "grading", "bench"],
    ["cli"],
]
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}
#: Packages of the top layer that stay apart from each other and from the models: they may
#: import only the bottom layer besides themselves.
APART = {"hub": 0, "grading": 0}


def top_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported(tree: ast.AST, path: Path):
    """(line, top-level medai_edu module) for every import of the package in ``tree``."""
    package = ".".join(("medai_edu", *path.relative_to(PACKAGE).parent.parts))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names = [module] + (
                [f"{module}.{a.name}" for a in node.names] if module == "medai_edu" else []
            )
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "medai_edu" and len(parts) > 1:
                yield node.lineno, parts[1]


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = top_name(path)
        if source not in LEVEL:
            found.append(f"{path.relative_to(PACKAGE.parent)}: {source!r} is in no layer")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, target in imported(tree, path):
            if target == source:
                continue
            if target not in LEVEL:
                continue  # a module-level name of medai_edu (__version__), not a module
            ceiling = APART.get(source, LEVEL[source])
            if LEVEL[target] > ceiling or (LEVEL[target] == LEVEL[source] and source in APART):
                found.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {source} (layer "
                    f"{LEVEL[source]}) imports {target} (layer {LEVEL[target]})"
                )
    return found


def test_every_import_runs_down_the_layers():
    assert violations() == []


def test_the_checker_finds_an_import_that_runs_back_up(tmp_path):
    tree = ast.parse("def f():\n    from medai_edu.viz import plot\nfrom . import sibling\n")
    path = PACKAGE / "data" / "example.py"
    assert sorted(imported(tree, path)) == [(2, "viz"), (3, "data")]
