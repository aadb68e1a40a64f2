"""``medai-edu grade``: nbgrader's autograde, sandboxed, in parallel, and hard to fool.

For each submission (``submitted/<student>/<assignment>/<notebook>.ipynb`` in the course):

1. **read and repair** it against the release and source versions (:mod:`.repair`);
2. **run** it in a sandbox holding only the notebook's declared files (:mod:`.sandbox`);
3. **score** each test cell with nbgrader's own rule (``nbgrader.utils.determine_grade``:
   an error or anything on stderr scores 0, a number as the cell's result is partial
   credit, otherwise full marks), except that a test cell that never ran (the kernel died
   or timed out before it) scores 0 with the reason;
4. the main process, the **one writer**, records the scores in the gradebook, writes the
   graded notebook to ``autograded/`` (atomically) and the student's feedback, with hidden
   tests redacted, to ``feedback/``.

Steps 1-3 are independent per submission and run in parallel on a Dask cluster: a local
one with ``jobs`` worker processes by default, or an existing one (``scheduler``), so that
a large class can be graded on many machines. A submission that crashes, loops or kills
its kernel is graded as such, with the reason; the batch goes on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from medai_edu.grading.repair import (
    UnreadableSubmission,
    grade_id,
    is_test,
    read_submission,
    tampering,
)
from medai_edu.grading.repair import repair as repair_notebook


@dataclass
class CellScore:
    score: float | None  # None: a person grades it
    max_score: float
    reason: str = ""


@dataclass
class SubmissionResult:
    """One student's graded assignment."""

    assignment: str
    student: str
    status: str = "ok"  # ok, timeout, kernel_died, output_limit, unreadable, missing, ...
    reason: str = ""
    scores: dict[str, dict[str, CellScore]] = field(default_factory=dict)  # notebook -> cells
    repairs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # attempts to fool the tests
    executed: dict = field(default_factory=dict)  # notebook -> executed notebook (JSON dict)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(c.score or 0.0 for cells in self.scores.values() for c in cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.max_score for cells in self.scores.values() for c in cells.values())


@dataclass
class Course:
    """An nbgrader course folder (``nbgrader_config.py`` beside ``source/``)."""

    root: Path

    def __post_init__(self):
        self.root = Path(self.root).resolve()

    def source(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def release(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def students(self, assignment: str) -> list[str]:
        folder = self.root / "submitted"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())

    def hidden_paths(self) -> list[Path]:
        """What a submission must never see: the course (solutions, hidden tests, the
        gradebook, other students), and the repository's history when it holds the course."""
        paths = [self.root]
        for parent in self.root.parents:
            if (parent / ".git").exists():
                paths.append(parent / ".git")
                break
        return paths


# --------------------------------------------------------------------------- one submission


def score_cells(executed, release) -> dict[str, CellScore]:
    """nbgrader's score for every graded cell of an executed notebook; a test cell that
    never ran scores 0."""
    from nbgrader.utils import determine_grade

    graded = {grade_id(c) for c in release.cells if grade_id(c)}
    scores = {}
    for cell in executed.cells:
        gid = grade_id(cell)
        if gid not in graded or not cell.metadata["nbgrader"].get("grade"):
            continue
        ran = cell.cell_type != "code" or cell.get("execution_count") is not None
        if is_test(cell) and not ran:
            points = float(cell.metadata["nbgrader"]["points"])
            scores[gid] = CellScore(0.0, points, "did not run (see how the notebook ran)")
            continue
        score, points = determine_grade(cell)
        reason = ""
        if is_test(cell) and score == 0:
            reason = next(
                (f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"),
                "wrote to stderr (nbgrader counts that as a failure)",
            )[:300]
        scores[gid] = CellScore(score, points, reason)
    return scores


def _zero_scores(release, reason: str) -> dict[str, CellScore]:
    return {
        grade_id(c): CellScore(
            0.0 if is_test(c) else None, float(c.metadata["nbgrader"]["points"]), reason
        )
        for c in release.cells
        if grade_id(c) and c.metadata["nbgrader"].get("grade")
    }


def _declared_files(release_folder: Path) -> dict[str, str]:
    """The assignment's files other than notebooks, as released to students."""
    return {
        str(p.relative_to(release_folder)): str(p)
        for p in release_folder.rglob("*")
        if p.is_file() and p.suffix != ".ipynb"
    }


def grade_submission(course_root: str, assignment: str, student: str, limits=None):
    """Read, repair, run and score one student's assignment (a worker's task; it writes
    nothing but temporary files). Never raises: a failure of the grader itself is graded
    as "grader_error" with its reason, and the instructor looks at it."""
    import time

    start = time.perf_counter()
    result = SubmissionResult(assignment, student)
    try:
        _grade(Course(course_root), result, limits)
    except Exception as err:  # the batch must go on; the reason goes to the instructor
        result.status, result.reason = "grader_error", f"{type(err).__name__}: {err}"
    result.seconds = time.perf_counter() - start
    return result


def _grade(course: Course, result: SubmissionResult, limits) -> None:
    from medai_edu.grading.sandbox import run_notebook

    assignment, student = result.assignment, result.student
    release_folder = course.release(assignment)
    for release_path in sorted(release_folder.glob("*.ipynb")):
        name = release_path.stem
        release = nbformat.read(release_path, as_version=4)
        source = nbformat.read(course.source(assignment) / release_path.name, as_version=4)
        submitted = course.submitted(student, assignment) / release_path.name
        if not submitted.exists():
            result.status, result.reason = "missing", f"{release_path.name} was not submitted"
            result.scores[name] = _zero_scores(release, result.reason)
            continue
        try:
            notebook = read_submission(submitted.read_bytes(), release_path.name)
            repaired = repair_notebook(notebook, release, source)
        except UnreadableSubmission as err:
            result.status, result.reason = "unreadable", str(err)
            result.scores[name] = _zero_scores(release, str(err))
            continue
        result.repairs += repaired.repairs
        flags = tampering(repaired.notebook)
        if flags:  # not run: its tests could not be trusted
            result.flags += flags
            result.status = "tampering"
            result.reason = (
                "the submission tries to change the grader's test helpers or Python itself "
                f"({flags[0]}): its autograded tests score 0 and your instructor will review it"
            )
            result.scores[name] = _zero_scores(release, result.reason)
            continue
        run = run_notebook(
            repaired.notebook,
            files=_declared_files(release_folder),
            limits=limits,
            hidden_paths=course.hidden_paths(),
        )
        if run.status != "ok":
            result.status, result.reason = run.status, run.reason
        executed = run.notebook if run.notebook is not None else repaired.notebook
        result.scores[name] = score_cells(executed, release)
        result.executed[name] = dict(executed)


# --------------------------------------------------------------------------- the batch


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)


def save_result(course: Course, result: SubmissionResult) -> None:
    """The one writer: gradebook, graded notebooks, feedback."""
    from medai_edu.grading.feedback import redact, write_feedback
    from medai_edu.grading.gradebook import record

    stamp = course.submitted(result.student, result.assignment) / "timestamp.txt"
    timestamp = stamp.read_text().strip() if stamp.exists() else None
    record(course.root, result, timestamp)
    graded = course.root / "autograded" / result.student / result.assignment
    redacted = {}
    for name, executed in result.executed.items():
        notebook = nbformat.from_dict(executed)
        _write_atomically(graded / f"{name}.ipynb", nbformat.writes(notebook))
        release = nbformat.read(course.release(result.assignment) / f"{name}.ipynb", 4)
        redacted[name] = redact(notebook, release)
    feedback = course.root / "feedback" / result.student / result.assignment
    shutil.rmtree(feedback, ignore_errors=True)
    write_feedback(feedback, result, redacted)


def _client(jobs: int, scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(
        n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster), cluster


def grade_assignment(
    course_root,
    assignment: str,
    students: list[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    limits=None,
    progress: bool = True,
) -> list[SubmissionResult]:
    """Grade every submission of ``assignment`` (or those of ``students``) and record them.

    ``jobs``: worker processes of the local Dask cluster (default: the number of cores;
    1 grades in this process); ``scheduler``: the address of an existing Dask scheduler
    instead (``tcp://host:8786``), whose workers must see the course folder at the same
    path. Returns the results in the order they finished.
    """
    from medai_edu.grading.gradebook import check_assignment

    course = Course(course_root)
    check_assignment(course.root, assignment)
    students = students or course.students(assignment)
    jobs = jobs or os.cpu_count() or 1
    bar = tqdm(total=len(students), desc=f"grading {assignment}", disable=not progress)
    results = []

    def finish(result):
        save_result(course, result)
        results.append(result)
        bar.update(1)
        bar.set_postfix_str(f"{result.student}: {result.score:g}/{result.max_score:g}")

    if jobs == 1 and not scheduler:
        for student in students:
            finish(grade_submission(str(course.root), assignment, student, limits))
    else:
        from distributed import as_completed

        client, cluster = _client(jobs, scheduler)
        try:
            futures = [
                client.submit(grade_submission, str(course.root), assignment, s, limits, pure=False)
                for s in students
            ]
            for future in as_completed(futures):
                finish(future.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    bar.close()
    return results
