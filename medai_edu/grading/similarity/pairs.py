"""Comparing the submissions of a class: the pairs whose fingerprints can reach the
threshold (prefix filtering), and their scores cell by cell."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from nbformat import NotebookNode

from medai_edu.grading.similarity.cells import solution_cells
from medai_edu.grading.similarity.tokens import normal_form
from medai_edu.grading.similarity.winnowing import jaccard, kgram_hashes, starter_hashes, winnow


@dataclass(frozen=True)
class CellMatch:
    """One solution cell of a pair of students.

    ``score``: the Jaccard index of the cell's fingerprints, in [0, 1].
    """

    grade_id: str
    source_a: str
    source_b: str
    score: float


@dataclass(frozen=True)
class PairReport:
    """Two students whose answers are alike, for a person to review.

    Attributes
    ----------
    student_a, student_b : str
        The two students, ``student_a < student_b``.
    score : float
        In [0, 1]: the Jaccard index of all their solution cells' fingerprints, which is
        the mean of the cell scores weighted by the size of each cell's union.
    cells : tuple of CellMatch
        Every solution cell, in the notebook's order, with both sources and its score.
    notebook : str
        The notebook's file name (set by :func:`course_report`; ``""`` from
        :func:`compare`).
    """

    student_a: str
    student_b: str
    score: float
    cells: tuple[CellMatch, ...]
    notebook: str = ""


@dataclass(frozen=True)
class Skipped:
    """A submission left out of the comparison, and why."""

    student: str
    notebook: str
    reason: str


def _candidates(sets: Mapping[str, frozenset], threshold: float) -> set[tuple[str, str]]:
    """The pairs whose Jaccard index may reach ``threshold`` (prefix filtering).

    Fingerprints are ordered from the rarest in the class to the commonest. Two sets
    with Jaccard index ``>= t`` share at least ``ceil(t * n)`` of the ``n`` fingerprints
    of either, so they share one among the first ``n - ceil(t * n) + 1`` of each: only
    those prefixes are indexed and probed. Common fingerprints (``np.asarray(v0)``),
    which would pair everyone with everyone, come last and are rarely looked at. The sets
    are visited from the smallest, so a probing set of size ``n`` only pairs with indexed
    ones of size ``>= t * n`` (a smaller one cannot reach ``t``).
    """
    frequency = Counter(x for s in sets.values() for x in s)
    index: dict[object, list[str]] = defaultdict(list)
    pairs: set[tuple[str, str]] = set()
    for student in sorted(sets, key=lambda s: (len(sets[s]), s)):
        items = sorted(sets[student], key=lambda x: (frequency[x], x))
        n = len(items)
        prefix = n - math.ceil(threshold * n - 1e-9) + 1 if threshold > 0 else n
        for item in items[:prefix]:
            for other in index[item]:
                if len(sets[other]) >= threshold * n - 1e-9:
                    pairs.add((other, student))
            index[item].append(student)
    return pairs


def _pair(a: str, b: str, cells: Mapping[str, Mapping[str, str]], prints) -> PairReport:
    a, b = sorted((a, b))
    total_a = frozenset((g, h) for g, hs in prints[a].items() for h in hs)
    total_b = frozenset((g, h) for g, hs in prints[b].items() for h in hs)
    matches = tuple(
        CellMatch(gid, cells[a][gid], cells[b][gid], jaccard(prints[a][gid], prints[b][gid]))
        for gid in cells[a]
    )
    return PairReport(a, b, jaccard(total_a, total_b), matches)


def _class_fingerprints(
    cells: Mapping[str, Mapping[str, str]], starters: Mapping[str, str]
) -> dict[str, dict[str, frozenset[int]]]:
    """Student -> grade id -> the cell's fingerprints, the starter's own discounted; each
    distinct cell is fingerprinted once (many cells are the starter, untouched)."""
    discounted = {gid: starter_hashes(code) for gid, code in starters.items()}
    cache: dict[tuple[str, str], frozenset[int]] = {}
    prints: dict[str, dict[str, frozenset[int]]] = {}
    for student, sources in cells.items():
        prints[student] = {}
        for gid, code in sources.items():
            if (gid, code) not in cache:
                form = normal_form(code, starters[gid])
                found = winnow(kgram_hashes(form.tokens)) - discounted[gid]
                cache[gid, code] = frozenset(found)
            prints[student][gid] = cache[gid, code]
    return prints


def compare(
    submissions: Mapping[str, NotebookNode],
    release: NotebookNode,
    threshold: float = 0.8,
) -> list[PairReport]:
    """The pairs of students whose solution cells are alike, most alike first.

    Parameters
    ----------
    submissions : mapping of str to NotebookNode
        Each student's notebook (one notebook of the assignment), by student id.
    release : NotebookNode
        The release version of that notebook: which cells are solution cells, and the
        starter code to discount.
    threshold : float, default 0.8
        In [0, 1]: pairs whose score is at least this are returned. 1 means the same code
        after normalisation (renamed, reordered, comments changed). Eight independent
        answers to data-and-metrics scored at most 0.1 with one another (see the tests).

    Returns
    -------
    list of PairReport
        The pairs with a score ``>= threshold`` and above 0, by decreasing score (then by
        names). A pair's score is the Jaccard index of all its solution cells' fingerprints
        (the cell scores' mean weighted by each cell's union size): see the module
        docstring.

    Notes
    -----
    Each notebook is normalised once (``n`` cells), and only the pairs that share one of
    their rarest fingerprints are compared (prefix filtering): 200 submissions, 19,900
    pairs, take about a second.
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], not {threshold}")
    starters = solution_cells(release, release)
    cells = {s: solution_cells(nb, release) for s, nb in submissions.items()}
    prints = _class_fingerprints(cells, starters)
    whole = {s: frozenset((g, h) for g, hs in p.items() for h in hs) for s, p in prints.items()}
    reports = []
    for a, b in _candidates(whole, threshold):
        shared = len(whole[a] & whole[b])
        score = shared / (len(whole[a]) + len(whole[b]) - shared) if shared else 0.0
        if shared and score >= threshold:
            reports.append(_pair(a, b, cells, prints))
    return sorted(reports, key=lambda r: (-r.score, r.student_a, r.student_b))
