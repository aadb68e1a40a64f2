"""The student's feedback page: points, visible tests and hidden tests' results per question,
and never a line of a hidden test (built from SubmissionResult objects; nothing runs)."""

from __future__ import annotations

import html
import re

import nbformat
import pytest

from medai_edu.grading.autograde import CellScore, SubmissionResult
from medai_edu.grading.feedback import (
    HIDDEN_NOTE,
    REMOVED_NOTE,
    questions,
    redact,
    scrub,
    write_feedback,
)

NAME = "toy"
SECRET = "HIDDEN-SECRET-7f3a9c"  # only ever in hidden test code
VISIBLE_Q1 = 'from medai_edu.grading import checks\n\nassert answer(1) < 2 & 3, "small & <b>ok</b>"'
HIDDEN_Q1 = (
    f'### BEGIN HIDDEN TESTS\nassert answer(3) == "{SECRET}", "hidden case"\n### END HIDDEN TESTS'
)
VISIBLE_Q2 = "assert answer(2) == 2"
ANSI_RED, ANSI_END = "\x1b[31m", "\x1b[39m"


def meta(gid, points=None, solution=False, grade=False):
    nbgrader = {
        "grade": grade or points is not None,
        "grade_id": gid,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        nbgrader["points"] = points
    return {"nbgrader": nbgrader}


def release_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Toy assignment", metadata=meta("intro")),
        nbformat.v4.new_code_cell(
            "def answer(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
            metadata=meta("q1_solution", solution=True),
        ),
        nbformat.v4.new_code_cell(VISIBLE_Q1, metadata=meta("q1_tests", points=2)),
        nbformat.v4.new_code_cell(VISIBLE_Q2, metadata=meta("q2_tests", points=3)),
        nbformat.v4.new_markdown_cell(
            "YOUR ANSWER HERE", metadata=meta("q3_answer", points=1, solution=True)
        ),
    ]
    return nb


def error_output(ename, evalue, cell_lines, failing):
    """An ipykernel-style error whose traceback quotes the cell around ``failing``."""
    quoted = "\n".join(
        (f"{ANSI_RED}----> {n}{ANSI_END} " if n == failing else f"      {n} ") + line
        for n, line in enumerate(cell_lines, start=1)
    )
    return nbformat.v4.new_output(
        "error",
        ename=ename,
        evalue=evalue,
        traceback=[
            f"{ANSI_RED}---------------------------------------------------------------{ANSI_END}",
            f"{ANSI_RED}{ename}{ANSI_END}        Traceback (most recent call last)",
            f"Cell In[3], line {failing}\n{quoted}\n",
            f"{ANSI_RED}{ename}{ANSI_END}: {evalue}",
        ],
    )


def executed_notebook(fail_in_hidden=True, leak_later=False):
    """The release notebook as the grader ran it: q1's hidden tests (with SECRET) restored.
    ``fail_in_hidden``: q1 fails at its hidden assert (else at its visible one)."""
    nb = release_notebook()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = index + 1
    solution, q1, q2 = nb.cells[1], nb.cells[2], nb.cells[3]
    solution.source = "def answer(x):\n    return x"
    q1.source = f"{VISIBLE_Q1}\n{HIDDEN_Q1}"
    lines = q1.source.splitlines()
    failing = next(n for n, line in enumerate(lines, 1) if SECRET in line)
    if not fail_in_hidden:
        failing = next(n for n, line in enumerate(lines, 1) if line.startswith("assert answer(1)"))
    hidden_line = lines[next(n for n, line in enumerate(lines) if SECRET in line)]
    q1.outputs = [
        # a warning printed with the source line of its caller: the hidden line
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text=f"/tmp/ipykernel_1/123.py:5: UserWarning: careful\n  {hidden_line}\n",
        ),
        error_output(
            "AssertionError", "hidden case" if fail_in_hidden else "small", lines, failing
        ),
    ]
    if leak_later:  # a student cell that prints what it captured of the test cell
        spy = nbformat.v4.new_code_cell("print(captured)", execution_count=9)
        as_html = html.escape(hidden_line)
        spy.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text=f"got:\n{hidden_line}\nend\n"),
            nbformat.v4.new_output("display_data", data={"text/html": f"<pre>{as_html}</pre>"}),
        ]
        nb.cells.insert(4, spy)
    q2.outputs = []
    return nb


def result_for(executed, q1=None, **kwargs):
    q1 = q1 or CellScore(0.0, 2.0, "AssertionError: hidden case")
    return SubmissionResult(
        assignment="toy-assignment",
        student="chen",
        scores={
            NAME: {
                "q1_tests": q1,
                "q2_tests": CellScore(3.0, 3.0),
                "q3_answer": CellScore(None, 1.0),
            }
        },
        executed={NAME: dict(executed)} if executed is not None else {},
        **kwargs,
    )


def page_of(tmp_path, result, executed, release=True, redacted=True):
    rel = release_notebook()
    shown = redact(executed, rel) if redacted else executed
    paths = write_feedback(
        tmp_path / "feedback", result, {NAME: shown}, release={NAME: rel} if release else None
    )
    assert paths == [tmp_path / "feedback" / f"{NAME}.html"]
    return paths[0].read_text(encoding="utf-8")


def section(page, gid):
    match = re.search(rf'<section class="question"><h3 id="[^"]*{gid}">.*?</section>', page, re.S)
    assert match, gid
    return match.group(0)


def test_page_per_question(tmp_path):
    executed = executed_notebook()
    flags = ["rebinds checks.check_close <script>alert(1)</script>"]
    result = result_for(executed, flags=flags, status="tampering", reason="looked odd & bad")
    page = page_of(tmp_path, result, executed)

    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "<title>Feedback on toy-assignment (toy): chen</title>" in page
    assert page.count('<th scope="col">') == 5
    assert "https://" not in re.sub(r"/\*.*?\*/", "", page, flags=re.S)  # no CDN script
    assert "Score: 3 / 6" in page

    q1 = section(page, "q1_tests")
    assert "Points: <strong>0</strong> / 2" in q1
    # what the visible test checked: the release source, escaped, in a <pre>
    assert (
        "<pre><code>"
        + VISIBLE_Q1.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        in q1
    )
    assert "<b>ok</b>" not in page.split("<main>")[1].split("Your notebook")[0]
    # the visible test passed; the hidden one failed, with its message
    assert re.search(r"What the visible test checked.*Result: <span class=\"pass\">", q1, re.S)
    assert 'Result: <span class="fail">✗ failed: AssertionError: hidden case</span>' in q1

    q2 = section(page, "q2_tests")
    assert "Points: <strong>3</strong> / 3" in q2
    assert "This question has no hidden tests." in q2
    q3 = section(page, "q3_answer")
    assert "graded by your instructor" in q3 and "Points: <strong>to be graded by hand" in q3

    # the flags, escaped, and the run's status
    assert "What the grader flagged" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "looked odd &amp; bad (status: tampering)" in page

    # the notebook below: the visible tests and the note, the evalue, never the hidden code
    assert "hidden tests also ran here" in page and "hidden case" in page
    assert SECRET not in page and "BEGIN HIDDEN TESTS" not in page
    assert REMOVED_NOTE in page


def test_visible_failure_means_hidden_did_not_run(tmp_path):
    executed = executed_notebook(fail_in_hidden=False)
    result = result_for(executed, q1=CellScore(0.0, 2.0, "AssertionError: small"))
    q1 = section(page_of(tmp_path, result, executed), "q1_tests")
    assert '<span class="fail">✗ failed: AssertionError: small</span>' in q1
    assert '<span class="skip">– did not run: the cell stops at its first failure' in q1


def test_full_marks_pass_both(tmp_path):
    executed = executed_notebook()
    executed.cells[2].outputs = []
    (q1, q2, q3) = questions(
        result_for(executed, q1=CellScore(2.0, 2.0)), release={NAME: release_notebook()}
    )
    assert (q1.visible.kind, q1.hidden_result.kind, q1.hidden) == ("pass", "pass", True)
    assert (q2.hidden_result.kind, q2.hidden) == ("none", False)
    assert (q3.test, q3.visible.kind, q3.visible_source) == (False, "manual", None)
    assert q1.visible_source == VISIBLE_Q1


@pytest.mark.parametrize("release", [True, False])
def test_no_hidden_code_even_with_an_error_in_a_hidden_line(tmp_path, release):
    """The traceback of the hidden line's error, a warning quoting it, a student cell that
    prints it later (as text and as HTML): none reaches the page, with or without release=."""
    executed = executed_notebook(leak_later=True)
    reason = f'AssertionError: hidden case\n  assert answer(3) == "{SECRET}", "hidden case"'
    result = result_for(executed, q1=CellScore(0.0, 2.0, reason))
    page = page_of(tmp_path, result, executed, release=release)
    assert SECRET not in page and "BEGIN HIDDEN TESTS" not in page
    assert "hidden case" in page  # the evalue may show
    assert "got:" in page and "end" in page  # the rest of the student's output stays


def test_write_feedback_redacts_what_it_is_given_when_release_is_known(tmp_path):
    executed = executed_notebook(leak_later=True)
    page = page_of(tmp_path, result_for(executed), executed, redacted=False)
    assert SECRET not in page and "BEGIN HIDDEN TESTS" not in page


def test_redact():
    executed = executed_notebook(leak_later=True)
    redacted = redact(executed, release_notebook())
    q1 = redacted.cells[2]
    assert q1.source == f"{VISIBLE_Q1}\n{HIDDEN_NOTE}"
    assert [o.output_type for o in q1.outputs] == ["stream", "error"]
    assert q1.outputs[1].traceback == ["AssertionError: hidden case"]
    assert SECRET not in nbformat.writes(redacted)
    assert nbformat.writes(redact(redacted, release_notebook())) == nbformat.writes(redacted)
    # a student cell's own error keeps its traceback
    own = nbformat.v4.new_code_cell("1/0", execution_count=3)
    own.outputs = [error_output("ZeroDivisionError", "division by zero", ["1/0"], 1)]
    executed.cells[1:2] = [own]
    assert len(redact(executed, release_notebook()).cells[1].outputs[0].traceback) == 4


def test_a_stray_hidden_block_is_cut():
    executed = executed_notebook()
    stray = nbformat.v4.new_code_cell(f"x = 1\n{HIDDEN_Q1}\ny = 2")
    executed.cells.append(stray)
    source = redact(executed, release_notebook()).cells[-1].source
    assert SECRET not in source and source.startswith("x = 1") and source.endswith("y = 2")


def test_nothing_ran_page_and_old_call(tmp_path):
    result = SubmissionResult(
        "toy-assignment",
        "chen",
        status="missing",
        reason="toy.ipynb was not submitted",
        scores={NAME: {"q1_tests": CellScore(0.0, 2.0, "toy.ipynb was not submitted")}},
    )
    (path,) = write_feedback(tmp_path, result, {})
    page = path.read_text(encoding="utf-8")
    assert path.name == "feedback.html" and '<html lang="en">' in page and "<title>" in page
    assert "did not run: toy.ipynb was not submitted" in page
    assert "What the grader flagged" not in page


def test_scrub_keeps_visible_lines():
    hidden = {"class_balance(wdbc.y),"}
    visible = 'check(class_balance(wdbc.y), "dict")'
    text = f"warning\n  {visible}\n  class_balance(wdbc.y),\n"
    assert scrub(text, hidden, keep={visible}) == f"warning\n  {visible}\n{REMOVED_NOTE}\n"


def test_a_hidden_line_as_the_sealed_kernel_ran_it_is_removed_too():
    """The student's kernel ran the test cell sealed (one line per check, reformatted):
    a function of theirs that printed its caller's line printed that form."""
    from medai_edu.grading.verdict import seal

    executed = executed_notebook()
    q1 = executed.cells[2]
    q1.source = (
        f"{VISIBLE_Q1}\n### BEGIN HIDDEN TESTS\n"
        f"checks.check_equal(answer(3),\n    '{SECRET}', what='the hidden case')\n"
        "### END HIDDEN TESTS"
    )
    sealed_line = next(line for line in seal(q1.source).splitlines() if "answer(3)" in line)
    q1.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{sealed_line}\n")]
    redacted = redact(executed, release_notebook())
    text = nbformat.writes(redacted)
    assert sealed_line not in text and REMOVED_NOTE in text
