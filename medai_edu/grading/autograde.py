"""``medai-edu grade``: nbgrader's autograde, sandboxed, in parallel, and hard to fool.

Once per assignment, the instructor's source notebook runs in the sandbox and every check of
its test cells records what it expects (the **reference run**, :mod:`.verdict`). Then, for
each submission (``submitted/<student>/<assignment>/<notebook>.ipynb`` in the course):

1. **read and repair** it against the release and source versions (:mod:`.repair`); note
   what its own cells import beyond the assignment's rules (:mod:`.rules`) and what they
   try against the tests (:func:`.repair.tampering`): flags for the instructor;
2. **seal** its test cells (expected values removed) and **run** it in a sandbox holding
   only the notebook's declared files, without the assignment's reference modules
   (:mod:`.sandbox`);
3. **score** each test cell outside the kernel: the probes of the student's answers against
   the reference run's records (:func:`.verdict.judge_cell`), and nbgrader's own rule
   (``nbgrader.utils.determine_grade``: an error or anything on stderr scores 0), the lower
   of the two; a test cell that never ran scores 0 with the reason;
4. the main process, the **one writer**, records the scores in the gradebook, writes the
   graded notebook to ``autograded/`` (atomically) and the student's feedback, with hidden
   tests redacted, to ``feedback/``.

Steps 1-3 are independent per submission and run in parallel on a Dask cluster: a local
one with ``jobs`` worker processes by default, or an existing one (``scheduler``), so that
a large class can be graded on many machines. A submission that crashes, loops or kills
its kernel is graded as such, with the reason; the batch goes on.
"""

from __future__ import annotations

import copy
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
from medai_edu.grading.rules import AssignmentRules, forbidden_imports
from medai_edu.grading.verdict import SealError, decode, judge_cell, seal

#: Set in the reference run's kernel: the checks record what they expect.
RECORD_ENV = {"MEDAI_EDU_CHECKS": "record"}


class SolutionError(ValueError):
    """The instructor's source notebook does not pass its own tests (or cannot be sealed)."""


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
    status: str = "ok"  # ok, flagged, timeout, kernel_died, output_limit, unreadable, missing, ...
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


def score_cells(executed, release, records=None, probes=None, replies=None):
    """The score of every graded cell of an executed notebook, and the flags it raised.

    A test cell scores the lower of nbgrader's rule on its outputs and, when the reference
    run recorded checks for it (``records``: grade_id -> records), the judgement of the
    student's ``probes`` (cell index -> decoded probes) against them; a test cell that never
    ran scores 0. ``replies`` (cell index -> execute-reply status) name errors the kernel
    reported but did not show. Returns ``(scores, flags)``.
    """
    from nbgrader.utils import determine_grade

    records, probes, replies = records or {}, probes or {}, replies or {}
    graded = {grade_id(c) for c in release.cells if grade_id(c)}
    scores, flags = {}, []
    for index, cell in enumerate(executed.cells):
        gid = grade_id(cell)
        if gid not in graded or not cell.metadata["nbgrader"].get("grade"):
            continue
        ran = cell.cell_type != "code" or cell.get("execution_count") is not None
        points = float(cell.metadata["nbgrader"]["points"])
        if is_test(cell) and not ran:
            scores[gid] = CellScore(0.0, points, "did not run (see how the notebook ran)")
            continue
        score, points = determine_grade(cell)
        reason = ""
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if is_test(cell) and score == 0:
            reason = next(
                (f"{o.ename}: {o.evalue}" for o in errors),
                "wrote to stderr (nbgrader counts that as a failure)",
            )[:300]
        if is_test(cell) and replies.get(index) == "error" and not errors:
            score, reason = 0.0, "the cell raised an error that the notebook did not show"
            flags.append(f"{gid}: the kernel reported an error that was not shown (silenced)")
        if is_test(cell) and gid in records:
            got = probes.get(index, [])
            verdict = judge_cell(records[gid], got, points)
            if verdict.flag:
                flags.append(f"{gid}: {verdict.flag}")
            if len(got) < len(records[gid]) and not errors and replies.get(index) == "ok":
                flags.append(
                    f"{gid}: {len(got)} of {len(records[gid])} checks reported, yet the cell "
                    "showed no error (the test cell was changed or bypassed as it ran)"
                )
            if verdict.score < score:
                score, reason = verdict.score, verdict.reason[:300]
            elif verdict.reason and not reason:
                reason = verdict.reason[:300]
        scores[gid] = CellScore(score, points, reason)
    return scores, flags


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


def _sealed(notebook, for_reference: bool = False):
    """A copy of ``notebook`` whose test cells are sealed (:func:`.verdict.seal`)."""
    sealed = nbformat.from_dict(copy.deepcopy(dict(notebook)))
    for cell in sealed.cells:
        if is_test(cell) and cell.cell_type == "code":
            cell.source = seal(cell.source, for_reference)
    return sealed


def reference_records(course_root, assignment: str, limits=None) -> dict:
    """Run each source notebook of ``assignment`` (the instructor's solution) in the sandbox
    with the checks recording; returns notebook -> grade_id -> records. Raises
    :class:`SolutionError` when a solution fails its own tests or a test cannot be sealed."""
    from medai_edu.grading.sandbox import run_notebook

    course = Course(course_root)
    release_folder = course.release(assignment)
    found = {}
    for release_path in sorted(release_folder.glob("*.ipynb")):
        source = nbformat.read(course.source(assignment) / release_path.name, as_version=4)
        try:
            sealed = _sealed(source, for_reference=True)
        except SealError as err:
            raise SolutionError(f"{release_path.name}: {err}") from err
        run = run_notebook(
            sealed,
            files=_declared_files(release_folder),
            limits=limits,
            hidden_paths=course.hidden_paths(),
            env=RECORD_ENV,
        )
        if run.notebook is None or run.status != "ok":
            raise SolutionError(f"the solution of {release_path.name} did not run: {run.reason}")
        records = {}
        for index, cell in enumerate(run.notebook.cells):
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            if is_test(cell) and errors:
                raise SolutionError(
                    f"the solution of {release_path.name} fails its own test {grade_id(cell)}: "
                    f"{errors[0].ename}: {errors[0].evalue}"
                )
            if is_test(cell):
                records[grade_id(cell)] = decode(run.checks.get(index, []))
        found[release_path.stem] = records
    return found


def grade_submission(course_root: str, assignment: str, student: str, limits=None, reference=None):
    """Read, repair, run and score one student's assignment (a worker's task; it writes
    nothing but temporary files). ``reference``: :func:`reference_records` (computed here
    when not given). Never raises: a failure of the grader itself is graded as
    "grader_error" with its reason, and the instructor looks at it."""
    import time

    start = time.perf_counter()
    result = SubmissionResult(assignment, student)
    try:
        if reference is None:
            reference = reference_records(course_root, assignment, limits)
        _grade(Course(course_root), result, limits, reference)
    except Exception as err:  # the batch must go on; the reason goes to the instructor
        result.status, result.reason = "grader_error", f"{type(err).__name__}: {err}"
    result.seconds = time.perf_counter() - start
    return result


def _grade(course: Course, result: SubmissionResult, limits, reference: dict) -> None:
    from medai_edu.grading.sandbox import run_notebook

    assignment, student = result.assignment, result.student
    release_folder = course.release(assignment)
    for release_path in sorted(release_folder.glob("*.ipynb")):
        name = release_path.stem
        release = nbformat.read(release_path, as_version=4)
        source = nbformat.read(course.source(assignment) / release_path.name, as_version=4)
        rules = AssignmentRules.of(source)
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
        result.flags += [f"tampering: {flag}" for flag in tampering(repaired.notebook)]
        findings = forbidden_imports(repaired.notebook, rules) if rules else []
        result.flags += [f"import: {finding}" for finding in findings]
        run = run_notebook(
            _sealed(repaired.notebook),
            files=_declared_files(release_folder),
            limits=limits,
            hidden_paths=[*course.hidden_paths(), *(rules.hidden_files() if rules else [])],
            audit=True,
        )
        if run.status != "ok":
            result.status, result.reason = run.status, run.reason
        executed = run.notebook if run.notebook is not None else repaired.notebook
        _unseal(executed, repaired.notebook)
        probes = {index: decode(messages) for index, messages in run.checks.items()}
        if run.check_overflow:
            result.flags.append("the notebook published more check results than the tests make")
        scores, flags = score_cells(executed, release, reference.get(name), probes, run.replies)
        result.flags += flags
        result.flags += [f"audit: {finding}" for finding in _audit_findings(run.audit)]
        if rules and rules.on_forbidden_import == "zero":
            _zero_forbidden(scores, findings, release)
        result.scores[name] = scores
        result.executed[name] = dict(executed)
    if result.flags and result.status == "ok":
        result.status = "flagged"
        result.reason = (
            "the grader flagged this submission for your instructor to review: "
            + "; ".join(result.flags[:3])
        )[:600]


def _unseal(executed, original) -> None:
    """Put the test cells' own sources back (the graded notebook shows what was tested)."""
    sources = {grade_id(c): c.source for c in original.cells if is_test(c)}
    for cell in executed.cells:
        if is_test(cell) and grade_id(cell) in sources:
            cell.source = sources[grade_id(cell)]


def _audit_findings(audit: list[str]) -> list[str]:
    """What the audit found after the notebook that it did not find before it."""
    import json

    if len(audit) < 2:
        return ["the audit after the notebook did not report (the kernel was stopped)"]
    seen = []
    for text in (audit[0], audit[-1]):
        try:
            value = json.loads(text)
        except ValueError:
            value = []
        seen.append([str(v)[:200] for v in value] if isinstance(value, list) else [])
    before, after = seen
    return [finding for finding in after[:20] if finding not in before]


def _zero_forbidden(scores: dict, findings: list, release) -> None:
    """A question whose solution reaches the reference code scores 0, with the reason."""
    tests = [grade_id(c) for c in release.cells if is_test(c)]
    for finding in findings:
        if "reference code" not in finding.what:
            continue
        for gid in tests:
            if gid.split("_", 1)[0] == finding.question and gid in scores:
                cell = scores[gid]
                reason = f"0: your solution {finding.what} (not allowed in this assignment)"
                scores[gid] = CellScore(0.0, cell.max_score, reason)


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
    releases = {
        name: nbformat.read(course.release(result.assignment) / f"{name}.ipynb", 4)
        for name in result.scores
    }
    write_feedback(feedback, result, redacted, release=releases)


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
    reference = reference_records(course.root, assignment, limits)  # once: the solution's run
    bar = tqdm(total=len(students), desc=f"grading {assignment}", disable=not progress)
    results = []

    def finish(result):
        save_result(course, result)
        results.append(result)
        bar.update(1)
        bar.set_postfix_str(f"{result.student}: {result.score:g}/{result.max_score:g}")

    if jobs == 1 and not scheduler:
        for student in students:
            finish(grade_submission(str(course.root), assignment, student, limits, reference))
    else:
        from distributed import as_completed

        client, cluster = _client(jobs, scheduler)
        try:
            futures = [
                client.submit(
                    grade_submission,
                    str(course.root),
                    assignment,
                    s,
                    limits,
                    reference,
                    pure=False,
                )
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
