"""Each assignment's own solution, submitted, earns every automatic point through
``medai-edu grade``: sealing a test cell (expected values and what only fed them removed)
leaves the inputs it draws, random ones included, as the reference run drew them."""

from __future__ import annotations

import shutil

import pytest

from medai_edu.grading.autograde import grade_assignment

from .conftest import ROOT, copy_course

pytestmark = pytest.mark.slow

ASSIGNMENTS = sorted(p.name for p in (ROOT / "autograder" / "source").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_earns_every_automatic_point(tmp_path, assignment):
    course = copy_course(tmp_path / "course", assignment)
    name = f"{assignment}.ipynb"
    folder = course / "submitted" / "solution" / assignment
    folder.mkdir(parents=True)
    shutil.copy(course / "source" / assignment / name, folder / name)
    [result] = grade_assignment(course, assignment, jobs=1, progress=False)
    assert result.status == "ok", (result.reason, result.flags)
    scores = result.scores[assignment]
    tests = {gid: cell for gid, cell in scores.items() if gid.startswith("q") and "test" in gid}
    assert tests and all(c.score == c.max_score for c in tests.values()), {
        gid: (c.score, c.reason) for gid, c in tests.items()
    }
