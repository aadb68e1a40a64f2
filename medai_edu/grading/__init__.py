"""Grading nbgrader assignments safely: sandboxed, parallel, hard to fool.

Two sides, imported differently:

- **Inside a student's kernel**, the test cells use :mod:`.checks`
  (``from medai_edu.grading import checks``). Importing this package runs there, so it
  stays light: it imports only the checks (and their ``_loader``), whose names are
  exported here.
- **On the instructor's side**, the pipeline: :func:`grade_assignment` (:mod:`.autograde`:
  sandboxed runs in parallel, sealed verdicts, feedback, gradebook),
  :func:`run_notebook` (:mod:`.sandbox`), :func:`course_report` (:mod:`.similarity`),
  :func:`export_grades` (:mod:`.lms`). Their modules load on first use of a name (see
  :data:`_LAZY`), never when a kernel imports the checks.
"""

from medai_edu.grading import checks
from medai_edu.grading.checks import (
    SEALED,
    CheckFailed,
    PartialCredit,
    check_array_close,
    check_close,
    check_equal,
    check_raises,
    check_type,
    fresh,
    restore,
)

__all__ = [
    # checks for test cells (light: imported inside students' kernels)
    "SEALED",
    "CheckFailed",
    "PartialCredit",
    "check_array_close",
    "check_close",
    "check_equal",
    "check_raises",
    "check_type",
    "checks",
    "fresh",
    "restore",
    # the grading pipeline (instructor side, imported on first use)
    "SandboxLimits",
    "SandboxUnavailable",
    "SolutionError",
    "compare",
    "course_report",
    "export_csv",
    "export_grades",
    "grade_assignment",
    "grade_id",
    "grade_submission",
    "run_notebook",
    "write_feedback",
    "write_report",
]

#: Name -> the module that defines it, imported when the name is first used: the pipeline
#: needs nbformat, nbclient and subprocesses, which a student's kernel must not pay for.
_LAZY = {
    "SolutionError": "medai_edu.grading.autograde",
    "grade_assignment": "medai_edu.grading.autograde",
    "grade_submission": "medai_edu.grading.autograde",
    "SandboxLimits": "medai_edu.grading.sandbox",
    "SandboxUnavailable": "medai_edu.grading.sandbox",
    "run_notebook": "medai_edu.grading.sandbox",
    "compare": "medai_edu.grading.similarity",
    "course_report": "medai_edu.grading.similarity",
    "write_report": "medai_edu.grading.similarity",
    "export_csv": "medai_edu.grading.gradebook",
    "export_grades": "medai_edu.grading.lms",
    "grade_id": "medai_edu.grading.repair",
    "write_feedback": "medai_edu.grading.feedback",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'medai_edu.grading' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
