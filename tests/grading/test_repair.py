"""Repairing a submission against the assignment: every change is restored and reported."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from medai_edu.grading.repair import (
    UnreadableSubmission,
    grade_id,
    is_test,
    read_submission,
    repair,
)

from .conftest import copy_course

ASSIGNMENT = "breast-mri-fusion"


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("course") / "course", ASSIGNMENT)
    name = f"{ASSIGNMENT}.ipynb"
    release = nbformat.read(course / "release" / ASSIGNMENT / name, as_version=4)
    source = nbformat.read(course / "source" / ASSIGNMENT / name, as_version=4)
    return release, source


def graded_tests(nb):
    return [c for c in nb.cells if is_test(c)]


def test_an_untouched_submission_gets_its_hidden_tests_and_no_repairs(versions):
    release, source = versions
    fixed = repair(copy.deepcopy(release), release, source)
    assert fixed.repairs == []
    hidden = {grade_id(c): c.source for c in graded_tests(source)}
    assert {grade_id(c): c.source for c in graded_tests(fixed.notebook)} == hidden
    assert any("HIDDEN" in s for s in hidden.values())


def test_deleted_test_cells_are_put_back_in_place(versions):
    release, source = versions
    submission = copy.deepcopy(release)
    removed = [grade_id(c) for c in graded_tests(submission)][:2]
    submission.cells = [c for c in submission.cells if grade_id(c) not in removed]
    fixed = repair(submission, release, source)
    order = [grade_id(c) for c in fixed.notebook.cells if grade_id(c)]
    assert order == [grade_id(c) for c in release.cells if grade_id(c)]
    assert sum("deleted" in r for r in fixed.repairs) == 2


def test_edited_test_and_locked_cells_are_restored(versions):
    release, source = versions
    submission = copy.deepcopy(release)
    test = graded_tests(submission)[0]
    test.source = "pass  # all good"
    fixed = repair(submission, release, source)
    restored = next(c for c in fixed.notebook.cells if grade_id(c) == grade_id(test))
    assert restored.source == next(c.source for c in source.cells if grade_id(c) == grade_id(test))
    assert any("test cell was edited" in r for r in fixed.repairs)


def test_cleared_metadata_is_restored_and_impostors_demoted(versions):
    release, source = versions
    submission = copy.deepcopy(release)
    test = graded_tests(submission)[0]
    answer = next(c for c in submission.cells if c.metadata.get("nbgrader", {}).get("solution"))
    stolen = grade_id(test)
    test.metadata.pop("nbgrader")  # the test cell's metadata cleared
    impostor = nbformat.v4.new_code_cell("x = 1")
    impostor.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": stolen,
        "points": 100,
        "solution": False,
        "locked": True,
        "schema_version": 3,
    }
    submission.cells.insert(0, impostor)
    answer.metadata["nbgrader"]["points"] = 99
    fixed = repair(submission, release, source)
    owners = [c for c in fixed.notebook.cells if grade_id(c) == stolen]
    assert len(owners) == 1 and owners[0].get("id") == test.get("id")
    assert "nbgrader" not in fixed.notebook.cells[0].metadata
    points = {
        grade_id(c): c.metadata["nbgrader"].get("points")
        for c in fixed.notebook.cells
        if grade_id(c)
    }
    assert points == {
        grade_id(c): c.metadata["nbgrader"].get("points") for c in release.cells if grade_id(c)
    }
    assert len(fixed.repairs) >= 3


def test_outputs_of_the_submission_are_dropped(versions):
    release, source = versions
    submission = copy.deepcopy(release)
    test = graded_tests(submission)[0]
    test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="all tests passed")]
    test.execution_count = 3
    fixed = repair(submission, release, source)
    assert all(c.get("outputs", []) == [] for c in fixed.notebook.cells if c.cell_type == "code")


def test_unreadable_files_and_other_assignments_are_refused(versions):
    release, source = versions
    with pytest.raises(UnreadableSubmission, match="invalid JSON"):
        read_submission(b'{"cells": [', "hw.ipynb")
    with pytest.raises(UnreadableSubmission, match="not a Jupyter notebook"):
        read_submission(json.dumps({"hello": 1}), "hw.ipynb")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    with pytest.raises(UnreadableSubmission, match="another assignment"):
        repair(other, release, source)


def test_an_older_nbformat_is_upgraded(versions):
    release, source = versions
    old = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    text = nbformat.writes(nbformat.convert(old, 3), version=3)
    upgraded = read_submission(text, "old.ipynb")
    assert upgraded.nbformat == 4 and upgraded.cells[0].source == "x = 1"


def test_tampering_finds_rebound_helpers_builtins_numpy_and_torch():
    from nbformat.v4 import new_code_cell, new_notebook

    from medai_edu.grading.repair import tampering

    attacks = {
        "checks.check_close = lambda *a, **k: None": "rebinds a test helper",
        "import builtins; builtins.isinstance = lambda *a: True": "builtins",
        "np.testing.assert_allclose = print": "rebinds a numpy function",
        "torch.Tensor.numpy = lambda self: 0": "rebinds a torch function",
        "setattr(torch.Tensor, 'detach', None)": "rebinds a test helper",
    }
    honest = "y = torch.zeros(3)\nif torch.Tensor == type(y):\n    x = np.ones(2)  # np.x = 1"
    for line, what in attacks.items():
        found = tampering(new_notebook(cells=[new_code_cell(honest), new_code_cell(line)]))
        assert len(found) == 1 and found[0].startswith("cell 2, line 1") and what in found[0]
    assert tampering(new_notebook(cells=[new_code_cell(honest)])) == []
