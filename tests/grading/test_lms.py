"""The LMS exports, from a gradebook built here with nbgrader's API (nothing is run)."""

from __future__ import annotations

import csv
import os
import shutil
import warnings
from datetime import datetime

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from medai_edu.grading.gradebook import gradebook_url
from medai_edu.grading.lms import (
    CANVAS_COLUMNS,
    NBGRADER_COLUMNS,
    export_grades,
)

from .conftest import BIN

ASSIGNMENT = "data-and-metrics"
NB = "data-and-metrics"
MAX = 9.0  # q1 2 + q2 4 (autograded) + q5 3 (by hand)
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module", autouse=True)
def alembic_on_path():
    """nbgrader's Gradebook runs ``alembic`` from PATH to set up a database."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        yield


def make_course(root):
    """Three students: chen (7.5 points), obrien (1.5 less a late penalty of 0.5), ada (no
    submission)."""
    root.mkdir(parents=True, exist_ok=True)
    with Gradebook(gradebook_url(root)) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        gb.add_assignment(ASSIGNMENT, duedate=datetime(2025, 3, 1, 12, 0))
        gb.add_notebook(NB, ASSIGNMENT)
        gb.add_grade_cell("q1_tests", NB, ASSIGNMENT, max_score=2, cell_type="code")
        gb.add_grade_cell("q2_tests", NB, ASSIGNMENT, max_score=4, cell_type="code")
        gb.add_grade_cell("q5_answer", NB, ASSIGNMENT, max_score=3, cell_type="markdown")
        gb.add_student(
            "chen",
            first_name="Xiǎo",
            last_name="Chén",
            email="chen@example.org",
            lms_user_id="4242",
        )
        gb.add_student(
            "obrien", first_name='Seán "Jack"', last_name="O'Brien, Jr.", email="sean@example.org"
        )
        gb.add_student("ada", first_name="Ada", last_name="Lovelace")

        gb.add_submission(ASSIGNMENT, "chen", timestamp=datetime(2025, 3, 1, 11, 0))
        for cell, auto, manual in (
            ("q1_tests", 2, None),
            ("q2_tests", 3, None),
            ("q5_answer", None, 2.5),
        ):
            grade = gb.find_grade(cell, NB, ASSIGNMENT, "chen")
            grade.auto_score, grade.manual_score = auto, manual
        gb.add_submission(ASSIGNMENT, "obrien", timestamp=datetime(2025, 3, 2, 9, 30))
        gb.find_grade("q1_tests", NB, ASSIGNMENT, "obrien").auto_score = 1.5
        gb.find_grade("q2_tests", NB, ASSIGNMENT, "obrien").auto_score = 0
        late = gb.find_submission_notebook(NB, ASSIGNMENT, "obrien")
        late.late_submission_penalty = 0.5
        gb.db.commit()
    return root


def read(path, encoding="utf-8-sig"):
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def exported(course, tmp_path_factory):
    return export_grades(course, tmp_path_factory.mktemp("out"), ASSIGNMENT)


def test_paths_and_encodings(exported):
    out = exported["canvas"].parent
    assert exported == {
        name: out / f"{ASSIGNMENT}-{name}.csv" for name in ("canvas", "moodle", "nbgrader")
    }
    assert exported["canvas"].read_bytes().startswith(BOM)
    assert exported["moodle"].read_bytes().startswith(BOM)
    assert not exported["nbgrader"].read_bytes().startswith(BOM)
    assert "Chén" in exported["nbgrader"].read_text(encoding="utf-8")


def test_canvas(exported):
    rows = read(exported["canvas"])
    assert rows[0] == [*CANVAS_COLUMNS, ASSIGNMENT]
    assert rows[1] == ["Points Possible", "", "", "", "", "9"]
    by_login = {row[3]: row for row in rows[2:]}
    assert len(rows) == 2 + 3 and set(by_login) == {"chen", "obrien", "ada"}
    assert by_login["chen"] == ["Chén, Xiǎo", "4242", "", "chen", "", "7.5"]
    assert by_login["obrien"] == ['O\'Brien, Jr., Seán "Jack"', "", "", "obrien", "", "1"]
    assert by_login["ada"] == ["Lovelace, Ada", "", "", "ada", "", ""]  # not submitted: empty
    text = exported["canvas"].read_bytes().decode("utf-8-sig")
    assert '"Chén, Xiǎo",4242,,chen,,7.5\r\n' in text
    assert '"O\'Brien, Jr., Seán ""Jack""",,,obrien,,1\r\n' in text


def test_moodle_by_id_number_when_an_email_is_missing(exported):
    rows = read(exported["moodle"])
    assert rows[0] == ["ID number", "First name", "Last name", ASSIGNMENT]
    by_id = {row[0]: row for row in rows[1:]}
    assert len(rows) == 1 + 3
    assert by_id["chen"] == ["chen", "Xiǎo", "Chén", "7.5"]
    assert by_id["obrien"] == ["obrien", 'Seán "Jack"', "O'Brien, Jr.", "1"]
    assert by_id["ada"] == ["ada", "Ada", "Lovelace", ""]
    assert ',"O\'Brien, Jr.",' in exported["moodle"].read_bytes().decode("utf-8-sig")


def test_moodle_by_email(course, tmp_path):
    shutil.copy(course / "gradebook.db", tmp_path / "gradebook.db")
    with Gradebook(gradebook_url(tmp_path)) as gb:
        gb.update_or_create_student("ada", email="ada@example.org")
    paths = export_grades(tmp_path, tmp_path / "out", ASSIGNMENT, formats=["moodle"])
    assert list(paths) == ["moodle"]
    rows = read(paths["moodle"])
    assert rows[0] == ["Email address", "First name", "Last name", ASSIGNMENT]
    assert {row[0]: row[3] for row in rows[1:]} == {
        "chen@example.org": "7.5",
        "sean@example.org": "1",
        "ada@example.org": "",
    }


def test_nbgrader(exported):
    with open(exported["nbgrader"], newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == NBGRADER_COLUMNS
        rows = {row["student_id"]: row for row in reader}
    assert set(rows) == {"chen", "obrien", "ada"}
    chen, obrien, ada = rows["chen"], rows["obrien"], rows["ada"]
    assert chen["assignment"] == ASSIGNMENT and chen["duedate"] == "2025-03-01 12:00:00"
    assert chen["timestamp"] == "2025-03-01 11:00:00"
    assert (chen["last_name"], chen["first_name"], chen["email"]) == (
        "Chén",
        "Xiǎo",
        "chen@example.org",
    )
    assert float(chen["raw_score"]) == 7.5 and float(chen["score"]) == 7.5
    assert float(chen["max_score"]) == MAX
    assert obrien["last_name"] == "O'Brien, Jr." and obrien["first_name"] == 'Seán "Jack"'
    assert float(obrien["raw_score"]) == 1.5
    assert float(obrien["late_submission_penalty"]) == 0.5 and float(obrien["score"]) == 1.0
    # nbgrader export's own rule for a student who did not submit: 0, no timestamp
    assert ada["timestamp"] == "" and ada["email"] == ""
    assert float(ada["raw_score"]) == 0.0 and float(ada["score"]) == 0.0


def test_errors(course, tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        export_grades(course, tmp_path / "out", ASSIGNMENT, formats=["blackboard"])
    with pytest.raises(ValueError, match="no assignment"):
        export_grades(course, tmp_path / "out", "nope")
    with pytest.raises(FileNotFoundError, match="no gradebook"):
        export_grades(tmp_path / "elsewhere", tmp_path / "out", ASSIGNMENT)
    assert not (tmp_path / "elsewhere").exists()  # nothing created there
