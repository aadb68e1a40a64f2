"""Feedback for a student: a page per graded notebook, with the hidden tests taken out.

nbgrader's ``generate_feedback`` shows every test cell as it ran, hidden tests and their
expected values included. Here each page (``<notebook>.html``, self-contained) starts with

* the score, how the notebook ran (its status) and what the grader flagged;
* per graded question (grade_id): the points got and the maximum, *what the visible test
  checked* (the release version's test cell, as the student was given it) and *the hidden
  tests' result* (passed, failed with the error message, or did not run) without their code;
* what the grader repaired in the submission;

and then shows the graded notebook, redacted (:func:`redact`): a test cell shows only the
release version's visible tests, a failed test only ``ErrorName: message`` (never the
traceback, which quotes the hidden line that failed), and any output line that quotes a
line of a hidden test (a warning printed with its source line, a student's function that
prints its caller's code) is replaced by a note.

What stays out of reach of any redaction: code the student wrote can read the hidden tests
while they run (they call it) and print them *encoded*; only a line quoted as it is can be
recognised. Hidden tests are secret from a student who reads their feedback, not from one
who attacks them (``medai-edu grade`` flags some such attempts).
"""

from __future__ import annotations

import copy
import difflib
import html
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from medai_edu.grading.repair import grade_id, is_test
from medai_edu.grading.verdict import SealError, seal

HIDDEN_NOTE = "# (hidden tests also ran here; they are not shown)"
REMOVED_NOTE = "[a line quoting a hidden test was removed]"
#: nbgrader's delimiters of hidden tests (``ClearHiddenTests`` defaults).
_HIDDEN_BLOCK = re.compile(
    r"^[ \t]*#+[ \t]*BEGIN HIDDEN TESTS.*?(?:^[ \t]*#+[ \t]*END HIDDEN TESTS[^\n]*(?:\n|\Z)|\Z)",
    re.MULTILINE | re.DOTALL,
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
#: A hidden line shorter than this (``)``, ``],``, ``else:``) says nothing and would match
#: too much; longer ones are looked for in every output.
_MIN_FRAGMENT = 8


# --------------------------------------------------------------------------- redaction


def _code_lines(source: str) -> list[str]:
    return source.splitlines()


def _hidden_line_numbers(executed_source: str, visible_source: str) -> set[int]:
    """1-based numbers of the lines of an executed test cell that are not in its release
    version: the hidden tests (and their delimiters)."""
    executed, visible = _code_lines(executed_source), _code_lines(visible_source)
    matcher = difflib.SequenceMatcher(None, visible, executed, autojunk=False)
    hidden = set()
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            hidden.update(range(j1 + 1, j2 + 1))
    return hidden


def _fragments(executed_source: str, visible_source: str) -> set[str]:
    """The hidden lines (stripped) worth looking for in outputs: long enough, and not also
    a visible line; also as the student's kernel ran them, sealed (medai_edu.grading.verdict),
    since that is the text a student's code could have seen."""
    found = _plain_fragments(executed_source, visible_source)
    try:
        found |= _plain_fragments(seal(executed_source), seal(visible_source))
    except SealError:
        pass
    return found


def _plain_fragments(executed_source: str, visible_source: str) -> set[str]:
    lines = _code_lines(executed_source)
    visible = {line.strip() for line in _code_lines(visible_source)}
    found = {lines[n - 1].strip() for n in _hidden_line_numbers(executed_source, visible_source)}
    found = {f for f in found if len(f) >= _MIN_FRAGMENT and f not in visible}
    return found | {"BEGIN HIDDEN TESTS", "END HIDDEN TESTS"}


def _visible_lines(sources) -> set[str]:
    return {line.strip() for source in sources for line in source.splitlines() if line.strip()}


def scrub(text: str, fragments, keep=frozenset()) -> str:
    """``text`` with every line that quotes one of ``fragments`` replaced by a note, except
    the lines that are, stripped, one of ``keep`` (visible test lines)."""
    if not fragments or not text:
        return text
    lines = text.splitlines(keepends=True)
    out = []
    for line in lines:
        plain = _ANSI.sub("", line)
        if any(f in plain for f in fragments) and plain.strip() not in keep:
            out.append(REMOVED_NOTE + ("\n" if line.endswith("\n") else ""))
        else:
            out.append(line)
    return "".join(out)


def _quotes(value, fragments) -> bool:
    if isinstance(value, list):
        value = "".join(str(v) for v in value)
    if not isinstance(value, str):
        value = str(value)
    plain = html.unescape(re.sub(r"<[^>]*>", "", _ANSI.sub("", value)))
    return any(f in value or f in plain for f in fragments)


def _scrub_output(output, fragments, keep):
    if output.output_type == "stream":
        text = output.text if isinstance(output.text, str) else "".join(output.text)
        output.text = scrub(text, fragments, keep)
        return output
    if output.output_type == "error":
        output.ename = scrub(str(output.ename), fragments, keep)
        output.evalue = scrub(str(output.evalue), fragments, keep)
        output.traceback = [scrub(str(entry), fragments, keep) for entry in output.traceback]
        return output
    data = output.get("data") or {}
    if any(_quotes(value, fragments) for value in data.values()):
        return nbformat.v4.new_output("stream", name="stdout", text=REMOVED_NOTE + "\n")
    return output


def redact(executed, release):
    """A copy of ``executed`` safe to show the student.

    A test cell shows its release source (with :data:`HIDDEN_NOTE` when hidden tests ran)
    and of an error only ``ErrorName: message`` (the traceback would quote the line that
    failed). In every cell an output line quoting a hidden test line is replaced by
    :data:`REMOVED_NOTE` (a student's own cells keep their tracebacks, scrubbed so). A
    hidden-tests block left in any other code cell is cut out. Redacting a redacted notebook
    again changes nothing."""
    visible = {grade_id(c): c.source for c in release.cells if is_test(c)}
    notebook = copy.deepcopy(executed)
    fragments: set[str] = set()
    keep = _visible_lines(visible.values())
    for cell in notebook.cells:
        gid = grade_id(cell)
        if gid in visible:
            shown = f"{visible[gid]}\n{HIDDEN_NOTE}"
            if cell.source not in (visible[gid], shown):
                fragments |= _fragments(cell.source, visible[gid])
                cell.source = shown
        elif cell.cell_type == "code" and _HIDDEN_BLOCK.search(cell.source):
            fragments |= {
                line.strip()
                for block in _HIDDEN_BLOCK.findall(cell.source)
                for line in block.splitlines()
                if len(line.strip()) >= _MIN_FRAGMENT
            }
            cell.source = _HIDDEN_BLOCK.sub(HIDDEN_NOTE + "\n", cell.source).rstrip("\n")
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        test = grade_id(cell) in visible
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "error" and test:  # no traceback: it quotes the tests
                output = nbformat.v4.new_output(
                    "error", ename=output.ename, evalue=output.evalue, traceback=[]
                )
                output.traceback = [f"{output.ename}: {output.evalue}"]
            outputs.append(_scrub_output(output, fragments, keep))
        cell.outputs = outputs
    return notebook


# --------------------------------------------------------------------------- per question


@dataclass
class Outcome:
    """What the page says about one part of a question's tests."""

    text: str
    kind: str  # pass, fail, skip (did not run), partial, none, manual, unknown


@dataclass
class QuestionFeedback:
    """One graded cell (grade_id) of one notebook, as the student's page shows it."""

    notebook: str
    grade_id: str
    score: float | None
    max_score: float
    reason: str
    test: bool  # an autograded test cell (else an answer graded by hand)
    visible_source: str | None  # the release version's test code; None: unknown
    hidden: bool | None  # whether hidden tests ran in this cell; None: unknown
    visible: Outcome
    hidden_result: Outcome


def _as_notebook(nb):
    if nb is None:
        return None
    return nb if isinstance(nb, nbformat.NotebookNode) else nbformat.from_dict(nb)


def _cells_by_id(nb) -> dict:
    if nb is None:
        return {}
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def _failing_line(cell) -> int | None:
    """The line of the test cell where it raised, from the error's traceback (the first
    frame with IPython's ``---->`` arrow is the cell itself); None when unknown."""
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        for entry in output.get("traceback", []):
            found = re.search(r"^-+>\s*(\d+)", _ANSI.sub("", str(entry)), re.MULTILINE)
            if found:
                return int(found.group(1))
    return None


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _outcomes(score, reason, hidden, executed_cell, visible_source):
    """(visible, hidden) outcomes of a test cell that did not get full marks."""
    because = f": {reason}" if reason else ""
    none = Outcome("none in this question", "none")
    if executed_cell is None or executed_cell.get("execution_count") is None:
        skipped = Outcome(f"did not run{because}", "skip")
        return skipped, (skipped if hidden is not False else none)
    if score and score > 0:  # partial credit: the cell's output says which parts failed
        partial = Outcome(f"partly passed (see the cell's output below){because}", "partial")
        return partial, (partial if hidden is not False else none)
    if hidden is False:
        return Outcome(f"failed{because}", "fail"), none
    line = _failing_line(executed_cell)
    if line is None or visible_source is None:
        failed = Outcome(f"not all passed{because}", "fail")
        return failed, failed
    lines = _code_lines(executed_cell.source)
    hidden_lines = _hidden_line_numbers(executed_cell.source, visible_source)
    hidden_code = [n for n in hidden_lines if n <= len(lines) and _is_code(lines[n - 1])]
    if line in hidden_lines:
        later_visible = any(
            _is_code(lines[n - 1]) for n in range(line + 1, len(lines) + 1) if n not in hidden_lines
        )
        visible = (
            Outcome("passed up to a hidden test that failed; the rest did not run", "partial")
            if later_visible
            else Outcome("passed", "pass")
        )
        return visible, Outcome(f"failed{because}", "fail")
    if hidden_code and all(n > line for n in hidden_code):
        return Outcome(f"failed{because}", "fail"), Outcome(
            "did not run: the cell stops at its first failure (fix the visible test first)",
            "skip",
        )
    failed = Outcome(f"not all passed{because}", "fail")
    return failed, failed


def _visible_sources(name: str, notebooks: dict, release: dict) -> dict[str, str]:
    """grade_id -> the visible code of each test cell of notebook ``name``: the release
    version's, else the redacted notebook's (less :data:`HIDDEN_NOTE`)."""
    if name in release:
        return {grade_id(c): c.source for c in _as_notebook(release[name]).cells if is_test(c)}
    shown = _as_notebook(notebooks.get(name))
    if shown is None:
        return {}
    note = f"\n{HIDDEN_NOTE}"
    return {
        grade_id(c): c.source[: -len(note)] if c.source.endswith(note) else c.source
        for c in shown.cells
        if is_test(c)
    }


def _result_fragments(result, notebooks: dict, release: dict) -> tuple[set[str], set[str]]:
    """The hidden lines of every notebook ``result`` ran, and the visible ones (for
    :func:`scrub`, on reasons)."""
    fragments: set[str] = set()
    keep: set[str] = set()
    for name, executed in result.executed.items():
        visible = _visible_sources(name, notebooks, release)
        keep |= _visible_lines(visible.values())
        for gid, cell in _cells_by_id(_as_notebook(executed)).items():
            if gid in visible and cell.source != visible[gid]:
                fragments |= _fragments(cell.source, visible[gid])
    return fragments, keep


def questions(result, notebooks: dict | None = None, release: dict | None = None):
    """What the page says about every graded cell of ``result`` (an
    ``autograde.SubmissionResult``), notebook by notebook.

    ``release`` (name -> release notebook) gives the visible test code; without it, the
    redacted ``notebooks`` do (their test cells show the release source). Whether hidden tests
    ran, and where a failing cell stopped, are read from ``result.executed`` (never shown);
    reasons are scrubbed of any line of a hidden test.
    """
    notebooks, release = notebooks or {}, release or {}
    fragments, keep = _result_fragments(result, notebooks, release)
    found = []
    for name, cells in result.scores.items():
        visible_sources = _visible_sources(name, notebooks, release)
        shown = _cells_by_id(_as_notebook(notebooks.get(name)))
        executed = _cells_by_id(_as_notebook(result.executed.get(name)))
        for gid, score in cells.items():
            reason = scrub(score.reason, fragments, keep)
            test = score.score is not None
            visible_source = visible_sources.get(gid)
            hidden = None
            if gid in executed and visible_source is not None:
                hidden = executed[gid].source.strip() != visible_source.strip()
            elif gid in shown:
                hidden = shown[gid].source.endswith(HIDDEN_NOTE)
            if not test:
                visible = hidden_result = Outcome("to be graded by hand", "manual")
            elif score.score >= score.max_score - 1e-9:
                visible = Outcome("passed", "pass")
                hidden_result = (
                    Outcome("none in this question", "none")
                    if hidden is False
                    else Outcome("passed", "pass")
                )
            else:
                visible, hidden_result = _outcomes(
                    score.score, reason, hidden, executed.get(gid), visible_source
                )
            found.append(
                QuestionFeedback(
                    name,
                    gid,
                    score.score,
                    score.max_score,
                    reason,
                    test,
                    visible_source if test else None,
                    hidden,
                    visible,
                    hidden_result,
                )
            )
    return found


# --------------------------------------------------------------------------- the page

_CSS = """
.feedback { font-family: system-ui, sans-serif; max-width: 60rem; margin: 1rem auto;
  padding: 0 1rem; line-height: 1.45; color: #1a1a1a; }
.feedback table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
.feedback caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
.feedback th, .feedback td { border: 1px solid #8a8a8a; padding: 0.3rem 0.5rem;
  text-align: left; vertical-align: top; }
.feedback thead th { background: #ececec; }
.feedback pre { background: #f5f5f5; border: 1px solid #c8c8c8; padding: 0.5rem;
  overflow-x: auto; white-space: pre-wrap; font-size: 0.9em; }
.feedback .pass { color: #0b6b1d; }
.feedback .fail { color: #a40e0e; }
.feedback .skip, .feedback .partial { color: #7a4a00; }
.feedback .flags { border: 2px solid #a40e0e; padding: 0.25rem 1rem; }
.feedback section.question { border-top: 1px solid #c8c8c8; margin-top: 1rem; }
"""

_MARK = {"pass": "✓ ", "fail": "✗ ", "skip": "– ", "partial": "◐ "}


def _points(value: float | None) -> str:
    return "to be graded by hand" if value is None else f"{value:g}"


def _outcome_html(outcome: Outcome) -> str:
    mark = _MARK.get(outcome.kind, "")
    return f'<span class="{outcome.kind}">{mark}{html.escape(outcome.text)}</span>'


def _anchor(q: QuestionFeedback) -> str:
    return "q-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{q.notebook}-{q.grade_id}")


def _question_html(q: QuestionFeedback) -> str:
    head = f'<h3 id="{_anchor(q)}">{html.escape(q.grade_id)}</h3>'
    points = f"<p>Points: <strong>{_points(q.score)}</strong> / {q.max_score:g}</p>"
    if not q.test:
        return (
            f'<section class="question">{head}{points}<p>This answer is graded by your '
            "instructor; the points are added later.</p></section>"
        )
    if q.visible_source is None:
        visible = "<p>(the test's code is not available)</p>"
    else:
        visible = f"<pre><code>{html.escape(q.visible_source)}</code></pre>"
    hidden = "<p>This question has no hidden tests.</p>" if q.hidden is False else ""
    if q.hidden is not False:
        hidden = (
            "<p>Hidden tests check more cases than the visible ones; their code is not "
            f"shown. Result: {_outcome_html(q.hidden_result)}</p>"
        )
    return (
        f'<section class="question">{head}{points}'
        f"<h4>What the visible test checked</h4>{visible}"
        f"<p>Result: {_outcome_html(q.visible)}</p>"
        f"<h4>Hidden tests</h4>{hidden}</section>"
    )


def _table_html(notebook: str, rows: list[QuestionFeedback]) -> str:
    body = "".join(
        "<tr>"
        f'<th scope="row"><a href="#{_anchor(q)}">{html.escape(q.grade_id)}</a></th>'
        f"<td>{_points(q.score)}</td><td>{q.max_score:g}</td>"
        f"<td>{_outcome_html(q.visible)}</td><td>{_outcome_html(q.hidden_result)}</td>"
        "</tr>"
        for q in rows
    )
    return (
        f"<table><caption>Scores in {html.escape(notebook)}</caption><thead><tr>"
        '<th scope="col">Question</th><th scope="col">Points</th>'
        '<th scope="col">Out of</th><th scope="col">Visible tests</th>'
        f'<th scope="col">Hidden tests</th></tr></thead><tbody>{body}</tbody></table>'
    )


def summary_html(result, notebooks: dict | None = None, release: dict | None = None) -> str:
    """The feedback above the notebook, as an HTML fragment: the score, how the notebook
    ran, what the grader flagged, a table and a section per graded question, the repairs.
    ``notebooks`` (redacted) and ``release`` as for :func:`questions`."""
    notebooks, release = notebooks or {}, release or {}
    found = questions(result, notebooks, release)
    fragments, keep = _result_fragments(result, notebooks, release)
    if result.status == "ok":
        status = "it ran to the end."
    else:
        why = scrub(result.reason, fragments, keep) or "no reason given"
        status = f"{html.escape(why)} (status: {html.escape(result.status)})"
    flags = ""
    if result.flags:
        items = "".join(f"<li>{html.escape(f)}</li>" for f in result.flags)
        flags = (
            '<section class="flags"><h2>What the grader flagged</h2>'
            f"<ul>{items}</ul><p>Your instructor reviews flagged submissions.</p></section>"
        )
    by_notebook: dict[str, list[QuestionFeedback]] = {}
    for q in found:
        by_notebook.setdefault(q.notebook, []).append(q)
    tables = "".join(_table_html(nb, rows) for nb, rows in by_notebook.items())
    sections = "".join(_question_html(q) for q in found)
    repairs = "".join(f"<li>{html.escape(r)}</li>" for r in result.repairs) or "<li>none</li>"
    return (
        '<div class="feedback">'
        f"<h1>{html.escape(result.assignment)}: {html.escape(result.student)}</h1>"
        f"<p><strong>Score: {result.score:g} / {result.max_score:g}</strong> (automatic "
        "part; answers graded by hand are added later)</p>"
        f"<p>How the notebook ran: {status}</p>"
        f"{flags}<h2>Questions</h2>{tables}{sections}"
        f"<h2>What the grader repaired in your submission</h2><ul>{repairs}</ul>"
        "</div>"
    )


def _title(result, notebook: str | None) -> str:
    what = f"{result.assignment} ({notebook})" if notebook else result.assignment
    return html.escape(f"Feedback on {what}: {result.student}")


_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)


def _self_contained(page: str) -> str:
    """nbconvert's page less what it loads from the network (jQuery, require.js, MathJax,
    mermaid from a CDN): the page works offline; formulas stay as TeX."""

    def keep(match):
        return "" if re.search(r"https?://", match.group(0)) else match.group(0)

    page = _EXTERNAL_SCRIPT.sub(keep, page)
    return re.sub(r"<link\b[^>]*href=[\"']https?://[^>]*>", "", page, flags=re.IGNORECASE)


def _standalone(result, summary: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_title(result, None)}</title><style>{_CSS}</style></head>"
        f"<body><main>{summary}</main></body></html>\n"
    )


def write_feedback(
    folder: Path, result, notebooks: dict, release: dict | None = None
) -> list[Path]:
    """``folder/<notebook>.html`` per graded notebook (``notebooks``: name -> notebook
    redacted with :func:`redact`), each starting with the summary; ``feedback.html`` alone
    when no notebook ran. ``release`` (name -> release notebook) gives the visible tests;
    when given, every notebook is redacted against it (again: nothing changes for one
    already redacted), so a page never shows hidden code."""
    from nbconvert import HTMLExporter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    release = {name: _as_notebook(nb) for name, nb in (release or {}).items()}
    notebooks = {
        name: redact(_as_notebook(nb), release[name]) if name in release else _as_notebook(nb)
        for name, nb in notebooks.items()
    }
    summary = summary_html(result, notebooks, release)
    exporter = HTMLExporter(template_name="classic")
    paths = []
    for name, notebook in notebooks.items():
        body, _ = exporter.from_notebook_node(notebook)
        page = _self_contained(body)
        page = re.sub(r"<html[^>]*>", '<html lang="en">', page, count=1)
        page = re.sub(
            r"<title>.*?</title>", f"<title>{_title(result, name)}</title>", page, count=1
        )
        page = page.replace("</head>", f"<style>{_CSS}</style></head>", 1)
        notebook_heading = '<h2 class="feedback">Your notebook, as graded</h2>'
        if "<main>" in page:
            page = page.replace("<main>", f"<main>{summary}{notebook_heading}", 1)
        else:
            page = page.replace("<body>", f"<body>{summary}{notebook_heading}", 1)
        path = folder / f"{name}.html"
        path.write_text(page, encoding="utf-8")
        paths.append(path)
    if not notebooks:  # nothing ran: the summary alone says why
        path = folder / "feedback.html"
        path.write_text(_standalone(result, summary), encoding="utf-8")
        paths.append(path)
    return paths
