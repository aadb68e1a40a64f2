"""Code similarity between the submissions of an nbgrader assignment: evidence for a person.

Two submissions whose answers are the same program under other names are worth a look by
the instructor; they are **never** a penalty by themselves. Short answers to a closely
specified question converge, students may work together where that is allowed, and every
student starts from the same starter code. This module only finds pairs to review and shows
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
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import hashlib
import html
import io
import keyword
import math
import re
import tokenize
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from nbformat import NotebookNode

from medai_edu.grading.repair import (
    UnreadableSubmission,
    grade_id,
    is_test,
    read_submission,
)

#: Tokens per fingerprinted run (a k-gram): short enough to see a line, long enough that
#: ``x = np.asarray(x)`` alone is not a match.
K = 5
#: Winnowing window: of every ``WINDOW`` consecutive k-gram hashes the smallest is kept, so
#: about ``2 / (WINDOW + 1)`` of them; any shared run of ``K + WINDOW - 1`` tokens is found.
WINDOW = 4

_BUILTINS = frozenset(dir(builtins))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: IPython lines (``%timeit``, ``!pip``) are not Python; they are dropped before parsing.
_MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)


# ------------------------------------------------------------------------- the cells


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


# ------------------------------------------------------------------------- normalising


def _parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None when it is not Python (a typo, a half-written line)."""
    try:
        with warnings.catch_warnings():  # invalid escapes in student strings are not news
            warnings.simplefilter("ignore")
            return ast.parse(_MAGIC.sub("", source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_bare_string(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


class _Strip(ast.NodeTransformer):
    """Removes docstrings and other bare strings (comments in disguise) and annotations:
    none of them changes what the code does, and all are easy to change in a copy."""

    def generic_visit(self, node):
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list):
                setattr(node, name, [s for s in body if not _is_bare_string(s)])
        return node

    def visit_arg(self, node):
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.returns = None
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node):
        if node.value is None:  # `x: int` declares, does nothing
            return None
        return ast.copy_location(ast.Assign([node.target], node.value), node)


def _dump(node: ast.AST) -> str:
    # without line numbers: equal code in another place is still equal
    return ast.dump(node, include_attributes=False)


def _without(statements: list[ast.stmt], given: list[ast.stmt]) -> list[ast.stmt]:
    """The statements less one copy of each given one."""
    kinds = {type(s) for s in given}  # only those can be equal: dumping the rest is waste
    left = Counter(_dump(s) for s in given)
    kept = []
    for statement in statements:
        key = _dump(statement) if type(statement) in kinds else None
        if key is not None and left[key]:
            left[key] -= 1
        else:
            kept.append(statement)
    return kept


def _remove_starter(tree: ast.Module, starter: ast.Module) -> None:
    """Remove from the cell what the starter code already had: the starter's top-level
    statements, and in each function the starter defined, the statements of its body
    (``raise NotImplementedError()``). A starter function the student added nothing to is
    removed whole: it is not the student's code."""
    given = {s.name: s for s in starter.body if isinstance(s, _FUNCTIONS)}
    others = [s for s in starter.body if not isinstance(s, _FUNCTIONS)]
    body = []
    for statement in tree.body:
        reference = given.get(getattr(statement, "name", None))
        if isinstance(statement, _FUNCTIONS) and reference is not None:
            statement.body = _without(statement.body, reference.body)
            if not statement.body:
                continue
        body.append(statement)
    tree.body = _without(body, others)


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a scope, without those of the scopes nested in it; a nested scope's
    decorators and default values are the outer scope's (Python evaluates them there)."""
    if isinstance(scope, ast.Lambda):
        stack: list[ast.AST] = [scope.body]
    else:
        stack = list(scope.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend(node.bases + [k.value for k in node.keywords])
            else:
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d])
            continue
        stack.extend(ast.iter_child_nodes(node))


def _arguments(node: ast.AST) -> list[ast.arg]:
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return []
    a = node.args
    rest = [x for x in (a.vararg, a.kwarg) if x is not None]
    return a.posonlyargs + a.args + a.kwonlyargs + rest


def _bindings(scope: ast.AST) -> tuple[set[str], set[str]]:
    """(names the scope binds, names it imports). Names declared ``global`` or
    ``nonlocal`` belong to another scope and are left out."""
    bound = {a.arg for a in _arguments(scope)}
    imported: set[str] = set()
    declared: set[str] = set()
    for node in _own_nodes(scope):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, _SCOPES) and not isinstance(node, ast.Lambda):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    imported.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
    return bound - imported - declared, imported


@dataclass
class _Scope:
    bound: set[str]
    imported: set[str]
    is_module: bool
    names: dict[str, str] = field(default_factory=dict)


class _Rename(ast.NodeTransformer):
    """Renames the names the student defines to numbered placeholders, in order of first
    appearance: the cell's top-level names ``g0, g1, ...`` over the whole cell, the names
    inside each top-level statement ``v0, v1, ...`` afresh in each statement.

    ``keep``: names never renamed (those the starter code defines: the tests call them).
    ``opaque``: top-level names all written ``_`` (to sort functions by a form that does not
    depend on the order of the other functions).
    """

    def __init__(self, keep: frozenset[str] = frozenset(), opaque: frozenset[str] = frozenset()):
        self.keep, self.opaque = keep, opaque
        self.scopes: list[_Scope] = []
        self.top = 0
        self.local = 0

    # -- names
    def _new(self, scope: _Scope, name: str) -> str:
        if scope.is_module:
            if name in self.opaque:
                return "_"
            new, self.top = f"g{self.top}", self.top + 1
        else:
            new, self.local = f"v{self.local}", self.local + 1
        scope.names[name] = new
        return new

    def _rename(self, name: str) -> str:
        if name in self.keep:
            return name
        for scope in reversed(self.scopes):
            if name in scope.imported:
                return name
            if name in scope.bound:
                return scope.names.get(name) or self._new(scope, name)
        return name  # a builtin, or defined in another cell (np, wdbc): kept

    def _enter(self, node: ast.AST) -> None:
        bound, imported = _bindings(node)
        self.scopes.append(_Scope(bound, imported, isinstance(node, ast.Module)))

    # -- scopes
    def visit_Module(self, node):
        self._enter(node)
        body = []
        for statement in node.body:
            self.local = 0  # numbered afresh: a function's form is independent of its place
            body.append(self.visit(statement))
        node.body = body
        self.scopes.pop()
        return node

    def _visit_outer_parts(self, node) -> None:
        """Decorators and defaults run in the enclosing scope."""
        if not isinstance(node, ast.Lambda):
            node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [d and self.visit(d) for d in node.args.kw_defaults]

    def visit_FunctionDef(self, node):
        node.name = self._rename(node.name)
        self._visit_outer_parts(node)
        self._enter(node)
        for a in _arguments(node):
            a.arg = self._rename(a.arg)
        node.body = [self.visit(s) for s in node.body]
        self.scopes.pop()
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._visit_outer_parts(node)
        self._enter(node)
        for a in _arguments(node):
            a.arg = self._rename(a.arg)
        node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    def visit_ClassDef(self, node):
        node.name = self._rename(node.name)
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(b) for b in node.bases]
        node.keywords = [self.visit(k) for k in node.keywords]
        self._enter(node)
        node.body = [self.visit(s) for s in node.body]
        self.scopes.pop()
        return node

    # -- the places a name is written
    def visit_Name(self, node):
        node.id = self._rename(node.id)
        return node

    def visit_ExceptHandler(self, node):
        if node.name:
            node.name = self._rename(node.name)
        return self.generic_visit(node)

    def visit_Global(self, node):
        node.names = [self._rename(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global

    def visit_MatchAs(self, node):
        if node.name:
            node.name = self._rename(node.name)
        return self.generic_visit(node)

    visit_MatchStar = visit_MatchAs


def _top_level_names(tree: ast.Module) -> frozenset[str]:
    bound, _ = _bindings(tree)
    return frozenset(bound)


def _sort_functions(tree: ast.Module, keep: frozenset[str]) -> None:
    """Put the top-level functions, in the places functions have in the cell, in the order
    of their normalised form: a copy with its functions reordered reads the same. The
    form used writes the cell's other top-level names ``_``, so it does not depend on the
    order being decided."""
    places = [i for i, s in enumerate(tree.body) if isinstance(s, _FUNCTIONS)]
    if len(places) < 2:
        return
    opaque = _top_level_names(tree) - keep

    def key(function: ast.stmt) -> str:
        alone = ast.Module(body=[copy.deepcopy(function)], type_ignores=[])
        return ast.unparse(_Rename(keep, opaque).visit(alone))

    ordered = sorted((tree.body[i] for i in places), key=key)
    for i, function in zip(places, ordered, strict=True):
        tree.body[i] = function


def _names_defined(starter: ast.Module | None) -> frozenset[str]:
    return _top_level_names(starter) if starter is not None else frozenset()


def _ast_form(tree: ast.Module, starter: ast.Module | None, remove: bool = True) -> str:
    """Step 1 of the module docstring on a parsed cell; returns the normalised code.
    ``remove=False`` keeps the starter's statements (to normalise the starter itself)."""
    _Strip().visit(tree)
    keep = _names_defined(starter)
    if starter is not None and remove:
        _remove_starter(tree, starter)
    _sort_functions(tree, keep)
    return ast.unparse(_Rename(keep).visit(tree))


def _lex(source: str) -> list[tuple[int, str]]:
    """(token type, text) of the source, without comments and blank lines. Code that
    :mod:`tokenize` cannot read (an unclosed bracket or string) is split with a regular
    expression instead."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.INDENT:
                out.append((tok.type, "<indent>"))
            elif tok.type == tokenize.DEDENT:
                out.append((tok.type, "<dedent>"))
            elif tok.type == tokenize.NEWLINE:
                out.append((tok.type, "\n"))
            else:
                out.append((tok.type, tok.string))
    except (tokenize.TokenError, SyntaxError):
        text = re.sub(r"#[^\n]*", "", source)
        pattern = r"\n|[A-Za-z_]\w*|\d[\w.]*|\"[^\"\n]*\"?|'[^'\n]*'?|\S"
        out = [
            (tokenize.NAME if t[0].isalpha() or t[0] == "_" else tokenize.OP, t)
            for t in re.findall(pattern, text)
        ]
        out = [(tokenize.NEWLINE, t) if t == "\n" else (k, t) for k, t in out]
    return out


def _token_form(source: str, keep: frozenset[str]) -> list[str]:
    """The fallback for a cell that does not parse: its tokens, with every name renamed in
    order of first appearance except keywords, builtins, attributes (after a dot), the
    names of an import line and ``keep``; a string alone on a line (a docstring) dropped.
    No scopes and no reordering: there is no syntax tree to find them in."""
    lexed = _lex(_MAGIC.sub("", source))
    names: dict[str, str] = {}
    out: list[str] = []
    line: list[tuple[int, str]] = []
    for kind, text in [*lexed, (tokenize.NEWLINE, "\n")]:
        if kind != tokenize.NEWLINE:
            line.append((kind, text))
            continue
        words = [t for k, t in line if k not in (tokenize.INDENT, tokenize.DEDENT)]
        if len(words) == 1 and line[-1][0] == tokenize.STRING:
            line = [(k, t) for k, t in line if k != tokenize.STRING]  # a docstring
        importing = bool(words) and words[0] in ("import", "from")
        previous = ""
        for k, t in line:
            if (
                k == tokenize.NAME
                and not keyword.iskeyword(t)
                and t not in _BUILTINS
                and t not in keep
                and previous != "."
                and not importing
            ):
                t = names.setdefault(t, f"v{len(names)}")
            out.append(t)
            previous = t
        if line:
            out.append("\n")
        line = []
    return out


def _tokens(code: str) -> list[str]:
    return [t for _, t in _lex(code)]


@dataclass(frozen=True)
class _Form:
    text: str  # the normalised code, for a person to read
    tokens: tuple[str, ...]


@functools.lru_cache(maxsize=64)
def _starter_tree(starter: str) -> ast.Module | None:
    """The starter code's tree without docstrings; cached, as every student's cell is
    normalised against it, and only ever read."""
    tree = _parse(starter) if starter.strip() else None
    return _Strip().visit(tree) if tree is not None else None


def _normal_form(source: str, starter: str = "", remove: bool = True) -> _Form:
    starter_tree = _starter_tree(starter)
    tree = _parse(source)
    if tree is not None:
        try:
            text = _ast_form(tree, starter_tree, remove)
            return _Form(text, tuple(_tokens(text)))
        except RecursionError:  # absurdly deep code: the token form still compares
            pass
    tokens = _token_form(source, _names_defined(starter_tree))
    return _Form(" ".join(tokens).replace(" \n ", "\n").strip(), tuple(tokens))


def normalise(source: str, starter: str = "") -> str:
    """The normalised form of a cell's code, as the comparison sees it.

    Parameters
    ----------
    source : str
        The code of one cell.
    starter : str, default ""
        The release version of the same cell (the starter code). What it already contains
        is removed, and the names it defines are kept.

    Returns
    -------
    str
        Python code (``ast.unparse``) with the student's names replaced by ``g0, g1, ...``
        (the cell's top-level names) and ``v0, v1, ...`` (names inside each top-level
        statement), without docstrings, comments, annotations or the starter code, its
        top-level functions sorted. For a cell that does not parse, its tokens joined by
        spaces, names renamed ``v0, v1, ...``. ``""`` when nothing of the student's is left.

    Examples
    --------
    >>> normalise("def f(x):\\n    '''Twice.'''\\n    y = 2 * x  # double\\n    return y")
    'def g0(v0):\\n    v1 = 2 * v0\\n    return v1'
    """
    return _normal_form(source, starter).text


# ------------------------------------------------------------------------- fingerprints


def _hash(gram: Iterable[str]) -> int:
    # a stable hash: Python's hash() of a str changes from one process to the next
    digest = hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _kgram_hashes(tokens: tuple[str, ...], k: int = K) -> list[int]:
    if not tokens:
        return []
    if len(tokens) < k:
        return [_hash(tokens)]
    return [_hash(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


def _winnow(hashes: list[int], window: int = WINDOW) -> set[int]:
    """The smallest hash of every ``window`` consecutive ones (all of them when fewer)."""
    if len(hashes) <= window:
        return set(hashes)
    return {min(hashes[i : i + window]) for i in range(len(hashes) - window + 1)}


def _starter_hashes(starter: str) -> frozenset[int]:
    """Every k-gram of the starter code, in the two forms a student's cell may take:
    normalised (what is left of it in a cell with the student's code, such as the
    ``def`` line) and as tokens (for a student's cell that does not parse)."""
    if not starter.strip():
        return frozenset()
    forms = [
        _normal_form(starter, starter, remove=False).tokens,
        tuple(_token_form(starter, _names_defined(_parse(starter)))),
    ]
    return frozenset(h for tokens in forms for h in _kgram_hashes(tokens))


def fingerprints(source: str, starter: str = "") -> frozenset[int]:
    """The winnowed fingerprints of a cell's normalised code, less the starter code's.

    Parameters
    ----------
    source : str
        The code of one cell.
    starter : str, default ""
        The release version of the cell; its k-grams are removed.

    Returns
    -------
    frozenset of int
        64-bit hashes of runs of :data:`K` normalised tokens, about ``2 / (WINDOW + 1)`` of
        them kept. Empty when the cell holds nothing of the student's own.
    """
    form = _normal_form(source, starter)
    return frozenset(_winnow(_kgram_hashes(form.tokens)) - _starter_hashes(starter))


def jaccard(a: frozenset, b: frozenset) -> float:
    """``|a & b| / |a | b|`` in [0, 1]; 0 for two empty sets (nothing to be similar in)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


# ------------------------------------------------------------------------- comparing


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
    starter_hashes = {gid: _starter_hashes(code) for gid, code in starters.items()}
    cells = {s: solution_cells(nb, release) for s, nb in submissions.items()}
    cache: dict[tuple[str, str], frozenset[int]] = {}  # many cells are the starter, untouched
    prints: dict[str, dict[str, frozenset[int]]] = {}
    for student, sources in cells.items():
        prints[student] = {}
        for gid, code in sources.items():
            if (gid, code) not in cache:
                form = _normal_form(code, starters[gid])
                found = _winnow(_kgram_hashes(form.tokens)) - starter_hashes[gid]
                cache[gid, code] = frozenset(found)
            prints[student][gid] = cache[gid, code]
    whole = {s: frozenset((g, h) for g, hs in p.items() for h in hs) for s, p in prints.items()}
    reports = []
    for a, b in _candidates(whole, threshold):
        shared = len(whole[a] & whole[b])
        score = shared / (len(whole[a]) + len(whole[b]) - shared) if shared else 0.0
        if shared and score >= threshold:
            reports.append(_pair(a, b, cells, prints))
    return sorted(reports, key=lambda r: (-r.score, r.student_a, r.student_b))


# ------------------------------------------------------------------------- the report

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 90rem;
       padding: 0 1rem; color: #1a1a1a; background: #fff; line-height: 1.5; }
.notice { border-left: 0.4rem solid #1f5fa8; background: #eef4fb; padding: 0.75rem 1rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #8a8a8a; padding: 0.4rem 0.6rem; text-align: left;
         vertical-align: top; }
thead th { background: #e8e8e8; }
td.code { width: 45%; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere;
      font: 0.85rem/1.4 ui-monospace, monospace; }
a { color: #0b4f9c; }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _pair_section(rank: int, pair: PairReport) -> str:
    a, b = _e(pair.student_a), _e(pair.student_b)
    where = f" ({_e(pair.notebook)})" if pair.notebook else ""
    rows, unmatched = [], []
    for cell in pair.cells:
        if cell.score <= 0:
            unmatched.append(_e(cell.grade_id))
            continue
        rows.append(
            f'<tr><th scope="row">{_e(cell.grade_id)}<br>cell score {cell.score:.2f}</th>'
            f'<td class="code"><pre>{_e(cell.source_a)}</pre></td>'
            f'<td class="code"><pre>{_e(cell.source_b)}</pre></td></tr>'
        )
    rest = f"<p>No shared code in: {', '.join(unmatched)}.</p>" if unmatched else ""
    return (
        f'<section id="pair-{rank}" aria-labelledby="pair-{rank}-title">'
        f'<h3 id="pair-{rank}-title">{rank}. {a} and {b}{where}: score {pair.score:.2f}</h3>'
        f"<table><caption>The cells of {a} and {b} that share code, side by side, as "
        f"submitted</caption>"
        f'<thead><tr><th scope="col">Cell</th><th scope="col">{a}</th>'
        f'<th scope="col">{b}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f"{rest}</section>"
    )


def _summary(pairs: list[PairReport]) -> str:
    rows = "".join(
        f'<tr><th scope="row"><a href="#pair-{i}">{i}</a></th><td>{_e(p.notebook or "-")}'
        f"</td><td>{_e(p.student_a)}</td><td>{_e(p.student_b)}</td><td>{p.score:.2f}</td></tr>"
        for i, p in enumerate(pairs, start=1)
    )
    return (
        "<table><caption>Pairs to review, most alike first</caption><thead><tr>"
        '<th scope="col">Rank</th><th scope="col">Notebook</th>'
        '<th scope="col">Student</th><th scope="col">Student</th>'
        f'<th scope="col">Score</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _skipped_section(skipped: list[Skipped]) -> str:
    if not skipped:
        return ""
    rows = "".join(
        f'<tr><th scope="row">{_e(s.student)}</th><td>{_e(s.notebook)}</td>'
        f"<td>{_e(s.reason)}</td></tr>"
        for s in skipped
    )
    return (
        "<h2>Submissions not compared</h2>"
        "<table><caption>Skipped submissions and why</caption><thead><tr>"
        '<th scope="col">Student</th><th scope="col">Notebook</th>'
        f'<th scope="col">Reason</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def write_report(
    path: str | Path,
    pairs: list[PairReport],
    assignment: str,
    threshold: float,
    skipped: Iterable[Skipped] = (),
) -> Path:
    """Write the pairs to review as one self-contained, accessible HTML page.

    Parameters
    ----------
    path : str or Path
        The HTML file to write (its folder is created).
    pairs : list of PairReport
        From :func:`compare` or :func:`course_report`, in the order to show.
    assignment : str
        The assignment's name, for the title.
    threshold : float
        The threshold the pairs were chosen with, stated on the page.
    skipped : iterable of Skipped, default ()
        Submissions that could not be compared, listed with their reasons.

    Returns
    -------
    Path
        ``path``. The page has no script and no external resource; every text from a
        submission is escaped with :func:`html.escape`.
    """
    path = Path(path)
    title = f"Code similarity: {assignment}"
    found = (
        f"<p>{len(pairs)} pair(s) of submissions scored {threshold:.2f} or more.</p>"
        + _summary(pairs)
        + "".join(_pair_section(i, p) for i, p in enumerate(pairs, start=1))
        if pairs
        else f"<p>No pair of submissions scored {threshold:.2f} or more.</p>"
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>{_e(title)}</h1>
<p class="notice"><strong>This report is evidence for a person to review, not a penalty.
</strong> A high score says that two submissions contain the same code once names,
comments and layout are set aside; it does not say who wrote it, or whether working
together was allowed. Short answers to a precisely specified question are often alike.
Read the code, and talk with the students, before drawing any conclusion.</p>
<h2>What the score means</h2>
<p>Each solution cell is normalised: the names a student chose are replaced by placeholders
in order of first use, docstrings and comments are removed, functions are sorted, and the
starter code of the assignment is taken out, so that the starter alone never makes two
students alike. The code is then cut into overlapping runs of {K} tokens and a sample of
their hashes is kept (winnowing, as in MOSS). A cell's score is the share of these
fingerprints that the two students have in common, out of all the fingerprints either has
(the Jaccard index): 0 means nothing in common, 1 the same code after normalisation. The
pair's score is the same share over all their solution cells together, so long answers
weigh more than short ones. The threshold of this report is {threshold:.2f}. The cells
below are shown as the students submitted them.</p>
<h2>Pairs to review</h2>
{found}
{_skipped_section(list(skipped))}
</main>
</body>
</html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


# ------------------------------------------------------------------------- a course


def _students(root: Path, assignment: str) -> list[str]:
    folder = root / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())


def _read(path: Path, release: NotebookNode) -> NotebookNode:
    """A submitted notebook whose solution cells can be read, or UnreadableSubmission."""
    if not path.is_file():
        raise UnreadableSubmission("this notebook was not submitted")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UnreadableSubmission(f"the file could not be read ({err.strerror})") from err
    notebook = read_submission(raw, path.name)
    try:
        solution_cells(notebook, release)
    except (AttributeError, KeyError, TypeError) as err:  # cells that are not cells
        raise UnreadableSubmission(f"{path.name} has malformed cells ({err})") from err
    return notebook


def course_report(
    course_root: str | Path,
    assignment: str,
    out_path: str | Path,
    threshold: float = 0.8,
    students: Iterable[str] | None = None,
) -> list[PairReport]:
    """Compare the submissions of an assignment of an nbgrader course, and write the report.

    Parameters
    ----------
    course_root : str or Path
        The nbgrader course folder: ``release/<assignment>/*.ipynb`` and
        ``submitted/<student>/<assignment>/*.ipynb`` are read.
    assignment : str
        The assignment's name.
    out_path : str or Path
        The HTML report to write (see :func:`write_report`).
    threshold : float, default 0.8
        See :func:`compare`.
    students : iterable of str, optional
        The students to compare; by default all who submitted the assignment.

    Returns
    -------
    list of PairReport
        The pairs at or above the threshold, over all the assignment's notebooks (each
        notebook compared separately, ``notebook`` naming it), most alike first. A
        submission that cannot be read is left out and listed in the report with the reason,
        as is a notebook a student did not submit.
    """
    root = Path(course_root)
    released = sorted((root / "release" / assignment).glob("*.ipynb"))
    if not released:
        raise FileNotFoundError(f"no released notebook in {root / 'release' / assignment}")
    who = sorted(students) if students is not None else _students(root, assignment)
    pairs: list[PairReport] = []
    skipped: list[Skipped] = []
    for release_path in released:
        release = read_submission(release_path.read_bytes(), release_path.name)
        notebooks = {}
        for student in who:
            path = root / "submitted" / student / assignment / release_path.name
            try:
                notebooks[student] = _read(path, release)
            except UnreadableSubmission as err:
                skipped.append(Skipped(student, release_path.name, str(err)))
        found = compare(notebooks, release, threshold)
        pairs += [replace(p, notebook=release_path.name) for p in found]
    pairs.sort(key=lambda r: (-r.score, r.notebook, r.student_a, r.student_b))
    write_report(out_path, pairs, assignment, threshold, skipped)
    return pairs
