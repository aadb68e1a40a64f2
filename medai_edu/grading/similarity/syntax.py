"""Normalising a cell's syntax tree: without docstrings, comments, annotations and the
starter code, the names the student defines renumbered, top-level functions sorted."""

from __future__ import annotations

import ast
import builtins
import copy
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

BUILTINS = frozenset(dir(builtins))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: IPython lines (``%timeit``, ``!pip``) are not Python; they are dropped before parsing.
MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)


def parse_cell(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None when it is not Python (a typo, a half-written line)."""
    try:
        with warnings.catch_warnings():  # invalid escapes in student strings are not news
            warnings.simplefilter("ignore")
            return ast.parse(MAGIC.sub("", source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_bare_string(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


class Strip(ast.NodeTransformer):
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


def names_defined(starter: ast.Module | None) -> frozenset[str]:
    return _top_level_names(starter) if starter is not None else frozenset()


def ast_form(tree: ast.Module, starter: ast.Module | None, remove: bool = True) -> str:
    """Step 1 of the module docstring on a parsed cell; returns the normalised code.
    ``remove=False`` keeps the starter's statements (to normalise the starter itself)."""
    Strip().visit(tree)
    keep = names_defined(starter)
    if starter is not None and remove:
        _remove_starter(tree, starter)
    _sort_functions(tree, keep)
    return ast.unparse(_Rename(keep).visit(tree))
