"""The ``public-api`` directive of the book's API reference page (``reference/api.md``).

    ```{public-api} medai_edu.models
    ```

lists what a module exports: each name of its ``__all__`` (a top-level module without one:
its own public functions and classes), with its signature and the first paragraph of its
docstring. The list is read from the code at build time, so it cannot fall out of date.

The docstrings are shown as text, not parsed as reStructuredText: they are written for
``help()`` and the editor, and a docstring that is not valid RST must not fail the book
(``--warningiserror``). Only ````literals```` and ``:role:`targets``` are set as code.
"""

from __future__ import annotations

import importlib
import inspect
import re

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

#: ``code`` or :role:`~target` (shown as code: the target's last part after a ``~``)
_MARKUP = re.compile(r"``(.+?)``|:[a-z:]+:`~?([^`]+)`")


def public_names(module) -> list[str]:
    """``__all__``, or the public functions and classes the module defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    ]


def summary(value) -> str:
    """The first paragraph of the docstring, on one line ('' without one)."""
    doc = inspect.getdoc(value) if callable(value) or inspect.ismodule(value) else None
    return " ".join((doc or "").split("\n\n")[0].split())


def signature(value) -> str:
    """``(arguments)`` of a function or class, `` = value`` of a short constant, ``: type``
    of a long one."""
    if inspect.ismodule(value):
        return ""
    if not callable(value):
        shown = repr(value)
        return f" = {shown}" if len(shown) <= 60 else f": {type(value).__name__}"
    try:
        found = inspect.signature(value)
    except (TypeError, ValueError):  # some builtins and extension types have none
        return ""
    # names and defaults, as help() reads; the annotations are in the docstrings and code
    bare = [p.replace(annotation=p.empty) for p in found.parameters.values()]
    return str(found.replace(parameters=bare, return_annotation=found.empty))


def text_with_code(text: str) -> list[nodes.Node]:
    """Plain text, with ``literals`` and roles' targets as inline code."""
    parts, start = [], 0
    for match in _MARKUP.finditer(text):
        parts.append(nodes.Text(text[start : match.start()]))
        code = match.group(1) or match.group(2).split(".")[-1]
        parts.append(nodes.literal(code, code))
        start = match.end()
    parts.append(nodes.Text(text[start:]))
    return parts


def exported(module, name: str):
    """The object a module exports under ``name`` (a submodule need not be imported yet)."""
    if hasattr(module, name):
        return getattr(module, name)
    return importlib.import_module(f"{module.__name__}.{name}")


def entry(module, name: str) -> nodes.definition_list_item:
    """``name(signature)``, anchored as ``module.name``, then the summary."""
    value = exported(module, name)
    term = nodes.term("", "", nodes.literal("", name + signature(value)))
    term["ids"].append(nodes.make_id(f"{module.__name__}.{name}"))
    described = nodes.paragraph("", "", *text_with_code(summary(value)))
    return nodes.definition_list_item("", term, nodes.definition("", described))


class PublicAPI(Directive):
    """The module's summary, then a definition list of its public names."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module = importlib.import_module(self.arguments[0])
        overview = nodes.paragraph("", "", *text_with_code(summary(module)))
        entries = nodes.definition_list(classes=["public-api"])
        for name in public_names(module):
            entries += entry(module, name)
        return [overview, entries]


def setup(app: Sphinx) -> dict:
    app.add_directive("public-api", PublicAPI)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
