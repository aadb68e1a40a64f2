"""The similarity report of one assignment in a course folder (nbgrader's layout)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from nbformat import NotebookNode

from medai_edu.grading.repair import (
    UnreadableSubmission,
    read_submission,
)
from medai_edu.grading.similarity.cells import solution_cells
from medai_edu.grading.similarity.pairs import PairReport, Skipped, compare
from medai_edu.grading.similarity.report import write_report


def _students(root: Path, assignment: str) -> list[str]:
    folder = root / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())


def _read(path: Path, release: NotebookNode) -> NotebookNode:
    """A submitted notebook whose solution cells can be read, or UnreadableSubmission."""
    if not path.is_file():
        raise UnreadableSubmission("this notebook was not submitted")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UnreadableSubmission(f"the file could not be read ({err.strerror})") from err
    notebook = read_submission(raw, path.name)
    try:
        solution_cells(notebook, release)
    except (AttributeError, KeyError, TypeError) as err:  # cells that are not cells
        raise UnreadableSubmission(f"{path.name} has malformed cells ({err})") from err
    return notebook


def course_report(
    course_root: str | Path,
    assignment: str,
    out_path: str | Path,
    threshold: float = 0.8,
    students: Iterable[str] | None = None,
) -> list[PairReport]:
    """Compare the submissions of an assignment of an nbgrader course, and write the report.

    Parameters
    ----------
    course_root : str or Path
        The nbgrader course folder: ``release/<assignment>/*.ipynb`` and
        ``submitted/<student>/<assignment>/*.ipynb`` are read.
    assignment : str
        The assignment's name.
    out_path : str or Path
        The HTML report to write (see :func:`write_report`).
    threshold : float, default 0.8
        See :func:`compare`.
    students : iterable of str, optional
        The students to compare; by default all who submitted the assignment.

    Returns
    -------
    list of PairReport
        The pairs at or above the threshold, over all the assignment's notebooks (each
        notebook compared separately, ``notebook`` naming it), most alike first. A
        submission that cannot be read is left out and listed in the report with the reason,
        as is a notebook a student did not submit.
    """
    root = Path(course_root)
    released = sorted((root / "release" / assignment).glob("*.ipynb"))
    if not released:
        raise FileNotFoundError(f"no released notebook in {root / 'release' / assignment}")
    who = sorted(students) if students is not None else _students(root, assignment)
    pairs: list[PairReport] = []
    skipped: list[Skipped] = []
    for release_path in released:
        release = read_submission(release_path.read_bytes(), release_path.name)
        notebooks = {}
        for student in who:
            path = root / "submitted" / student / assignment / release_path.name
            try:
                notebooks[student] = _read(path, release)
            except UnreadableSubmission as err:
                skipped.append(Skipped(student, release_path.name, str(err)))
        found = compare(notebooks, release, threshold)
        pairs += [replace(p, notebook=release_path.name) for p in found]
    pairs.sort(key=lambda r: (-r.score, r.notebook, r.student_a, r.student_b))
    write_report(out_path, pairs, assignment, threshold, skipped)
    return pairs
