"""The nbgrader assignments in autograder/source: well formed, solvable, and not free.

The source version (with solutions) must pass all of its tests; the student version (the
solutions replaced by ``raise NotImplementedError()`` and the hidden tests removed, as
nbgrader's generate_assignment does) must fail every autograded test cell.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "autograder" / "source").glob("*/*.ipynb"))
SOLUTION = re.compile(r"[ \t]*### BEGIN SOLUTION.*?### END SOLUTION[^\n]*", re.S)
HIDDEN = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*\n?", re.S)


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def student_version(nb):
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        meta = nbgrader(cell)
        if meta.get("solution") and cell.cell_type == "code":
            indent = re.match(r"[ \t]*", SOLUTION.search(cell.source).group()).group()
            stub = f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()"
            cell.source = SOLUTION.sub(lambda _m, s=stub: s, cell.source)
        if meta.get("grade") and cell.cell_type == "code":
            cell.source = HIDDEN.sub("", cell.source)
    return nb


def execute(nb, folder: Path):
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return nb


def failed(cell) -> bool:
    return any(o.output_type == "error" for o in cell.get("outputs", []))


@pytest.fixture(params=SOURCES, ids=[p.parent.name for p in SOURCES])
def source(request):
    return request.param


def test_there_is_an_assignment_per_course_part():
    names = {p.parent.name for p in SOURCES}
    parts = {"breast-mri-fusion", "slide-tiles-and-search", "medical-gpt", "explanation-metrics"}
    assert parts <= names


def test_metadata_is_nbgrader_ready(source):
    nb = nbformat.read(source, as_version=4)
    nbformat.validate(nb)
    cells = [c for c in nb.cells if nbgrader(c)]
    ids = [nbgrader(c)["grade_id"] for c in cells]
    assert len(ids) == len(set(ids)), "grade_id must be unique"
    graded = [c for c in cells if nbgrader(c).get("grade")]
    autograded = [c for c in graded if c.cell_type == "code"]
    manual = [c for c in graded if nbgrader(c).get("solution")]
    assert autograded and manual, "autograded tests and a written answer"
    assert all(nbgrader(c)["points"] > 0 for c in graded)
    assert any("BEGIN HIDDEN TESTS" in c.source for c in autograded)
    assert all(nbgrader(c)["locked"] for c in autograded)
    for cell in cells:
        if nbgrader(cell).get("solution") and cell.cell_type == "code":
            assert SOLUTION.search(cell.source), nbgrader(cell)["grade_id"]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_solutions_pass_every_test(source):
    nb = execute(nbformat.read(source, as_version=4), source.parent)
    broken = [nbgrader(c).get("grade_id") for c in nb.cells if failed(c)]
    assert not broken


def test_student_version_fails_every_test_and_hides_the_hidden(source):
    nb = student_version(nbformat.read(source, as_version=4))
    assert not any("HIDDEN" in c.source or "BEGIN SOLUTION" in c.source for c in nb.cells)
    nb = execute(nb, source.parent)
    autograded = [c for c in nb.cells if nbgrader(c).get("grade") and c.cell_type == "code"]
    passing = [nbgrader(c)["grade_id"] for c in autograded if not failed(c)]
    assert not passing, f"tests that pass with no answer give free points: {passing}"
