"""The checking helpers of test cells: honest answers pass, lying ones never do."""

import builtins
import contextlib
import types

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from medai_edu.grading import checks

EXPECTED = 0.3


def fails(check, *args, **kwargs) -> str:
    """The AssertionError message of a check that must fail (pytest.fail if it passes)."""
    try:
        check(*args, **kwargs)
    except AssertionError as err:
        return str(err)
    pytest.fail(f"{check.__name__}{args} passed")


# --------------------------------------------------------------------------------------
# Objects a student might return to fake an answer
# --------------------------------------------------------------------------------------


class Liar:
    """Equal to everything, truthy, and a float or array of whatever is wanted."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = object.__hash__

    def __bool__(self):
        return True

    def __float__(self):
        return EXPECTED

    def __int__(self):
        return 0

    def __index__(self):
        return 0

    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, 2.0, 3.0])

    def __len__(self):
        return 3

    def __iter__(self):
        return iter([1.0, 2.0, 3.0])

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0

    def tolist(self):
        return [1.0, 2.0, 3.0]


def _always(value):
    return lambda self, *args: value


_LYING = {
    "__eq__": _always(True),
    "__ne__": _always(False),
    "__lt__": _always(True),
    "__le__": _always(True),
    "__gt__": _always(True),
    "__ge__": _always(True),
    "__hash__": _always(0),
    "__bool__": _always(True),
    "__sub__": _always(0.0),
    "__rsub__": _always(0.0),
    "__abs__": _always(0.0),
    "__float__": _always(EXPECTED),
}

LyingFloat = type("LyingFloat", (float,), dict(_LYING))
LyingInt = type("LyingInt", (int,), dict(_LYING))
LyingStr = type("LyingStr", (str,), dict(_LYING))
LyingFloat64 = type("LyingFloat64", (np.float64,), dict(_LYING))


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)

    __ne__ = _always(np.zeros(3, bool))

    def tolist(self):
        return [1.0, 2.0, 3.0]

    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, 2.0, 3.0])


class EqualTypeMeta(type):
    """A metaclass whose classes claim to be equal to every type (``float in (...)``)."""

    def __eq__(cls, other):
        return True

    __hash__ = type.__hash__


MetaLiar = EqualTypeMeta("MetaLiar", (), dict(_LYING))


LIARS = {
    "eq-always-true": Liar(),
    "float-subclass": LyingFloat(0.9),
    "int-subclass": LyingInt(9),
    "float64-subclass": LyingFloat64(0.9),
    "metaclass-eq": MetaLiar(),
}


@pytest.mark.parametrize("liar", LIARS.values(), ids=LIARS.keys())
def test_lying_scalars_fail_every_check(liar):
    assert "should be" in fails(checks.check_close, liar, EXPECTED)
    fails(checks.check_equal, liar, EXPECTED)
    fails(checks.check_close, [liar], [EXPECTED])
    fails(checks.check_close, {"a": liar}, {"a": EXPECTED})
    fails(checks.check_array_close, liar, [1.0, 2.0, 3.0])
    fails(checks.check_array_close, [1.0, liar, 3.0], [1.0, 2.0, 3.0])
    fails(checks.check_type, liar, (float, int))


def test_a_lying_string_or_array_subclass_fails():
    fails(checks.check_equal, LyingStr("benign"), "malignant")
    fails(checks.check_equal, LyingStr("malignant"), "malignant")  # even the right text
    lying = np.array([1.0, 2.0, 3.0]).view(LyingArray)
    message = fails(checks.check_array_close, lying, [1.0, 2.0, 3.0])
    assert "np.asarray" in message  # tells an honest student what to do
    fails(checks.check_equal, lying, [1.0, 2.0, 3.0])
    fails(checks.check_array_close, np.ma.array([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0])


def test_an_object_array_cannot_smuggle_liars_in():
    objects = np.array([Liar(), Liar(), Liar()], dtype=object)
    assert "dtype kind 'O'" in fails(checks.check_array_close, objects, [1.0, 2.0, 3.0])
    fails(checks.check_array_close, np.array(["1", "2", "3"]), [1.0, 2.0, 3.0])


def test_a_mapping_lookalike_or_a_list_subclass_fails():
    class LyingList(list):
        __eq__ = _always(True)

    class LyingDict(dict):
        __eq__ = _always(True)

    fails(checks.check_equal, LyingList([0]), [1])
    fails(checks.check_equal, LyingDict(a=0), {"a": 1})
    fails(checks.check_type, LyingList(), list)


def test_dict_keys_that_lie_about_equality_fail():
    liar_key = Liar()
    fails(checks.check_equal, {liar_key: 1}, {"malignant": 1})


# --------------------------------------------------------------------------------------
# Rebinding builtins and numpy
# --------------------------------------------------------------------------------------

FAKE_BUILTINS = {
    "abs": lambda x: 0,
    "len": lambda x: 3,
    "isinstance": lambda *a: True,
    "issubclass": lambda *a: True,
    "float": lambda x=0: EXPECTED,
    "int": lambda x=0: 0,
    "round": lambda *a: EXPECTED,
    "type": lambda *a: float,
    "max": lambda *a, **k: 0,
    "min": lambda *a, **k: 0,
    "sum": lambda *a, **k: 0,
    "all": lambda *a: True,
    "any": lambda *a: False,
    "repr": lambda x: "0.3",
    "range": lambda *a: [],
}


@contextlib.contextmanager
def rebound_builtins(fakes: dict):
    """Rebind builtins with dict operations only (monkeypatch itself calls isinstance)."""
    namespace = vars(builtins)
    saved = {name: namespace[name] for name in fakes}
    namespace.update(fakes)
    try:
        yield
    finally:
        namespace.update(saved)


def test_rebinding_builtins_does_not_fool_the_checks():
    wrong = [
        (checks.check_close, 0.5, EXPECTED),
        (checks.check_close, [0.5, 1.0], [EXPECTED, 1.0]),
        (checks.check_equal, "benign", "malignant"),
        (checks.check_array_close, np.array([1.0, 2.0, 4.0]), [1.0, 2.0, 3.0]),
        (checks.check_type, np.float64(0.5), str),
    ]
    caught = []
    with rebound_builtins(FAKE_BUILTINS):
        for check, actual, expected in wrong:
            try:
                check(actual, expected)
                caught.append(False)
            except AssertionError:
                caught.append(True)
    assert caught == [True] * 5


def test_shadowing_builtins_in_the_notebook_namespace_does_not_fool_the_checks():
    namespace = {}
    student = "abs = lambda x: 0\nlen = lambda x: 0\nisinstance = lambda *a: True\nfloat = str\n"
    test_cell = "from medai_edu.grading import checks\nchecks.check_close(0.5, 0.3)\n"
    exec(student, namespace)
    with pytest.raises(AssertionError, match="expected 0.3"):
        exec(test_cell, namespace)


def test_monkeypatched_numpy_does_not_fool_the_checks(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isclose", lambda a, b, **k: np.ones(np.shape(b), bool))
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np, "asarray", lambda *a, **k: np.array([1.0, 2.0, 3.0]))
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    fails(checks.check_array_close, np.array([1.0, 2.0, 4.0]), [1.0, 2.0, 3.0])
    fails(checks.check_array_close, [9.0, 9.0, 9.0], np.array([1.0, 2.0, 3.0]))
    fails(checks.check_close, np.float64(0.5), EXPECTED)
    monkeypatch.setattr(np, "ndarray", LyingArray)  # "exact ndarray" still means numpy's
    fails(checks.check_array_close, np.array([1.0, 2.0, 3.0]).view(LyingArray), [1, 2, 3])


def test_numpy_types_cannot_be_patched_themselves():
    """What the checks rely on: numpy's own types are immutable."""
    with pytest.raises(TypeError):
        np.ndarray.tolist = lambda self: [1.0, 2.0, 3.0]
    with pytest.raises(TypeError):
        np.float64.__eq__ = lambda self, other: True
    with pytest.raises(TypeError):
        float.__eq__ = lambda self, other: True


# --------------------------------------------------------------------------------------
# Rebinding the helpers: restore() and fresh()
# --------------------------------------------------------------------------------------


@pytest.fixture
def tampered(monkeypatch):
    """Undo whatever a test did to the checks module, even if restore() were broken."""
    names = dict(vars(checks))
    code = {n: f.__code__ for n, f in names.items() if type(f) is types.FunctionType}
    result = checks.PartialCredit.result
    yield checks
    for name, function in code.items():
        names[name].__code__ = function
    vars(checks).update(names)
    checks.PartialCredit.result = result


def test_the_helpers_cannot_be_rebound_through_the_module():
    with pytest.raises(AttributeError, match="cannot be changed"):
        checks.check_close = lambda *a, **k: None
    with pytest.raises(AttributeError):
        checks.restore = lambda: None
    with pytest.raises(AttributeError):
        checks.check_equal = lambda *a, **k: None
    with pytest.raises(AttributeError):
        del checks.check_array_close
    with pytest.raises(AttributeError):
        checks.__class__ = types.ModuleType  # the guard cannot simply be taken off
    fails(checks.check_close, 0.5, EXPECTED)


def test_restore_undoes_replaced_entries_of_the_module(tampered):
    vars(checks)["check_close"] = lambda *a, **k: None
    vars(checks)["restore"] = lambda: None
    vars(checks)["_close"] = lambda *a: True  # a private helper the checks call
    assert checks.check_close is not vars(checks)["check_close"]  # the real helper, ...
    checks.check_close(0.5, EXPECTED)  # ... but fooled inside
    checks.check_array_close([1.0], [2.0])
    checks.restore()  # the real restore()
    fails(checks.check_close, 0.5, EXPECTED)
    fails(checks.check_array_close, [1.0], [2.0])
    fails(checks.check_equal, 1, 2)
    assert vars(checks)["check_close"] is checks.check_close
    checks.check_close(EXPECTED, EXPECTED)


def test_restore_undoes_replaced_code_defaults_and_methods(tampered):
    checks.check_close.__code__ = (lambda *a, **k: None).__code__
    checks.check_array_close.__defaults__ = (1e9, 1e9, "the answer", True, False)
    checks.PartialCredit.result = lambda self: 4.0
    checks.PartialCredit.__call__ = lambda self: 4.0
    checks.restore()
    fails(checks.check_close, 0.5, EXPECTED)
    fails(checks.check_array_close, [1.0], [2.0])
    assert "__call__" not in vars(checks.PartialCredit)
    credit = checks.PartialCredit(points=4)
    with credit.part("wrong"):
        checks.check_close(0.5, EXPECTED)
    fails(credit.result)


def test_restore_undoes_rebound_builtins_and_numpy(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    fakes = {"abs": lambda x: 0, "__import__": lambda *a, **k: None}
    with rebound_builtins(fakes):  # dict operations only until restore() has run
        checks.restore()
        restored = [vars(builtins)[name] is not fake for name, fake in fakes.items()]
    assert restored == [True, True]
    assert not np.allclose([1.0], [2.0])
    with pytest.raises(AssertionError):
        np.testing.assert_allclose([1.0], [2.0])


def test_fresh_is_an_untouched_copy_with_pristine_builtins(tampered):
    vars(checks)["_compare"] = lambda *a, **k: None
    with rebound_builtins({"type": lambda *a: float, "float": lambda *a: EXPECTED}):
        copy = checks.fresh()
    assert copy is not checks and copy.__file__ == checks.__file__
    fails(copy.check_close, 0.5, EXPECTED)
    fails(copy.check_close, Liar(), EXPECTED)
    copy.check_close(np.float64(EXPECTED), EXPECTED)


# --------------------------------------------------------------------------------------
# Honest answers
# --------------------------------------------------------------------------------------

HONEST_SCALARS = [
    0.3,
    0.1 + 0.2,
    np.float64(0.3),
    np.float32(0.3),
    np.array(0.3),  # a 0-d array, as some numpy reductions give
    np.float16(0.3),
]


@pytest.mark.parametrize("answer", HONEST_SCALARS, ids=lambda a: type(a).__name__)
def test_honest_numbers_pass(answer):
    rtol = 1e-3 if type(answer) in (np.float16, np.float32) else 1e-6
    checks.check_close(answer, EXPECTED, rtol=rtol)


def test_honest_integers_strings_and_structures_pass():
    checks.check_equal(212, 212)
    checks.check_equal(np.int64(212), 212)
    checks.check_close(212, 212.0)
    checks.check_equal(np.uint8(7), 7)
    checks.check_equal("washout", "washout")
    checks.check_equal(True, True)
    checks.check_equal(np.bool_(False), False)
    checks.check_equal(None, None)
    checks.check_equal([(0, 0), (1, 1)], [(0, 0), (1, 1)])
    checks.check_equal([[0, 0], [1, 1]], [(0, 0), (1, 1)])  # list or tuple: the same
    checks.check_close(
        {"benign": 357, "malignant": np.int64(212), "prevalence": np.float64(212 / 569)},
        {"benign": 357, "malignant": 212, "prevalence": 0.3725834797891037},
    )
    checks.check_close((np.float64(2 / 3), 0.8), (2 / 3, 4 / 5))
    checks.check_close(float("nan"), float("nan"), equal_nan=True)
    checks.check_close(float("inf"), float("inf"))


def test_honest_arrays_pass():
    checks.check_array_close(np.arange(6.0).reshape(2, 3), [[0, 1, 2], [3, 4, 5]])
    checks.check_array_close(np.arange(6).reshape(2, 3), np.arange(6.0).reshape(2, 3))
    checks.check_array_close([0.1 + 0.2, 1.0], np.array([0.3, 1.0]))
    checks.check_array_close((1, 2, 3), np.array([1.0, 2.0, 3.0]))
    checks.check_array_close([np.float64(1.0), np.int32(2)], [1.0, 2.0])
    checks.check_array_close([np.array([1.0, 2.0]), np.array([3.0, 4.0])], [[1, 2], [3, 4]])
    checks.check_array_close(np.array([True, False]), [True, False])
    checks.check_array_close(np.zeros((0, 3)), np.zeros((0, 3)))
    checks.check_array_close(np.array([1.0, np.nan]), [1.0, np.nan], equal_nan=True)
    checks.check_array_close(np.float32([1, 2]) / 3, [1 / 3, 2 / 3], rtol=1e-5)
    checks.check_equal(np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]])


def test_check_type_is_exact_and_returns_the_answer():
    pair = checks.check_type((0.5, 0.25), tuple, length=2)
    assert pair == (0.5, 0.25)
    checks.check_type(np.float64(1.0), (float, np.float64))
    assert "should be of type float, not float64" in fails(checks.check_type, np.float64(1), float)
    assert "not bool" in fails(checks.check_type, True, int)
    assert "should have 2 items, not 3" in fails(checks.check_type, (1, 2, 3), tuple, length=2)


def test_type_names_are_looked_up_in_the_pristine_builtins():
    checks.check_type(0.5, "float")
    checks.check_type((1, 2), ("tuple", "list"), length=2)
    with rebound_builtins({"float": LyingFloat}):
        fails(checks.check_type, LyingFloat(0.5), "float")
    with pytest.raises(TypeError):
        checks.check_type(0.5, 0.5)


def test_check_raises_wants_the_right_exception():
    def no_labels():
        raise ValueError("no labels")

    checks.check_raises("ValueError", no_labels)
    checks.check_raises(ValueError, no_labels)
    checks.check_raises("Exception", no_labels)
    message = fails(checks.check_raises, "ValueError", lambda: 1, what="f([])")
    assert message == "f([]) should raise ValueError, but it returned without one"

    def unanswered():
        raise NotImplementedError()

    assert "not NotImplementedError" in fails(checks.check_raises, "ValueError", unanswered)
    with pytest.raises(TypeError):
        checks.check_raises("len", no_labels)


def test_check_raises_ignores_a_shadowed_exception_name():
    namespace = {}
    exec("ValueError = Exception\ndef f():\n    raise NotImplementedError()\n", namespace)
    test_cell = "from medai_edu.grading import checks\nchecks.check_raises('ValueError', f)\n"
    with pytest.raises(AssertionError, match="not NotImplementedError"):
        exec(test_cell, namespace)


# --------------------------------------------------------------------------------------
# Wrong honest answers: what the student is told
# --------------------------------------------------------------------------------------


def test_wrong_answers_fail_with_helpful_messages():
    message = fails(checks.check_close, 0.5, 0.123456, what="sensitivity")
    assert message.startswith("sensitivity") and "0.123456" in message and "0.5" in message
    assert "not True or False" in fails(checks.check_close, True, 1.0)
    assert "not a number" in fails(checks.check_equal, 1, True)
    assert "should be a string" in fails(checks.check_equal, 1, "1")
    assert "not right" not in fails(checks.check_equal, 0.1 + 0.2, 0.3)  # exact: use close
    assert "should be a number" in fails(checks.check_close, "0.3", 0.3)
    fails(checks.check_close, float("nan"), 0.3)
    fails(checks.check_close, float("nan"), float("nan"))
    fails(checks.check_close, float("inf"), 1e308)
    fails(checks.check_close, 10**400, 1.0)  # too large for a float: no OverflowError
    assert "shape (3,), not (2,)" in fails(checks.check_array_close, [1, 2], [1, 2, 3])
    assert "ragged" in fails(checks.check_array_close, [[1, 2], [3]], [[1, 2], [3, 4]])
    assert "should be True or False" in fails(checks.check_array_close, [1, 0], [True, False])
    assert "should be a number" in fails(checks.check_array_close, [True, False], [1.0, 0.0])
    message = fails(checks.check_array_close, [[1.0, 2.0], [3.0, 5.0]], [[1, 2], [3, 4]])
    assert "[1, 1]" in message and "1 of 4 values differ" in message
    assert "keys" in fails(checks.check_equal, {"a": 1}, {"a": 1, "b": 2})
    assert "nested too deeply" in fails(checks.check_equal, _deep_list(100), [0])


def _deep_list(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


SECRET = 0.7182818
HIDDEN_CASES = [
    (checks.check_close, 0.5, SECRET),
    (checks.check_close, [0.5, 1.0], [SECRET, 1.0]),
    (checks.check_equal, "benign", "malig" + "nant"),
    (checks.check_equal, [1, 2], [1, 2, 3]),
    (checks.check_close, {"a": 1.0}, {"a": 1.0, "secret_key": SECRET}),
    (checks.check_close, {"a": 0.5}, {"a": SECRET}),
    (checks.check_array_close, [1.0, 2.0, 3.0], [1.0, 2.0, SECRET]),
    (checks.check_array_close, [1.0, 2.0], [[SECRET, 2.0]]),
]


@pytest.mark.parametrize("case", HIDDEN_CASES, ids=lambda c: f"{c[0].__name__}")
def test_hidden_messages_do_not_reveal_the_expected_value(case):
    check, actual, expected = case
    revealed = fails(check, actual, expected)
    hidden = fails(check, actual, expected, reveal=False)
    assert "hidden" in hidden or "not the expected" in hidden
    for secret in ("0.718", "malignant", "secret_key", "(1, 2)", "3 items"):
        assert secret not in hidden, hidden
    assert any(s in revealed for s in ("0.718", "malignant", "secret_key", "(1, 2)", "3 items"))


# --------------------------------------------------------------------------------------
# Partial credit
# --------------------------------------------------------------------------------------


def test_partial_credit_counts_the_parts_that_pass(capsys):
    credit = checks.PartialCredit(points=4)
    with credit.part("sensitivity"):
        checks.check_close(2 / 3, 2 / 3)
    with credit.part("specificity"):
        checks.check_close(0.2, 0.8, reveal=False)
    score = credit.result()
    assert type(score) is float and score == 2.0
    out = capsys.readouterr()
    assert "specificity" in out.out and "1 of 2 parts right" in out.out and not out.err
    assert "0.8" not in out.out


def test_partial_credit_with_nothing_right_fails_and_hides_student_messages(capsys):
    class Sneaky(Exception):
        def __str__(self):
            raise RuntimeError("a student's __str__ must never run")

    def unanswered():
        raise NotImplementedError()

    credit = checks.PartialCredit(points=3)
    with credit.part("a"):
        unanswered()
    with credit.part("b"):
        raise Sneaky()
    with pytest.raises(AssertionError, match="0 of 2 parts right"):
        credit.result()
    out = capsys.readouterr().out
    assert "not answered yet" in out and "raised Sneaky" in out


def test_warnings_of_the_students_code_stay_off_stderr(capsys):
    """nbgrader gives a test cell that writes to stderr 0 points, partial credit or not."""

    def noisy_mean(values):
        return float(np.mean(values))  # RuntimeWarning on an empty array

    def noisy_then_raises(values):
        np.mean(values)
        raise ValueError("no values")

    credit = checks.PartialCredit(points=2)
    with credit.part("mean of nothing"):
        checks.check_close(noisy_mean([]), 0.0)
    with credit.part("mean of one"):
        checks.check_close(noisy_mean([1.0]), 1.0)
    assert credit.result() == 1.0
    checks.check_raises("ValueError", lambda: noisy_then_raises([]))
    assert capsys.readouterr().err == ""


def test_partial_credit_lets_interrupts_through():
    credit = checks.PartialCredit(points=1)
    with pytest.raises(KeyboardInterrupt), credit.part("x"):
        raise KeyboardInterrupt
    with pytest.raises(ValueError):
        checks.PartialCredit(points=0)
    with pytest.raises(ValueError):
        credit.result()


# --------------------------------------------------------------------------------------
# In a real kernel, as in a graded notebook
# --------------------------------------------------------------------------------------

STUDENT_ATTACKS = """
import builtins
import numpy as np
from medai_edu.grading import checks

abs = lambda x: 0
len = lambda x: 3
isinstance = lambda *a: True
builtins.abs = lambda x: 0  # (rebinding isinstance or len in builtins hangs the kernel itself)
builtins.round = lambda *a: 0.3
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
vars(checks)["_close"] = lambda *a: True
vars(checks)["restore"] = lambda: None
checks.check_array_close.__code__ = (lambda *a, **k: None).__code__


class Answer(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


answer = Answer(0.5)
curve = np.array([1.0, 2.0, 4.0])
"""


def test_in_a_kernel_the_attacks_fail_and_honest_answers_pass(tmp_path):
    cells = [
        "from medai_edu.grading import checks",  # the locked set-up cell
        STUDENT_ATTACKS,
        "checks.check_close = lambda *a, **k: None",  # refused
        "from medai_edu.grading import checks\nchecks.restore()\nchecks.check_close(answer, 0.3)",
        "from medai_edu.grading import checks\nchecks.restore()\n"
        "checks.check_array_close(curve, [1.0, 2.0, 3.0], reveal=False)",
        "from medai_edu.grading import checks\nchecks.fresh().check_close(answer, 0.3)",
        "np.testing.assert_allclose(curve, [1.0, 2.0, 3.0])",  # restored by restore() above
        "from medai_edu.grading import checks\nchecks.restore()\n"
        "checks.check_close(float.__float__(answer) - 0.2, 0.3)",  # honest: passes
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True)
    client.execute(cwd=str(tmp_path))

    def error(index):
        errors = [o for o in nb.cells[index].outputs if o.output_type == "error"]
        return errors[0] if errors else None

    assert error(0) is None and error(1) is None
    assert error(2).ename == "AttributeError"
    assert error(3).ename == "CheckFailed" and "not an object of type Answer" in error(3).evalue
    assert error(4).ename == "CheckFailed" and "hidden" in error(4).evalue
    assert "3.0" not in error(4).evalue
    assert error(5).ename == "CheckFailed"
    assert error(6).ename == "AssertionError"
    assert error(7) is None
