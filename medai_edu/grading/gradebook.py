"""The one writer to nbgrader's gradebook, and the CSV export.

Only the process that runs ``medai-edu grade`` writes here, one submission at a time, as
results come back from the workers; the workers never open the database. Grades are only
ever added or updated: an instructor's manual score stays, a submission graded again gets
its new automatic scores, nothing is deleted.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning


def gradebook_url(course_root: str | Path) -> str:
    return f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"


def check_assignment(course_root, assignment: str) -> list[str]:
    """The assignment's notebook names, as ``nbgrader generate_assignment`` recorded them."""
    with Gradebook(gradebook_url(course_root)) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry as err:
            raise ValueError(
                f"the gradebook has no assignment {assignment!r}: run "
                f"`nbgrader generate_assignment {assignment}` in {course_root} first"
            ) from err
        return [nb.name for nb in found.notebooks]


def record(course_root, result, timestamp: str | None = None) -> None:
    """Save one graded submission (``autograde.SubmissionResult``): automatic scores of its
    test cells, and which cells need a person (manual answers, cells that did not run)."""
    with Gradebook(gradebook_url(course_root)) as gb, warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy warn about objects it adds itself.
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(result.student)
        try:
            gb.find_submission(result.assignment, result.student)
        except MissingEntry:
            gb.add_submission(result.assignment, result.student)
        if timestamp:
            gb.update_or_create_submission(result.assignment, result.student, timestamp=timestamp)
        for notebook, cells in result.scores.items():
            for grade_id, cell in cells.items():
                grade = gb.find_grade(grade_id, notebook, result.assignment, result.student)
                grade.auto_score = cell.score
                grade.needs_manual_grade = (
                    grade.manual_score is not None or cell.score is None or bool(result.flags)
                )
        gb.db.commit()


def export_csv(course_root, path, assignment: str | None = None) -> Path:
    """One row per student and assignment: score, maximum, and whether a person still has
    to grade something (``nbgrader export`` gives a similar table without the last)."""
    path = Path(path)
    with (
        Gradebook(gradebook_url(course_root)) as gb,
        open(path, "w", newline="", encoding="utf-8") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(["student", "assignment", "score", "max_score", "needs_manual_grade"])
        assignments = [gb.find_assignment(assignment)] if assignment else gb.assignments
        for found in assignments:
            for submission in sorted(found.submissions, key=lambda s: s.student.id):
                writer.writerow(
                    [
                        submission.student.id,
                        found.name,
                        round(submission.score, 4),
                        submission.max_score,
                        submission.needs_manual_grade,
                    ]
                )
    return path
