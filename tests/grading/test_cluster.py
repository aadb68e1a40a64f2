"""Grading on a Dask cluster that was started elsewhere (``--scheduler ADDRESS``)."""

from __future__ import annotations

import shutil

import pytest
from distributed import LocalCluster
from nbgrader.api import Gradebook

from medai_edu.grading.autograde import grade_assignment
from medai_edu.grading.gradebook import gradebook_url

from .conftest import ROOT, copy_course

pytestmark = pytest.mark.slow
ASSIGNMENT = "data-and-metrics"


def test_grading_on_a_running_scheduler_records_every_submission(tmp_path):
    course = copy_course(tmp_path / "course", ASSIGNMENT)
    samples = ROOT / "autograder" / "samples" / ASSIGNMENT
    for student in ("alice", "bob"):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(samples / student / f"{ASSIGNMENT}.ipynb", folder)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        results = grade_assignment(
            course, ASSIGNMENT, scheduler=cluster.scheduler_address, progress=False
        )
    assert {r.student: r.score for r in results} == {"alice": 13.0, "bob": 8.0}
    with Gradebook(gradebook_url(course)) as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert scores == {"alice": 13.0, "bob": 8.0}
    assert (course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").exists()
