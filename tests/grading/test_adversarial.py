"""A corpus of adversarial submissions, graded in one batch by ``medai-edu grade``.

Each submission starts from a correct one (the sample ``alice``: 13 of the 13 automatic
points; the written answer, 3 points, is graded by hand) and tries one way to break or fool
the grader. For each: the right score, a clear reason, no crash of the grader, nothing of
the course readable or changed, and grades already in the gradebook kept.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from medai_edu.grading.autograde import grade_assignment
from medai_edu.grading.gradebook import export_csv, gradebook_url
from medai_edu.grading.repair import grade_id
from medai_edu.grading.sandbox import SandboxLimits

from .conftest import ROOT, copy_course

pytestmark = pytest.mark.slow

ASSIGNMENT = "data-and-metrics"
NAME = f"{ASSIGNMENT}.ipynb"
FULL = 13.0  # the automatic points of a correct submission
POINTS = {"q1_tests": 2.0, "q2_tests": 4.0, "q3_tests": 4.0, "q4_tests": 3.0}
LIMITS = SandboxLimits(cell_timeout_seconds=10, wall_seconds=120, cpu_seconds=60)
SECRET = "BEGIN HIDDEN TESTS"


def alice() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "autograder" / "samples" / ASSIGNMENT / "alice" / NAME, 4)


def cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def with_cell(nb, after: str, source: str):
    """A new student cell after the cell ``after``."""
    index = nb.cells.index(cell(nb, after)) + 1
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def append(nb, gid: str, source: str):
    cell(nb, gid).source += "\n" + source
    return nb


def attacks(course: Path) -> dict:
    """student -> the submitted file's bytes."""
    out = {}

    def add(student, nb):
        out[student] = nbformat.writes(nb).encode()

    add("honest", alice())
    add("loop", append(alice(), "q2_solution", "while True:\n    pass"))
    add(
        "memory",
        with_cell(alice(), "q1_tests", "hog = []\nwhile True:\n    hog.append(bytearray(10**8))"),
    )
    add("fork", with_cell(alice(), "q1_tests", "import os\nwhile True:\n    os.fork()"))
    add("exit", append(alice(), "q2_solution", "import os\nos._exit(0)"))
    nb = alice()
    nb.cells.remove(cell(nb, "q1_tests"))
    add("delete_tests", nb)
    nb = alice()
    cell(nb, "q3_solution").source = "def auroc_by_ranks(y_true, scores):\n    return 0.5"
    cell(nb, "q3_tests").source = "pass"
    add("edit_tests", nb)
    nb = alice()
    cell(
        nb, "q4_solution"
    ).source = "def threshold_for_sensitivity(y_true, p, target=0.95):\n    return 0.5"
    cell(nb, "q4_tests").metadata = {}
    add("clear_metadata", nb)
    nb = alice()
    cell(nb, "q3_solution").source = "def auroc_by_ranks(y_true, scores):\n    return 0.5"
    renamed = cell(nb, "q3_tests").metadata["nbgrader"]
    renamed["grade_id"], renamed["points"] = "bonus", 100
    add("grade_ids", nb)
    nb = alice()
    cell(nb, "q3_solution").source = (
        "class Anything(float):\n"
        "    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __sub__(self, other): return 0.0\n"
        "    def __rsub__(self, other): return 0.0\n"
        "    def __abs__(self): return 0.0\n"
        "    def __lt__(self, other): return True\n"
        "    def __le__(self, other): return True\n"
        "def auroc_by_ranks(y_true, scores):\n    return Anything(0.5)"
    )
    add("always_equal", nb)
    nb = alice()
    cell(nb, "q3_solution").source = (
        "from medai_edu.grading import checks\n"
        "checks.check_close = lambda *a, **k: None\nchecks.restore = lambda: None\n"
        "def auroc_by_ranks(y_true, scores):\n    return 0.5"
    )
    add("patch_helpers", nb)
    course_files = sorted(str(p) for p in course.rglob("*") if p.is_file())
    add(
        "read_hidden",
        with_cell(
            alice(),
            "q1_tests",
            "import glob, os\nfound = []\n"
            f"for path in {course_files!r}:\n"
            "    try:\n        found.append(open(path, errors='replace').read()[:5000])\n"
            "    except OSError as err:\n        found.append(repr(err))\n"
            f"where = {str(course)!r}\n"
            "found.append(str(os.listdir(where) if os.path.exists(where) else []))\n"
            "print('\\n'.join(found))",
        ),
    )
    add(
        "write_outside",
        with_cell(
            alice(),
            "q1_tests",
            "for path in "
            f"[{str(course / 'source' / ASSIGNMENT / NAME)!r}, {str(course / 'gradebook.db')!r}, "
            "'/etc/medai-hack', '/tmp/medai-hack']:\n"
            "    try:\n        open(path, 'w').write('hacked')\n        print('wrote', path)\n"
            "    except OSError as err:\n        print('refused', path, type(err).__name__)",
        ),
    )
    add(
        "network",
        with_cell(
            alice(),
            "q1_tests",
            "import socket\ntry:\n    socket.create_connection(('pypi.org', 443), timeout=3)\n"
            "    print('connected')\nexcept OSError as err:\n"
            "    print('no network', type(err).__name__)",
        ),
    )
    add("huge_output", with_cell(alice(), "q1_tests", "print('x' * 20_000_000)"))
    out["invalid_json"] = b'{"cells": [ {"cell_type": "code", '
    other = nbformat.read(course / "release" / "breast-mri-fusion" / "breast-mri-fusion.ipynb", 4)
    add("other_assignment", other)
    return out


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(
        tmp_path_factory.mktemp("adversarial") / "course", ASSIGNMENT, "breast-mri-fusion"
    )
    submissions = attacks(course)
    for student, raw in submissions.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NAME).write_bytes(raw)
    # An earlier grading run, and an instructor's manual score for the written answer.
    grade_assignment(course, ASSIGNMENT, students=["honest"], jobs=1, limits=LIMITS, progress=False)
    with Gradebook(gradebook_url(course)) as gb:
        gb.find_grade("q5_answer", ASSIGNMENT, ASSIGNMENT, "honest").manual_score = 2.5
        gb.db.commit()
    before = {"source": digest(course / "source"), "release": digest(course / "release")}
    results = grade_assignment(course, ASSIGNMENT, jobs=2, limits=LIMITS, progress=False)
    after = {"source": digest(course / "source"), "release": digest(course / "release")}
    return course, {r.student: r for r in results}, before, after


def auto(result) -> dict[str, float]:
    return {gid: c.score for gid, c in result.scores[ASSIGNMENT].items() if gid in POINTS}


def test_every_submission_is_graded_without_crashing_the_grader(graded):
    course, results, *_ = graded
    assert set(results) == set(attacks_names())
    assert all(r.status != "grader_error" for r in results.values()), {
        s: r.reason for s, r in results.items() if r.status == "grader_error"
    }


def attacks_names():
    return [
        "honest", "loop", "memory", "fork", "exit", "delete_tests", "edit_tests",
        "clear_metadata", "grade_ids", "always_equal", "patch_helpers", "read_hidden",
        "write_outside", "network", "huge_output", "invalid_json", "other_assignment",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("student", "expected"),
    [
        ("honest", FULL),
        ("delete_tests", FULL),  # the deleted tests are put back and pass
        ("read_hidden", FULL),  # read nothing, gained nothing
        ("write_outside", FULL),
        ("network", FULL),
        ("huge_output", FULL),
        ("memory", FULL),  # its own cell failed with MemoryError; the rest ran
        ("edit_tests", FULL - 4),  # the emptied test cell is restored and fails
        ("clear_metadata", FULL - 3),  # the metadata is restored, the test fails
        ("grade_ids", FULL - 4),  # no bonus: the renamed test is restored and fails
        ("always_equal", FULL - 4),
        ("patch_helpers", FULL - 4),  # flagged; its own cell failed, so question 3 did
        ("exit", 2.0),  # question 1's test ran before the kernel died
        ("loop", 2.0),  # the same, then the cell timed out
        ("fork", 2.0),  # the fork bomb comes after question 1's test, and times out
        ("invalid_json", 0.0),
        ("other_assignment", 0.0),
    ],
)
def test_the_score(graded, student, expected):
    _, results, *_ = graded
    result = results[student]
    assert result.score == pytest.approx(expected), (result.status, result.reason, auto(result))
    assert result.max_score == 16.0


@pytest.mark.parametrize(
    ("student", "status", "words"),
    [
        ("loop", "timeout", "q2_solution"),
        ("fork", "timeout", ""),
        ("exit", "kernel_died", "q2_solution"),
        ("invalid_json", "unreadable", "invalid JSON"),
        ("other_assignment", "unreadable", "another assignment"),
        ("patch_helpers", "flagged", "rebinds a test helper: `checks.check_close"),
    ],
)
def test_a_clear_reason(graded, student, status, words):
    _, results, *_ = graded
    result = results[student]
    assert result.status == status
    assert words in result.reason


def test_cells_that_never_ran_say_so(graded):
    _, results, *_ = graded
    for student in ("exit", "loop"):
        scores = results[student].scores[ASSIGNMENT]
        assert scores["q1_tests"].score == 2.0
        assert all(
            scores[g].score == 0 and "did not run" in scores[g].reason
            for g in ("q2_tests", "q3_tests", "q4_tests")
        )


def test_repairs_are_reported(graded):
    _, results, *_ = graded
    assert any("deleted" in r for r in results["delete_tests"].repairs)
    assert any("test cell was edited" in r for r in results["edit_tests"].repairs)
    assert any("metadata" in r for r in results["clear_metadata"].repairs)
    assert any("metadata" in r or "grading id" in r for r in results["grade_ids"].repairs)


def test_nothing_of_the_course_was_readable_or_changed(graded):
    course, results, before, after = graded
    assert before == after
    hidden = [
        line.strip()
        for line in (course / "source" / ASSIGNMENT / NAME).read_text().splitlines()
        if "check" in line and "reveal=False" in line
    ]
    assert hidden
    attack = next(
        c
        for c in results["read_hidden"].executed[ASSIGNMENT]["cells"]
        if "found = []" in c["source"]
    )
    seen = json.dumps(attack["outputs"])
    assert "Error" in seen  # it tried, and was refused
    assert SECRET not in seen and not any(h in seen for h in hidden)
    written = outputs_of(results["write_outside"], "hacked")
    assert "refused" in written and "wrote /" not in written.replace("wrote /tmp", "")
    online = outputs_of(results["network"], "socket")
    assert "no network" in online and "connected" not in online


def outputs_of(result, marker: str) -> str:
    """The outputs of the student's attack cell (the one whose source holds ``marker``)."""
    cells = result.executed[ASSIGNMENT]["cells"]
    return json.dumps(next(c for c in cells if marker in c["source"])["outputs"])


def test_earlier_grades_are_kept_and_the_gradebook_matches(graded, tmp_path):
    course, results, *_ = graded
    with Gradebook(gradebook_url(course)) as gb:
        grade = gb.find_grade("q5_answer", ASSIGNMENT, ASSIGNMENT, "honest")
        assert grade.manual_score == 2.5
        honest = gb.find_submission(ASSIGNMENT, "honest")
        assert honest.score == pytest.approx(FULL + 2.5)
        for student, result in results.items():
            assert gb.find_submission(ASSIGNMENT, student).score >= result.score
    table = export_csv(course, tmp_path / "grades.csv", ASSIGNMENT).read_text()
    assert "honest,data-and-metrics,15.5,16.0" in table


def test_feedback_redacts_hidden_tests(graded):
    course, results, *_ = graded
    page = (course / "feedback" / "edit_tests" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "hidden tests also ran here" in page
    assert SECRET not in page and "reveal=False" not in page
    assert "test cell was edited" in page
    graded_nb = nbformat.read(course / "autograded" / "honest" / ASSIGNMENT / NAME, 4)
    assert cell(graded_nb, "q1_tests").outputs is not None
