"""Test cells decided outside the student's kernel.

A student's code and the test cells share one Python process, and that process can be made
to lie: ``get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)`` silences every
failed assertion, and an input transformer can rewrite a test cell before it runs. So the
grader never takes the kernel's word that a test passed. Instead:

1. **Reference run.** The instructor's source notebook (solutions and all tests) runs once,
   in the sandbox, with ``MEDAI_EDU_CHECKS=record`` and its test cells sealed in the
   reference form (:func:`seal` with ``for_reference``): every ``checks.check_*`` call in a
   test cell publishes what the solution answered, with the test's tolerances, message and
   PartialCredit part; that is what a student's answer must match. (The same statements run
   in both runs, so the random inputs a test draws are the same.)
2. **Sealed student run.** Before a student's notebook runs, :func:`seal` rewrites each
   check call of its test cells to ``checks.check_X(answer, checks.SEALED)``: the expected
   values, and assignments whose only use was to hold them, never reach the kernel. A sealed
   check only publishes the answer it was given (a probe). The sandbox runner takes records
   and probes out of the messages before anything reaches the notebook.
3. **Judgement.** :func:`judge_cell` pairs each record with the probe in the same place and
   compares them with :func:`medai_edu.grading.checks.judge`, here in the grader. A test
   cell scores only if every check reported the right answer and the kernel showed no error;
   a PartialCredit cell scores its parts that did.

A student's code can still stop probes (0 points) or publish probes of its own, but to
publish a right answer it has to compute one: the expected values are not in its process.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from medai_edu.grading import checks

#: The check helpers, and the position (or keyword) of the one argument a sealed call keeps.
ANSWER_ARGUMENT = {
    "check_type": (0, "actual"),
    "check_equal": (0, "actual"),
    "check_close": (0, "actual"),
    "check_array_close": (0, "actual"),
    "check_raises": (1, "call"),
}


class SealError(ValueError):
    """A test cell cannot be sealed (it does not parse, or calls a check oddly)."""


#: The checks whose second argument is the expected value.
EXPECTED_SECOND = ("check_equal", "check_close", "check_array_close")


def _check_call(node: ast.AST) -> str | None:
    """The helper's name when ``node`` is a ``checks.check_*(...)`` call, else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "checks"
        and func.attr in ANSWER_ARGUMENT
    ):
        return func.attr
    return None


def _sealed_marker() -> ast.Attribute:
    return ast.Attribute(value=ast.Name("checks", ast.Load()), attr="SEALED", ctx=ast.Load())


class _SealExpected(ast.NodeTransformer):
    """Replace each check's expected value by ``checks.SEALED``, keeping its other
    arguments (tolerances, message, types): the reference run's form."""

    def __init__(self) -> None:
        self.removed: set[str] = set()  # names the expected values read

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = _check_call(node)
        if name not in EXPECTED_SECOND:
            return node
        expected = next((k for k in node.keywords if k.arg == "expected"), None)
        if expected is not None:
            dropped, expected.value = expected.value, _sealed_marker()
        elif len(node.args) >= 2:
            dropped, node.args[1] = node.args[1], _sealed_marker()
        else:
            raise SealError(f"checks.{name} without its expected value")
        self.removed |= {n.id for n in ast.walk(dropped) if isinstance(n, ast.Name)}
        return node


class _KeepAnswerOnly(ast.NodeTransformer):
    """``checks.check_X(answer, checks.SEALED)``: the student's form, nothing else."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = _check_call(node)
        if name is None:
            return node
        position, keyword = ANSWER_ARGUMENT[name]
        answer = next((k.value for k in node.keywords if k.arg == keyword), None)
        if answer is None:
            if len(node.args) <= position:
                raise SealError(f"checks.{name} without its {keyword!r} argument")
            answer = node.args[position]
        args = [_sealed_marker(), answer] if position == 1 else [answer, _sealed_marker()]
        return ast.copy_location(ast.Call(func=node.func, args=args, keywords=[]), node)


def _assigned_names(statement: ast.stmt) -> set[str] | None:
    """The names a plain ``a = ...`` / ``a, b = ...`` or an import binds, or None for
    anything else."""
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    if not isinstance(statement, ast.Assign):
        return None
    names: set[str] = set()
    for target in statement.targets:
        parts = target.elts if isinstance(target, ast.Tuple) else [target]
        if not all(isinstance(p, ast.Name) for p in parts):
            return None
        names |= {p.id for p in parts}
    return names


def _drop_unread_assignments(tree: ast.Module, candidates: set[str]) -> None:
    """Replace by ``pass`` each plain assignment or import of names that nothing reads any
    more and that only expected values read before sealing: they would hold (or compute)
    the answers."""
    while True:
        read = {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)
        }
        changed = False
        for node in ast.walk(tree):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if not isinstance(block, list):
                    continue
                for index, statement in enumerate(block):
                    names = _assigned_names(statement)
                    if names and names <= candidates and not names & read:
                        block[index] = ast.copy_location(ast.Pass(), statement)
                        changed = True
        if not changed:
            return


def seal(source: str, for_reference: bool = False) -> str:
    """The test cell ``source`` sealed (see the module docstring).

    The student's form keeps only each check's answer. The reference run's form
    (``for_reference``) keeps the checks' other arguments too, so the solution's answers are
    recorded with the test's tolerances and messages. Both drop the same statements, so the
    two runs draw the same random numbers in the same order.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise SealError(f"the test cell does not parse as Python: {err}") from err
    expected = _SealExpected()
    tree = expected.visit(tree)
    _drop_unread_assignments(tree, expected.removed)
    if not for_reference:
        tree = _KeepAnswerOnly().visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


# --------------------------------------------------------------------------- judging


@dataclass
class CellVerdict:
    """The judgement of one test cell: points, why not all, and what looked forged."""

    score: float
    reason: str = ""
    flag: str = ""


def decode(messages: list[str]) -> list[dict]:
    """The published JSON strings of one cell, decoded; an unreadable one is ``{}``."""
    decoded = []
    for message in messages:
        try:
            value = json.loads(message)
        except (TypeError, ValueError):
            value = {}
        decoded.append(value if isinstance(value, dict) else {})
    return decoded


def judge_cell(records: list[dict], probes: list[dict], points: float) -> CellVerdict:
    """Score one test cell from the reference run's ``records`` and the student's ``probes``.

    Checks outside a PartialCredit part must all pass, or the cell scores 0; each part then
    earns its share of ``points`` when all its checks pass. A part or cell whose checks did
    not all report (an exception stopped it, or the checks were bypassed) fails.
    """
    parts: list = []
    for record in records:
        if record.get("part") not in parts:
            parts.append(record.get("part"))
    failed: dict = {}
    for part in parts:
        want = [r for r in records if r.get("part") == part]
        got = [p for p in probes if p.get("part") == part]
        if len(got) != len(want):
            failed[part] = f"{len(got)} of its {len(want)} checks reported a result"
            continue
        for record, probe in zip(want, got, strict=True):
            message = checks.judge(record, probe)
            if message is not None:
                failed[part] = message
                break
    flag = ""
    stray = {p.get("part") for p in probes} - set(parts)
    if len(probes) > len(records) or stray:
        flag = f"{len(probes)} check results for {len(records)} checks (results not from the tests)"
    where = [p for p in parts if p is not None]
    if None in failed or (not where and failed):
        return CellVerdict(0.0, failed.get(None) or next(iter(failed.values())), flag)
    if not where:
        return CellVerdict(points, "", flag)
    passed = [p for p in where if p not in failed]
    reason = "; ".join(f"{p}: {failed[p]}" for p in where if p in failed)
    return CellVerdict(points * len(passed) / len(where), reason, flag)
