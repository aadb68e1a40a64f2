"""Feedback for a student: their graded notebook with the hidden tests taken out.

nbgrader's ``generate_feedback`` shows every test cell as it ran, hidden tests and their
expected values included. Here a test cell shows only what the student was given (the
release version's visible tests), and a failed test only its error message, never the
traceback (which would quote the hidden line that failed). A summary on top lists the
score of every graded cell, why a cell got nothing (an error, a timeout, a kernel that
died) and what the grader repaired in the submission.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path

import nbformat

from medai_edu.grading.repair import grade_id, is_test

HIDDEN_NOTE = "# (hidden tests also ran here; they are not shown)"


def redact(executed, release):
    """A copy of ``executed`` whose test cells show the release source and, for errors,
    only ``ErrorName: message``."""
    visible = {grade_id(c): c.source for c in release.cells if is_test(c)}
    notebook = copy.deepcopy(executed)
    for cell in notebook.cells:
        gid = grade_id(cell)
        if not is_test(cell) or gid not in visible:
            continue
        if cell.source != visible[gid]:
            cell.source = f"{visible[gid]}\n{HIDDEN_NOTE}"
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output = nbformat.v4.new_output(
                    "error", ename=output.ename, evalue=output.evalue, traceback=[]
                )
                output.traceback = [f"{output.ename}: {output.evalue}"]
            outputs.append(output)
        cell.outputs = outputs
    return notebook


def summary_html(result) -> str:
    """The table of scores, the repairs and the run's status, as HTML."""
    rows = []
    for notebook, cells in result.scores.items():
        for gid, cell in cells.items():
            score = "to be graded by hand" if cell.score is None else f"{cell.score:g}"
            rows.append(
                f"<tr><td>{html.escape(notebook)}</td><td>{html.escape(gid)}</td>"
                f"<td>{score}</td><td>{cell.max_score:g}</td>"
                f"<td>{html.escape(cell.reason)}</td></tr>"
            )
    repairs = "".join(f"<li>{html.escape(r)}</li>" for r in result.repairs) or "<li>none</li>"
    status = html.escape(result.reason) if result.status != "ok" else "ran to the end"
    return (
        f"<h1>{html.escape(result.assignment)}: {html.escape(result.student)}</h1>"
        f"<p><b>Score: {result.score:g} / {result.max_score:g}</b> (automatic part; "
        "answers graded by hand are added later)</p>"
        f"<p>How the notebook ran: {status}</p>"
        "<table border='1'><tr><th>notebook</th><th>cell</th><th>score</th><th>max</th>"
        f"<th>note</th></tr>{''.join(rows)}</table>"
        f"<p>What the grader repaired in your submission:</p><ul>{repairs}</ul>"
    )


def write_feedback(folder: Path, result, notebooks: dict) -> list[Path]:
    """``folder/<notebook>.html`` per graded notebook (``notebooks``: name -> redacted
    notebook), each starting with the summary."""
    from nbconvert import HTMLExporter

    folder.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="classic")
    paths = []
    for name, notebook in notebooks.items():
        body, _ = exporter.from_notebook_node(notebook)
        page = body.replace("<body>", f"<body>{summary_html(result)}", 1)
        path = folder / f"{name}.html"
        path.write_text(page, encoding="utf-8")
        paths.append(path)
    if not notebooks:  # nothing ran: the summary alone says why
        path = folder / "feedback.html"
        path.write_text(f"<html><body>{summary_html(result)}</body></html>", encoding="utf-8")
        paths.append(path)
    return paths
