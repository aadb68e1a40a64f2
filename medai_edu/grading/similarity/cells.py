"""The solution cells of a submission, by grade id: what the similarity check compares."""

from __future__ import annotations

from nbformat import NotebookNode

from medai_edu.grading.repair import (
    grade_id,
    is_test,
)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_solution_code(cell) -> bool:
    """A code cell where the student writes the answer (``solution`` in its metadata)."""
    return (
        cell.get("cell_type") == "code"
        and bool(_nbgrader(cell).get("solution"))
        and not is_test(cell)
    )


def _text(source) -> str:
    # nbformat joins a list of lines into one string; a hand-made notebook may not have
    return source if isinstance(source, str) else "".join(source or [])


def solution_cells(notebook: NotebookNode, release: NotebookNode) -> dict[str, str]:
    """The source of each solution code cell of a notebook, keyed by its ``grade_id``.

    Parameters
    ----------
    notebook : NotebookNode
        A student's notebook (or the release itself, to get the starter code).
    release : NotebookNode
        The release version of the assignment: it says which cells are solution cells.
        Only its solution code cells count, so a cell the student gave the ``grade_id`` of
        another cell, or a test cell, is not mistaken for an answer.

    Returns
    -------
    dict of str to str
        One entry per solution code cell of the release, in the release's order. A cell the
        student deleted is ``""``; a cell whose nbgrader metadata was cleared is still found
        by its cell id (nbformat 4.5). When two cells claim one ``grade_id``, the first
        counts.
    """
    wanted = [grade_id(c) for c in release.cells if _is_solution_code(c) and grade_id(c)]
    by_cell_id = {
        c.get("id"): grade_id(c) for c in release.cells if _is_solution_code(c) and c.get("id")
    }
    found: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.get("cell_type") != "code" or is_test(cell):
            continue
        gid = grade_id(cell) if _is_solution_code(cell) else None
        if gid is None:  # metadata removed: the release's cell with the same id
            gid = by_cell_id.get(cell.get("id"))
        if gid in wanted and gid not in found:
            found[gid] = _text(cell.get("source"))
    return {gid: found.get(gid, "") for gid in wanted}
