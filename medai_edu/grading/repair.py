"""Validate a submitted notebook and repair it against the assignment, recording every change.

What nbgrader's ``autograde`` does silently or not at all, done here explicitly, before a
submission is run:

* a file that is not a notebook (invalid JSON, another format) is **unreadable**: reported,
  graded 0, and the batch goes on;
* an older nbformat is upgraded to version 4;
* a notebook of **another assignment** (none of this one's graded cells) is refused;
* **locked and test cells** are restored from the assignment: deleted ones are put back
  where they belong (after the graded cell before them, as nbgrader's ``add_missing_cells``
  does), edited ones get their source back, and test cells get their **hidden tests** from
  the source version;
* **cleared or edited metadata**: a cell whose nbgrader metadata was removed or whose
  ``grade_id`` or points were changed gets the release version's metadata back (matched by
  the cell's id, which nbformat 4.5 keeps); a cell claiming the ``grade_id`` of a test cell
  it is not is demoted to an ordinary cell.

Every repair is described in words for the student's feedback. The reference notebooks are
the **release** version (metadata, checksums, locked cells) and the **source** version
(test cells with hidden tests); only the grader process reads them, never the sandbox.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

NBGRADER = "nbgrader"


class UnreadableSubmission(ValueError):
    """A submission that is not a notebook the grader can read; the message says why."""


@dataclass
class Repaired:
    """A submission ready to run, and what was done to it."""

    notebook: NotebookNode
    repairs: list[str] = field(default_factory=list)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get(NBGRADER, {}) or {}


def grade_id(cell) -> str | None:
    return _meta(cell).get("grade_id")


def is_test(cell) -> bool:
    """An autograded test cell: graded, code, not a solution."""
    meta = _meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def is_locked(cell) -> bool:
    meta = _meta(cell)
    return bool(meta.get("locked")) or is_test(cell)


def read_submission(raw: bytes | str, name: str = "the submission") -> NotebookNode:
    """Parse a submitted file as a version-4 notebook (older versions are upgraded)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UnreadableSubmission(f"{name} is not a notebook (invalid JSON: {err})") from err
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise UnreadableSubmission(f"{name} is JSON but not a Jupyter notebook")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several kinds for malformed notebooks
        raise UnreadableSubmission(f"{name} is not a readable notebook: {err}") from err
    return notebook


def _label(cell) -> str:
    return grade_id(cell) or cell.get("id", "?")


def _restore_metadata(submission: NotebookNode, release: NotebookNode, repairs: list[str]):
    """Give every cell whose id matches a release cell the release cell's nbgrader metadata."""
    by_id = {c.get("id"): c for c in release.cells if c.get("id") and _meta(c)}
    for cell in submission.cells:
        reference = by_id.get(cell.get("id"))
        if reference is None:
            continue
        if _meta(cell) != _meta(reference):
            what = "removed" if not _meta(cell) else "changed"
            repairs.append(f"cell {_label(reference)}: its grading metadata was {what}; restored")
            cell.setdefault("metadata", {})[NBGRADER] = copy.deepcopy(_meta(reference))
            if cell.cell_type != reference.cell_type:
                cell.cell_type = reference.cell_type


def _demote_impostors(submission: NotebookNode, release: NotebookNode, repairs: list[str]):
    """A cell carrying a release grade_id but not that cell's id loses its metadata: it
    would otherwise collect the points of a test it is not."""
    ids = {grade_id(c): c.get("id") for c in release.cells if grade_id(c)}
    seen = set()
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        own = ids.get(gid)
        if gid not in ids or gid in seen or (own and cell.get("id") and cell.get("id") != own):
            repairs.append(f"a cell claimed the grading id {gid!r}; it is graded as a plain cell")
            cell["metadata"].pop(NBGRADER, None)
            continue
        seen.add(gid)


def _restore_locked(submission, release, source, repairs):
    """Locked cells get their release source, test cells their source-version source
    (with hidden tests); missing ones are inserted after the graded cell before them."""
    hidden = {grade_id(c): c.source for c in source.cells if is_test(c) and grade_id(c)}
    present = {grade_id(c): i for i, c in enumerate(submission.cells) if grade_id(c)}
    previous = None
    for reference in release.cells:
        gid = grade_id(reference)
        if gid is None:
            continue
        wanted = hidden.get(gid, reference.source) if is_test(reference) else reference.source
        if gid in present:
            cell = submission.cells[present[gid]]
            if is_locked(reference):
                if cell.source != reference.source and not is_test(reference):
                    repairs.append(f"cell {gid}: a locked cell was edited; its text restored")
                elif is_test(reference) and cell.source != reference.source:
                    repairs.append(f"cell {gid}: a test cell was edited; the tests restored")
                cell.source = wanted
        elif is_locked(reference):
            cell = copy.deepcopy(reference)
            cell.source = wanted
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            at = present[previous] + 1 if previous in present else 0
            submission.cells.insert(at, cell)
            present = {grade_id(c): i for i, c in enumerate(submission.cells) if grade_id(c)}
            repairs.append(f"cell {gid}: it was deleted; put back")
        previous = gid if gid in present else previous


def _is_this_assignment(notebook: NotebookNode, release: NotebookNode) -> bool:
    """At least half of the release's cell ids, or of its locked texts, are there. Not the
    grade ids: assignments share names such as ``q1_tests``."""
    ids = {c.get("id") for c in release.cells if c.get("id")}
    texts = {c.source for c in release.cells if is_locked(c) and c.cell_type == "markdown"}
    have_ids = ids & {c.get("id") for c in notebook.cells}
    have_texts = texts & {c.source for c in notebook.cells}
    return 2 * len(have_ids) >= len(ids) > 0 or 2 * len(have_texts) >= len(texts) > 0


def repair(submission: NotebookNode, release: NotebookNode, source: NotebookNode) -> Repaired:
    """The submission with its locked and test cells and grading metadata restored.

    ``release``: the student version the student received (with checksums);
    ``source``: the instructor's version (with solutions and hidden tests).
    Raises :class:`UnreadableSubmission` for a notebook of another assignment.
    """
    notebook = copy.deepcopy(submission)
    repairs: list[str] = []
    if not _is_this_assignment(notebook, release):
        raise UnreadableSubmission(
            "this notebook is not this assignment's (it has few of its cells): is it the "
            "notebook of another assignment?"
        )
    _restore_metadata(notebook, release, repairs)
    _demote_impostors(notebook, release, repairs)
    _restore_locked(notebook, release, source, repairs)
    for cell in notebook.cells:  # what ran before is not evidence
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(notebook)
    return Repaired(notebook, repairs)


#: What no answer to this course's assignments needs, and what only a submission trying to
#: fool the tests does: rebinding the test helpers, Python's builtins, numpy's functions or
#: the modules themselves, or changing how IPython runs the next (test) cell.
TAMPERING = {
    r"\bchecks\s*\.\s*\w+\s*=(?!=)": "rebinds a test helper",
    r"\bsetattr\s*\(\s*(checks|_loader|np|numpy|torch|builtins)\b": "rebinds a test helper",
    r"\b__builtins__\b|\bimport\s+builtins\b|\bbuiltins\s*\.": "changes Python's builtins",
    r"\bsys\s*\.\s*modules\b": "replaces imported modules",
    r"\b(np|numpy)(\.\w+)+\s*=(?!=)": "rebinds a numpy function",
    # tensors are read with .detach().numpy() in the tests: torch's own methods must hold
    r"\btorch(\.\w+)+\s*=(?!=)": "rebinds a torch function",
    r"get_ipython\s*\(\s*\)\s*\.\s*(events|input_transformers|ast_transformers|run_cell)": (
        "changes how the notebook runs the test cells"
    ),
    r"\bsys\s*\.\s*(settrace|setprofile)\b": "traces the test cells",
}


def tampering(notebook: NotebookNode) -> list[str]:
    """Where a student's own code cells (not the restored locked ones) try to fool the
    tests: one line per finding, naming the cell and quoting the line."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or is_locked(cell):
            continue
        for number, line in enumerate(cell.source.splitlines(), start=1):
            code = line.split("#", 1)[0]
            for pattern, what in TAMPERING.items():
                if re.search(pattern, code):
                    found.append(f"cell {index + 1}, line {number}: {what}: `{line.strip()[:80]}`")
                    break
    return found
