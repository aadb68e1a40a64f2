"""A cell's normal form: the tokens of its normalised syntax tree (or, for a cell that does
not parse, of its :mod:`tokenize` tokens), and :func:`normalise`, the readable form."""

from __future__ import annotations

import ast
import functools
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

from medai_edu.grading.similarity.syntax import (
    BUILTINS,
    MAGIC,
    Strip,
    ast_form,
    names_defined,
    parse_cell,
)


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


def token_form(source: str, keep: frozenset[str]) -> list[str]:
    """The fallback for a cell that does not parse: its tokens, with every name renamed in
    order of first appearance except keywords, builtins, attributes (after a dot), the
    names of an import line and ``keep``; a string alone on a line (a docstring) dropped.
    No scopes and no reordering: there is no syntax tree to find them in."""
    lexed = _lex(MAGIC.sub("", source))
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
                and t not in BUILTINS
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
class NormalForm:
    text: str  # the normalised code, for a person to read
    tokens: tuple[str, ...]


@functools.lru_cache(maxsize=64)
def _starter_tree(starter: str) -> ast.Module | None:
    """The starter code's tree without docstrings; cached, as every student's cell is
    normalised against it, and only ever read."""
    tree = parse_cell(starter) if starter.strip() else None
    return Strip().visit(tree) if tree is not None else None


def normal_form(source: str, starter: str = "", remove: bool = True) -> NormalForm:
    starter_tree = _starter_tree(starter)
    tree = parse_cell(source)
    if tree is not None:
        try:
            text = ast_form(tree, starter_tree, remove)
            return NormalForm(text, tuple(_tokens(text)))
        except RecursionError:  # absurdly deep code: the token form still compares
            pass
    tokens = token_form(source, names_defined(starter_tree))
    return NormalForm(" ".join(tokens).replace(" \n ", "\n").strip(), tuple(tokens))


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
    return normal_form(source, starter).text
