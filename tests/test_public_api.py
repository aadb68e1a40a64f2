"""The public API: what labs, lecture notes, assignments and benchmarks may import.

They import only from the package roots and the top-level modules (:data:`ROOTS`), so that
the library can move code between its own modules without breaking a notebook; every
package root declares what it exports in ``__all__``, and exports every name those files
take from it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from .test_notebook_imports import code_of, imports_of

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "medai_edu"

#: The modules course material may import from.
ROOTS = {
    "medai_edu",
    *(
        f"medai_edu.{name}"
        for name in (
            # packages
            "data",
            "data.pathology",
            "wsi",
            "models",
            "explain",
            "experiments",
            "viz",
            "demos",
            "grading",
            "hub",
            "bench",
            # top-level modules
            "train",
            "metrics",
            "evaluation",
            "retrieval",
            "imaging",
            "paths",
        )
    ),
}

COURSE_FILES = sorted(
    [*ROOT.glob("labs/**/*.ipynb"), *ROOT.glob("course/**/*.md")]
    + [*ROOT.glob("autograder/source/*/*.ipynb"), *ROOT.glob("benchmarks/*.py")]
)
PACKAGE_INITS = sorted(PACKAGE.rglob("__init__.py"))


def course_imports(path: Path):
    """(module, name or None) for every import of medai_edu in a lab, note, assignment or
    benchmark script."""
    sources = [path.read_text(encoding="utf-8")] if path.suffix == ".py" else code_of(path)
    for source in sources:
        yield from imports_of(source)


def _exists(package, name: str) -> bool:
    """A name of the package, or one of its submodules (not imported: ``medai_edu``'s
    ``__all__`` names its modules without importing them)."""
    if hasattr(package, name):
        return True
    return importlib.util.find_spec(f"{package.__name__}.{name}") is not None


def _label(path: Path) -> str:
    return str(path.relative_to(ROOT))


def below_public_api(module: str, name: str | None) -> str | None:
    """The module an import reaches below :data:`ROOTS`, or None when it stays public."""
    if module not in ROOTS:
        return module
    if module == "medai_edu" and name and name != "__version__" and f"{module}.{name}" not in ROOTS:
        return f"{module}.{name}"  # from medai_edu import sandboxing
    return None


@pytest.mark.parametrize("path", COURSE_FILES, ids=_label)
def test_course_material_imports_only_the_public_api(path):
    """``from medai_edu.models.mome import x`` fails here: ``from medai_edu.models import x``."""
    deep = sorted({below_public_api(*found) for found in course_imports(path)} - {None})
    assert deep == [], f"{_label(path)} imports below the public API: {', '.join(deep)}"


@pytest.mark.parametrize("path", COURSE_FILES, ids=_label)
def test_package_roots_export_what_course_material_imports(path):
    """Each name taken from a package root is in that root's ``__all__``."""
    missing = []
    for module, name in course_imports(path):
        if module not in ROOTS or name is None:
            continue
        imported = importlib.import_module(module)
        exported = getattr(imported, "__all__", None)
        if hasattr(imported, "__path__") and exported is not None and name not in exported:
            missing.append(f"{module}.{name}")
    assert missing == [], f"{_label(path)} imports names outside __all__: {', '.join(missing)}"


@pytest.mark.parametrize("init", PACKAGE_INITS, ids=lambda p: _label(p.parent))
def test_every_package_declares_its_public_names(init):
    module = ".".join(init.parent.relative_to(ROOT).parts)
    package = importlib.import_module(module)
    exported = getattr(package, "__all__", None)
    assert isinstance(exported, list | tuple), f"{module} declares no __all__"
    twice = sorted(name for name, count in Counter(exported).items() if count > 1)
    assert twice == [], f"{module}.__all__ lists {twice} more than once"
    missing = [name for name in exported if not _exists(package, name)]
    assert missing == [], f"{module}.__all__ names what it does not have: {missing}"
