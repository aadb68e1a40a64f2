"""Names a package root exports but loads only when first asked for (PEP 562).

Some public names live in modules that are slow to import (MONAI, gradio, nbclient, peft) or
that a student's sandboxed kernel must not load (the grading pipeline). Their package root
lists them in ``__all__`` and hands this module a table of where each one lives.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, modules: dict[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``modules`` (name -> module,
    relative to the package, e.g. ``"app"``) is imported from its module on first use.

    Use in a package's ``__init__``::

        __getattr__, __dir__ = lazy_exports(__name__, {"serve": "app"})
    """

    def __getattr__(name: str):
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{modules[name]}"), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *modules})

    return __getattr__, __dir__
