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
from medai_edu.lazy import lazy_exports

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
    "SolutionError": "autograde",
    "grade_assignment": "autograde",
    "grade_submission": "autograde",
    "SandboxLimits": "sandbox",
    "SandboxUnavailable": "sandbox",
    "run_notebook": "sandbox",
    "compare": "similarity",
    "course_report": "similarity",
    "write_report": "similarity",
    "export_csv": "gradebook",
    "export_grades": "lms",
    "grade_id": "repair",
    "write_feedback": "feedback",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
