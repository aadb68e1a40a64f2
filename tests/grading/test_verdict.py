"""Sealing test cells, judging them outside the kernel, and the import rules (fast: no
sandbox; the whole pipeline is tested in test_cheats.py)."""

from __future__ import annotations

import json

import nbformat
import pytest

from medai_edu.grading import checks
from medai_edu.grading.rules import AssignmentRules, forbidden_imports
from medai_edu.grading.verdict import SealError, decode, judge_cell, seal

from .conftest import ROOT

TEST_CELL = """\
from medai_edu.grading import checks
from medai_edu import metrics as reference

checks.restore()
want = [0.25, 0.5]  # only an expected value
x = np.array([1.0, 2.0])
checks.check_close(mean(x), 1.5, rtol=0, atol=1e-9, what="mean(x)")
checks.check_array_close(scale(x), want, what="scale(x)", reveal=False)
checks.check_equal(size(x), reference.size(x), what="size")
checks.check_raises("ValueError", lambda: mean([]), what="mean([])")
answer = checks.check_type(pair(x), "tuple", length=2)
"""


def test_sealing_removes_every_expected_value_and_what_only_fed_them():
    sealed = seal(TEST_CELL)
    assert "1.5" not in sealed and "0.25" not in sealed and "reference" not in sealed
    assert "want" not in sealed and "rtol" not in sealed and "ValueError" not in sealed
    assert "checks.check_close(mean(x), checks.SEALED)" in sealed
    assert "checks.check_raises(checks.SEALED, lambda: mean([]))" in sealed
    assert "answer = checks.check_type(pair(x), checks.SEALED)" in sealed
    assert "x = np.array([1.0, 2.0])" in sealed  # inputs stay


def test_a_test_cell_that_does_not_parse_cannot_be_sealed():
    with pytest.raises(SealError, match="does not parse"):
        seal("checks.check_close(x,")
    with pytest.raises(SealError, match="without its 'call'"):
        seal("checks.check_raises('ValueError')")


def test_every_assignment_test_cell_seals():
    from medai_edu.grading.repair import is_test

    for path in sorted((ROOT / "autograder" / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            if is_test(cell) and cell.cell_type == "code":
                assert "checks.SEALED" in seal(cell.source), (path.name, cell.source[:80])


def published(monkeypatch, mode: str, call) -> list[dict]:
    """What the checks publish while ``call()`` runs in ``mode`` ("record" or "")."""
    sent: list[str] = []
    namespace = vars(checks)  # the module refuses attribute assignment
    monkeypatch.setitem(namespace, "_MODE", mode)
    monkeypatch.setitem(namespace, "_publish", lambda data: sent.append(data[checks.MIME]))
    call()
    return decode(sent)


def record_and_probe(monkeypatch, check, answer, expected, **options):
    """The reference's record (right answer ``expected``) and a student's probe."""
    records = published(monkeypatch, "record", lambda: check(expected, expected, **options))
    probes = published(monkeypatch, "", lambda: check(answer, checks.SEALED))
    return records, probes


@pytest.mark.parametrize(
    ("check", "answer", "expected", "options", "passes"),
    [
        (checks.check_close, 0.3000001, 0.3, {"rtol": 1e-3}, True),
        (checks.check_close, 0.31, 0.3, {"rtol": 1e-3}, False),
        (checks.check_close, {"a": (1, 2.0)}, {"a": (1, 2.0)}, {}, True),
        (checks.check_equal, [1, 2], [1, 2], {}, True),
        (checks.check_equal, True, 1, {}, False),  # True is not the number 1
        (checks.check_array_close, [[1.0, 2.0]], [[1.0, 2.0]], {}, True),
        (checks.check_array_close, [1.0, 2.0], [[1.0, 2.0]], {}, False),  # shape
    ],
)
def test_a_probe_is_judged_against_the_record_with_the_references_tolerance(
    monkeypatch, check, answer, expected, options, passes
):
    records, probes = record_and_probe(monkeypatch, check, answer, expected, **options)
    assert len(records) == len(probes) == 1
    assert (checks.judge(records[0], probes[0]) is None) == passes


def test_a_refused_answer_fails_with_its_reason(monkeypatch):
    class Anything(float):
        def __eq__(self, other):
            return True

    records, probes = record_and_probe(monkeypatch, checks.check_close, Anything(0.1), 0.3)
    assert "not an object of type Anything" in checks.judge(records[0], probes[0])


def test_types_lengths_and_exceptions_are_judged_outside(monkeypatch):
    def raising():
        raise KeyError("no")

    records = published(
        monkeypatch,
        "record",
        lambda: (
            checks.check_type((1, 2), "tuple", length=2),
            checks.check_raises("LookupError", raising),
        ),
    )
    right = published(
        monkeypatch,
        "",
        lambda: (
            checks.check_type((3, 4), checks.SEALED),
            checks.check_raises(checks.SEALED, raising),
        ),
    )
    wrong = published(
        monkeypatch,
        "",
        lambda: (
            checks.check_type([3, 4, 5], checks.SEALED),
            checks.check_raises(checks.SEALED, lambda: None),
        ),
    )
    assert judge_cell(records, right, 3.0).score == 3.0
    verdict = judge_cell(records, wrong, 3.0)
    assert verdict.score == 0.0 and "should be of type tuple, not list" in verdict.reason


def parts(*names_and_values) -> list[dict]:
    return [{"kind": "equal", "part": n, "value": v, "expected": 1} for n, v in names_and_values]


def test_partial_credit_counts_the_parts_whose_checks_all_reported_right():
    records = parts(("a", 1), ("a", 1), ("b", 1), (None, 1))
    assert judge_cell(records, parts(("a", 1), ("a", 1), ("b", 1), (None, 1)), 4).score == 4
    half = judge_cell(records, parts(("a", 1), ("a", 2), ("b", 1), (None, 1)), 4)
    assert half.score == 2 and half.reason.startswith("a:")
    assert judge_cell(records, parts(("a", 1), ("b", 1), (None, 1)), 4).score == 2  # a missing
    assert judge_cell(records, parts(("a", 1), ("a", 1), ("b", 1), (None, 5)), 4).score == 0


def test_results_beyond_the_tests_are_flagged():
    records = parts((None, 1))
    verdict = judge_cell(records, parts((None, 1), (None, 1)), 1)
    assert verdict.score == 0 and "results not from the tests" in verdict.flag
    assert judge_cell(records, parts(("forged", 1), (None, 1)), 1).flag


def test_unreadable_messages_decode_to_nothing_usable():
    assert decode(["{not json", json.dumps([1]), json.dumps({"kind": "equal"})]) == [
        {},
        {},
        {"kind": "equal"},
    ]


def student(*sources: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            source, metadata={"nbgrader": {"grade_id": f"q{i + 1}_solution", "solution": True}}
        )
        for i, source in enumerate(sources)
    ]
    return nb


def test_forbidden_imports_are_found_however_they_are_spelled():
    rules = AssignmentRules(["numpy", "math"], ["medai_edu.metrics"], "zero")
    nb = student(
        "import numpy as np\nfrom math import sqrt",
        "from medai_edu.metrics import auroc",
        "import importlib\nm = importlib.import_module('medai_edu.metrics')",
        "import medai_edu\nf = medai_edu.metrics.auroc",
        "from sklearn.metrics import roc_auc_score",
    )
    found = {(f.question, f.what) for f in forbidden_imports(nb, rules)}
    assert not any(q == "q1" for q, _ in found)
    assert ("q2", "imports medai_edu.metrics, the course's reference code") in found
    assert ("q3", "imports medai_edu.metrics, the course's reference code") in found
    assert ("q4", "reaches medai_edu.metrics.auroc, the course's reference code") in found
    assert any(q == "q5" and "sklearn.metrics" in w for q, w in found)


def test_every_assignment_declares_its_rules_and_tells_students():
    for path in sorted((ROOT / "autograder" / "source").glob("*/*.ipynb")):
        nb = nbformat.read(path, 4)
        rules = AssignmentRules.of(nb)
        assert rules is not None, path.name
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert rules.sentence() in text, path.name
        for hidden in rules.hidden_files():
            assert hidden.endswith((".py", ".pyc"))
        # the solution itself keeps the rules
        assert forbidden_imports(nb, rules) == [], path.name


def test_bad_rules_are_refused():
    nb = nbformat.v4.new_notebook(metadata={"medai_edu": {"grading": {"on_forbidden_import": "x"}}})
    with pytest.raises(ValueError, match="on_forbidden_import"):
        AssignmentRules.of(nb)
