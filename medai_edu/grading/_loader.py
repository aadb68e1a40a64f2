"""Pristine references, captured once, for the checks that test cells run.

A student's notebook runs in the same Python process as the test cells that grade it, so
its code can rebind builtins (``builtins.abs = lambda x: 0``), numpy functions
(``np.allclose = lambda *a, **k: True``) or the checking helpers themselves. This tiny
module is imported with :mod:`medai_edu.grading.checks`, in the assignment's locked set-up
cell, before any student code runs. It keeps:

* ``BUILTINS``: a copy of the builtins namespace (a new dict, so later rebinding in the
  ``builtins`` module does not reach it);
* ``NUMPY``: the numpy types the checks accept, and copies of the ``numpy`` and
  ``numpy.testing`` namespaces (for :func:`medai_edu.grading.checks.restore`);
* :func:`load_fresh`, which executes a module's source file with the pristine builtins.

In-process defences raise the bar; they are no sandbox. The grading pipeline still runs
each submission in its own process and restores deleted or edited test cells.
"""

import builtins
import json
import os
import warnings

import numpy
import numpy.testing

BUILTINS: dict = dict(builtins.__dict__)

# Used by load_fresh. Not importlib's loaders: their Python code looks builtins such as
# ``type`` and ``isinstance`` up when called, after a notebook may have rebound them.
_ModuleType = type(builtins)
_open = builtins.open
_compile = builtins.compile
_exec = builtins.exec
_dict = builtins.dict


def _scalar_types(codes: str) -> tuple:
    """The distinct numpy scalar types of the dtype characters ``codes`` (in order)."""
    found = []
    for code in codes:
        kind = numpy.dtype(code).type
        if all(kind is not seen for seen in found):
            found.append(kind)
    return tuple(found)


NUMPY: dict = {
    "ndarray": numpy.ndarray,
    "bool": _scalar_types("?"),
    "integer": _scalar_types(numpy.typecodes["AllInteger"]),
    "floating": _scalar_types(numpy.typecodes["Float"]),
    "namespace": dict(vars(numpy)),
    "testing": dict(vars(numpy.testing)),
}

#: Used to keep the warnings of a student's code out of stderr: nbgrader scores a test cell
#: that writes to stderr 0, whatever its checks found.
CATCH_WARNINGS = warnings.catch_warnings

#: Checks in the grader's reference run publish what they expect (see checks.judge).
CHECKS_MODE = os.environ.get("MEDAI_EDU_CHECKS", "")
JSON_DUMPS = json.dumps


class _Sealed:
    """The placeholder of a sealed check's expected value (one object per process)."""

    def __repr__(self) -> str:
        return "checks.SEALED"


SEALED = _Sealed()


def _publisher():
    try:
        from IPython.display import publish_display_data
    except ImportError:  # plain Python: checks compare in place, nothing is published
        return None
    return lambda data: publish_display_data(data, metadata={})


PUBLISH = _publisher()

MODULES: dict = {"numpy": numpy, "numpy.testing": numpy.testing, "builtins": builtins}


def load_fresh(path: str, name: str):
    """A new module object named ``name``, executed from the source file ``path``.

    The module is not put into ``sys.modules``. Its code sees the builtins as they were when
    this module was first imported, whatever a notebook has rebound since. (Its own import
    statements still go through ``sys.modules``.)
    """
    module = _ModuleType(name)
    namespace = module.__dict__
    namespace["__file__"] = path
    namespace["__builtins__"] = _dict(BUILTINS)
    with _open(path, "rb") as handle:
        source = handle.read()
    _exec(_compile(source, path, "exec"), namespace)
    return module
