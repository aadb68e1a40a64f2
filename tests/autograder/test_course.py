"""The nbgrader course in autograder/: it releases, validates and grades as an instructor
expects, with the configuration in autograder/nbgrader_config.py.

Everything runs in a throw-away copy of the course (nbgrader writes release/, submitted/,
autograded/ and gradebook.db into the course folder).
"""

import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.apps import NbGraderAPI
from nbgrader.validator import Validator
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "autograder"
ASSIGNMENTS = sorted(p.parent.name for p in (COURSE / "source").glob("*/*.ipynb"))
SAMPLES = COURSE / "samples" / "data-and-metrics"
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
GENERATED = ("release", "submitted", "autograded", "feedback", "gradebook.db", "samples")

# The expected grades of the sample submissions (autograder/samples/README.md).
EXPECTED_SCORES = {
    "alice": {"q1_tests": 2, "q2_tests": 4, "q3_tests": 4, "q4_tests": 3},
    "bob": {"q1_tests": 2, "q2_tests": 2, "q3_tests": 4, "q4_tests": 0},
    "carol": {"q1_tests": 0, "q2_tests": 0, "q3_tests": 0, "q4_tests": 0},
}


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def course_api(root: Path) -> NbGraderAPI:
    """nbgrader's Python API configured by the course's own nbgrader_config.py."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    api = NbGraderAPI(config=config)
    assert api.coursedir.root == str(root)  # the config file found its own folder
    assert api.coursedir.course_id == "medai-edu"
    return api


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course with every assignment released (nbgrader generate_assignment)."""
    root = tmp_path_factory.mktemp("course") / "autograder"
    shutil.copytree(COURSE, root, ignore=shutil.ignore_patterns(*GENERATED))
    with pytest.MonkeyPatch.context() as mp:
        # nbgrader runs `alembic` (from the virtual environment) when it opens the gradebook
        mp.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        mp.setenv("OMP_NUM_THREADS", "1")
        api = course_api(root)
        results = {name: api.generate_assignment(name) for name in ASSIGNMENTS}
        yield root, api, results


def test_there_are_the_four_course_parts_and_the_foundations():
    assert set(ASSIGNMENTS) >= {
        "breast-mri-fusion",
        "slide-tiles-and-search",
        "medical-gpt",
        "explanation-metrics",
        "data-and-metrics",
    }


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_generate_assignment_releases_no_solutions_and_no_hidden_tests(course, name):
    root, _, results = course
    assert results[name]["success"], results[name].get("error") or results[name].get("log")
    source = nbformat.read(COURSE / "source" / name / f"{name}.ipynb", as_version=4)
    released = nbformat.read(root / "release" / name / f"{name}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in released.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "END HIDDEN"):
        assert marker not in text
    for cell in source.cells:
        for region in SOLUTION.findall(cell.source) + HIDDEN.findall(cell.source):
            assert region.strip() and region.strip() not in text, grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            # a model answer in the source is replaced by the stub
            mine = next(c for c in released.cells if grade_id(c) == meta["grade_id"])
            assert mine.source == "YOUR ANSWER HERE"
    solutions = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert all(
        "raise NotImplementedError()" in c.source for c in solutions if c.cell_type == "code"
    )
    assert [grade_id(c) for c in released.cells] == [grade_id(c) for c in source.cells]
    assert all(not c.get("outputs") for c in released.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_assignment_tells_students_how_to_check_their_work(course, name):
    root, _, _ = course
    for folder in ("source", "release"):
        nb = nbformat.read(root / folder / name / f"{name}.ipynb", as_version=4)
        index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "how_to_check")
        cell = nb.cells[index]
        assert index <= 2 and cell.cell_type == "markdown"
        assert cell.metadata.nbgrader["locked"] and not cell.metadata.nbgrader["grade"]
        assert "**Validate**" in cell.source and "Assignment List" in cell.source
        assert f"`nbgrader validate {name}.ipynb`" in cell.source
        assert "hidden tests" in cell.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_partial_credit_never_exceeds_a_cells_points(name):
    """nbgrader refuses a partial grade above the cell's points (a ValueError at grading)."""
    nb = nbformat.read(COURSE / "source" / name / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        for points in re.findall(r"PartialCredit\(points=([0-9.]+)\)", cell.source):
            assert float(points) == cell.metadata.nbgrader["points"], grade_id(cell)


def validate(notebook: Path) -> dict:
    """nbgrader's validation of one notebook, as the JupyterLab Validate button runs it.

    Returns the Validator's result: {} when every test passes, else entries under "failed"
    (cells with an error or partial credit), "changed" (locked cells edited) or
    "type_changed" (cells whose type was changed).
    """
    return Validator().validate(str(notebook))


@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_validate_gives_each_sample_its_expected_outcome(course, student):
    root, _, _ = course
    folder = root / "validate" / student
    folder.mkdir(parents=True)
    notebook = shutil.copy(SAMPLES / student / "data-and-metrics.ipynb", folder)
    result = validate(Path(notebook))
    assert not result.get("changed") and not result.get("type_changed"), result
    failed = result.get("failed", [])
    if student == "alice":
        assert result == {}
        return
    assert failed
    if student == "bob":  # the partial-credit cell and question 4
        assert len(failed) == 2
        assert any("Partial credit" in cell["raw_error"] for cell in failed)
        assert any("threshold_for_sensitivity" in cell["source"] for cell in failed)
    else:  # carol: every test cell, and the written answer left as it was released
        errors = ANSI.sub("", "\n".join(cell["raw_error"] for cell in failed))
        assert "NameError: name 'class_balance' is not defined" in errors  # the SyntaxError
        assert "NotImplementedError" in errors and "You did not provide a response" in errors
        assert len(failed) == 5


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # inside nbgrader's autograde
def test_autograde_scores_the_samples_as_documented(course):
    """The hidden tests run at grading: the scores in autograder/samples/README.md."""
    root, api, _ = course
    for student in EXPECTED_SCORES:
        target = root / "submitted" / student / "data-and-metrics"
        target.mkdir(parents=True)
        shutil.copy(SAMPLES / student / "data-and-metrics.ipynb", target)
        result = api.autograde("data-and-metrics", student)
        assert result["success"], result.get("error") or result.get("log")
    with api.gradebook as gradebook:
        for student, expected in EXPECTED_SCORES.items():
            notebook = gradebook.find_submission_notebook(
                "data-and-metrics", "data-and-metrics", student
            )
            scores = {g.name: g.auto_score for g in notebook.grades if g.name in expected}
            assert scores == expected, student
            written = next(g for g in notebook.grades if g.name == "q5_answer")
            assert written.needs_manual_grade == (student != "carol"), student
