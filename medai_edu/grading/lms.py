"""Grades of one assignment, from nbgrader's gradebook, in the CSV formats that learning
management systems import.

:func:`export_grades` writes, into ``out_dir``:

* ``<assignment>-canvas.csv``, Canvas's gradebook import: the columns ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section`` and one named after the assignment; a second
  row ``Points Possible`` gives the maximum under the assignment's column, then one row per
  student. ``Student`` is ``Last, First``; ``ID`` the nbgrader student's ``lms_user_id``
  (Canvas's user id) when set; ``SIS Login ID`` the nbgrader student id; ``SIS User ID`` and
  ``Section`` stay empty. Canvas matches a row by its ID or SIS columns, and a column that
  names no existing assignment makes a new one on import.
* ``<assignment>-moodle.csv``, Moodle's grade import (*Grades > Import > CSV file*): an
  identifier column, ``First name``, ``Last name`` and the assignment's column holding the
  grade. The identifier is ``Email address`` when every student has an email, else
  ``ID number`` with the nbgrader student id (one column cannot mix the two); at import,
  map it to the user field it holds and the assignment's column to the grade item.
* ``<assignment>-nbgrader.csv``: the table ``nbgrader export`` writes (its columns
  ``assignment, duedate, timestamp, student_id, last_name, first_name, email, raw_score,
  late_submission_penalty, score, max_score`` and values), for this assignment only.

The grade is nbgrader's ``score`` less its late-submission penalty (at least 0), the automatic
and manual points together: a submission whose hand-graded answers are not graded yet is
exported with the points it has so far. **A student who did not submit gets an empty grade in
the Canvas and Moodle files, not 0**: an empty cell changes nothing in the LMS, and whether a
missing submission counts as 0 (or is excused) is the instructor's decision there. The
nbgrader file keeps ``nbgrader export``'s own rule (0, with an empty timestamp).

Every file is written with the :mod:`csv` module, so a name with a comma, a quote or a line
break is quoted, and read back unchanged by any CSV reader.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from medai_edu.grading.gradebook import gradebook_url

FORMATS = ("canvas", "moodle", "nbgrader")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "Points Possible"
NBGRADER_COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]

# Encodings. Canvas and Moodle both read UTF-8 (and skip a UTF-8 byte-order mark), but these
# two files are for people too: an instructor often opens them in Excel to check or adjust
# them before the upload, and Excel reads a CSV without a BOM in the system's legacy code page
# ("Chén" becomes "ChÃ©n", and is saved back so). With the BOM, Excel reads UTF-8. The
# nbgrader file is for programs (nbgrader's own tools, pandas, scripts) and is plain UTF-8 like
# the rest of nbgrader's files.
LMS_ENCODING = "utf-8-sig"
NBGRADER_ENCODING = "utf-8"


def _number(value: float | None) -> str:
    """A grade as an LMS reads it: a dot, no exponent, at most 4 decimals, no trailing
    zeros (15.5, 16, 0.3333)."""
    if value is None:
        return ""
    text = f"{round(float(value), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(value) -> str:
    """As ``nbgrader export`` writes a value: ``str()``, None empty."""
    return "" if value is None else str(value)


def _rows(gb: Gradebook, assignment: str):
    """(the assignment, [(student, submission or None), ...]) in nbgrader's order of
    students (last name, first name)."""
    try:
        found = gb.find_assignment(assignment)
    except MissingEntry as err:
        raise ValueError(f"the gradebook has no assignment {assignment!r}") from err
    rows = []
    for student in gb.students:
        try:
            submission = gb.find_submission(assignment, student.id)
        except MissingEntry:
            submission = None
        rows.append((student, submission))
    return found, rows


def _grade(submission) -> float | None:
    if submission is None:
        return None
    return max(0.0, submission.score - (submission.late_submission_penalty or 0.0))


def _canvas_name(student) -> str:
    last, first = (student.last_name or "").strip(), (student.first_name or "").strip()
    if last and first:
        return f"{last}, {first}"
    return last or first or student.id


def _write(path: Path, rows: Iterable[list], encoding: str) -> Path:
    with open(path, "w", newline="", encoding=encoding) as out:
        csv.writer(out).writerows(rows)
    return path


def _canvas(path: Path, found, rows) -> Path:
    header = [*CANVAS_COLUMNS, found.name]
    points = [CANVAS_POINTS_ROW, "", "", "", "", _number(found.max_score)]
    lines = [header, points]
    for student, submission in rows:
        lines.append(
            [
                _canvas_name(student),
                student.lms_user_id or "",
                "",
                student.id,
                "",
                _number(_grade(submission)),
            ]
        )
    return _write(path, lines, LMS_ENCODING)


def _moodle(path: Path, found, rows) -> Path:
    by_email = bool(rows) and all((s.email or "").strip() for s, _ in rows)
    header = ["Email address" if by_email else "ID number", "First name", "Last name", found.name]
    lines = [header]
    for student, submission in rows:
        lines.append(
            [
                student.email.strip() if by_email else student.id,
                student.first_name or "",
                student.last_name or "",
                _number(_grade(submission)),
            ]
        )
    return _write(path, lines, LMS_ENCODING)


def _nbgrader(path: Path, found, rows) -> Path:
    """nbgrader's ``CsvExportPlugin`` row for row, but through :mod:`csv` (the plugin joins
    the values with commas unquoted, which breaks on a name with a comma, and writes in the
    locale's encoding)."""
    lines = [list(NBGRADER_COLUMNS)]
    for student, submission in rows:
        if submission is None:
            timestamp, raw, penalty, score = "", 0.0, 0.0, 0.0
        else:
            timestamp, raw = submission.timestamp, submission.score
            penalty = submission.late_submission_penalty
            score = max(0.0, submission.score - penalty)
        values = [
            found.name,
            found.duedate,
            timestamp,
            student.id,
            student.last_name,
            student.first_name,
            student.email,
            raw,
            penalty,
            score,
            found.max_score,
        ]
        lines.append([_text(v) for v in values])
    return _write(path, lines, NBGRADER_ENCODING)


_WRITERS = {"canvas": _canvas, "moodle": _moodle, "nbgrader": _nbgrader}


def export_grades(
    course_root, out_dir, assignment: str, formats: Iterable[str] = FORMATS
) -> dict[str, Path]:
    """Write the grades of ``assignment`` in each of ``formats`` (``canvas``, ``moodle``,
    ``nbgrader``) to ``out_dir/<assignment>-<format>.csv``; return format -> path.

    Every student in the gradebook has a row. A student who did not submit gets an empty
    grade in the Canvas and Moodle files (not 0: the LMS leaves it as it is); the nbgrader
    file gives 0, as ``nbgrader export`` does. Raises ValueError for an unknown format or an
    assignment the gradebook does not have, FileNotFoundError when ``course_root`` has no
    ``gradebook.db``.
    """
    formats = list(formats)
    unknown = [f for f in formats if f not in _WRITERS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}: choose from {list(FORMATS)}")
    database = Path(course_root) / "gradebook.db"
    if not database.is_file():  # nbgrader's Gradebook would make an empty one
        raise FileNotFoundError(f"no gradebook at {database}: is {course_root} the course?")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with Gradebook(gradebook_url(course_root)) as gb:
        found, rows = _rows(gb, assignment)
        return {
            name: _WRITERS[name](out_dir / f"{assignment}-{name}.csv", found, rows)
            for name in formats
        }
