"""Code similarity between the submissions of an nbgrader assignment: evidence for a person.

Two submissions whose answers are the same program under other names are worth a look by
the instructor; they are **never** a penalty by themselves. Short answers to a closely
specified question converge, students may work together where that is allowed, and every
student starts from the same starter code. This package only finds pairs to review and shows
their code side by side.

How two answers are compared, cell by cell (the solution cells of the notebook):

1. **Normalise** (:func:`normalise`). The cell is parsed with :mod:`ast` (a cell that does
   not parse falls back to :mod:`tokenize` tokens). Docstrings, comments, other bare string
   statements, type annotations and layout disappear; every name the student defines
   (functions, arguments, variables) becomes a placeholder numbered in order of first
   appearance: ``g0, g1, ...`` for the cell's top-level names, ``v0, v1, ...`` for the names
   inside each top-level statement, numbered afresh in each, so a function's form does not
   depend on what comes before it. Attribute names, keyword-argument names, builtins,
   imported names and names defined in other cells stay, and so do the names the starter
   code defines (the functions the tests call). Top-level functions are sorted by their
   normalised form, so reordering them changes nothing. What the released starter code
   already contained (its docstrings, ``raise NotImplementedError()``, the statements it
   gave) is removed, and a starter function the student added nothing to disappears.
2. **Fingerprint** (:func:`fingerprints`). The normalised token stream is cut into
   overlapping runs of :data:`K` tokens, each run hashed to 64 bits, and winnowed: of every
   :data:`WINDOW` consecutive hashes the smallest is kept (Schleimer, Wilkerson & Aiken 2003,
   the method of MOSS). Any shared run of ``K + WINDOW - 1`` tokens or more is found. The
   hashes of every run of the starter code are then removed, so that the starter code alone
   never makes two students similar.
3. **Score.** A cell's score is the Jaccard index of the two fingerprint sets,
   ``|A & B| / |A | B|``, from 0 (nothing in common) to 1 (the same code after
   normalisation). A pair's score is the mean of its cell scores weighted by the size of
   each cell's union, which is the Jaccard index of all the cells' fingerprints together:
   ``sum_c |A_c & B_c| / sum_c |A_c | B_c|``. Long answers weigh more than short ones, and
   a cell that both students left empty (or as the starter) weighs nothing.

Comparing every pair of a class of ``n`` students costs ``n (n - 1) / 2`` comparisons; an
inverted index of the rarest fingerprints of each student (prefix filtering, Bayardo,
Ma & Srikant 2007) finds the only pairs that can reach the threshold, and only those are
compared. 200 submissions take about a second.

Modules, one step each: :mod:`.cells` (the solution cells), :mod:`.syntax` and :mod:`.tokens`
(normalising), :mod:`.winnowing` (fingerprints), :mod:`.pairs` (comparing), :mod:`.report`
(the HTML report) and :mod:`.course` (one assignment of a course folder).
"""

from medai_edu.grading.similarity.cells import solution_cells
from medai_edu.grading.similarity.course import course_report
from medai_edu.grading.similarity.pairs import CellMatch, PairReport, Skipped, compare
from medai_edu.grading.similarity.report import write_report
from medai_edu.grading.similarity.tokens import normalise
from medai_edu.grading.similarity.winnowing import WINDOW, K, fingerprints, jaccard

__all__ = [
    # normalising and fingerprints
    "K",
    "WINDOW",
    "fingerprints",
    "jaccard",
    "normalise",
    "solution_cells",
    # comparing and reporting
    "CellMatch",
    "PairReport",
    "Skipped",
    "compare",
    "course_report",
    "write_report",
]
