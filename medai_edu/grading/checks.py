"""Checks for nbgrader test cells that a student's notebook cannot easily fool.

A test cell runs in the student's kernel, after the student's code. ``assert answer == 0.3``
there trusts the student three times: ``answer.__eq__`` may always return True, ``abs`` or
``np.allclose`` may have been rebound, and the assertion itself may be on an object whose
``__bool__`` lies. The helpers here do not trust the answer:

* **Exact types.** An answer must be exactly a ``bool``, ``int``, ``float``, ``str``,
  ``None``, a ``list``/``tuple``/``dict`` of those, a numpy scalar (converted with the
  builtin ``int``/``float``/``bool``) or an ``np.ndarray`` (exactly that type, never a
  subclass) of booleans, integers or floats. ``type(x) is _float``: a subclass of float, int,
  str or ndarray is refused, whatever comparisons it overrides.
* **No method of the answer is called.** No ``==``, ``bool()``, ``float()``, ``__array__``
  or ``repr`` on anything but those exact types; arrays are read with ``ndarray.tolist()``
  (a method of numpy's own, immutable type), and every comparison is then made on plain
  Python numbers and strings.
* **Nothing the notebook can rebind is looked up at check time.** The builtins come from a
  copy taken when this module was first imported (the assignment's locked set-up cell, before
  any student code); no numpy function is used.
* **The helpers stay the helpers.** The imported module refuses ``checks.check_close =
  lambda *a, **k: None`` (AttributeError) and ``checks.<helper>`` always returns the function
  defined here. :func:`restore` undoes what is left: replaced entries of the module's
  ``__dict__``, a helper's swapped ``__code__`` or defaults, rebound builtins
  (``builtins.abs = ...``) and numpy functions (``np.allclose = ...``). :func:`fresh` returns
  a newly loaded copy of this module.

In a test cell::

    from medai_edu.grading import checks

    checks.restore()
    checks.check_close(sensitivity(y, p, 0.5), 2 / 3, what="sensitivity(y, p, 0.5)")
    ### BEGIN HIDDEN TESTS
    checks.check_close(sensitivity(y2, p2, 0.3), want, what="sensitivity", reveal=False)
    ### END HIDDEN TESTS

A failed check raises :class:`CheckFailed` (an ``AssertionError``) whose message says what
was checked, what was got and, unless ``reveal=False`` (use it in hidden tests), what was
expected. :class:`PartialCredit` turns several checks into a partial score, the value nbgrader
reads from the cell's last output.

These in-process defences raise the bar; they are no sandbox (a student's code can still
reach anything in its own process). The grading pipeline runs each notebook in its own
process, restores edited or deleted test cells and never trusts a kernel's outputs alone.
"""

# Imported this way, the import runs no Python-level importlib code (a fresh copy is loaded
# while a notebook's rebound builtins may be in place).
import medai_edu.grading._loader as _loader

__all__ = [
    "SEALED",
    "CheckFailed",
    "PartialCredit",
    "check_array_close",
    "check_close",
    "check_equal",
    "check_raises",
    "check_type",
    "fresh",
    "restore",
]

# Everything used at check time, bound once to private names (see the module docstring).
_B = _loader.BUILTINS
_type = _B["type"]
_len = _B["len"]
_int = _B["int"]
_float = _B["float"]
_bool = _B["bool"]
_str = _B["str"]
_repr = _B["repr"]
_range = _B["range"]
_list = _B["list"]
_tuple = _B["tuple"]
_dict = _B["dict"]
_print = _B["print"]
_setattr = _B["setattr"]
_delattr = _B["delattr"]
_issubclass = _B["issubclass"]
_BaseException = _B["BaseException"]
_Exception = _B["Exception"]
_AssertionError = _B["AssertionError"]
_NotImplementedError = _B["NotImplementedError"]
_TypeError = _B["TypeError"]
_ValueError = _B["ValueError"]
_OverflowError = _B["OverflowError"]
_NoneType = _type(None)
_FunctionType = _type(lambda: None)
_BuiltinFunctionType = _type(_len)
_type_name = _type.__dict__["__name__"].__get__  # reads a type's name, bypassing metaclasses
_NDARRAY = _loader.NUMPY["ndarray"]
_NP_BOOL = _loader.NUMPY["bool"]
_NP_INT = _loader.NUMPY["integer"]
_NP_FLOAT = _loader.NUMPY["floating"]
_MODULES = _loader.MODULES
_SNAPSHOTS = {
    "builtins": _B,
    "numpy": _loader.NUMPY["namespace"],
    "numpy.testing": _loader.NUMPY["testing"],
}
_load_fresh = _loader.load_fresh
_catch_warnings = _loader.CATCH_WARNINGS
_FILE = __file__
_NAME = __name__
_INF = _float("inf")
_MAX_DEPTH = 64
_SHOW = 100  # characters of a value shown in a message


class CheckFailed(_AssertionError):
    """A check failed; the message is written for the student."""


# --------------------------------------------------------------------------------------
# Grading outside the kernel: records of the reference run, probes of a student's run
# --------------------------------------------------------------------------------------
#
# The grader never lets a student's kernel decide whether a test passed (see the grading
# guide). It runs the instructor's solution once with MEDAI_EDU_CHECKS=record and the expected
# values sealed: every check then publishes the solution's answer as what it expects, with
# its tolerances and message. In a student's run the grader seals each check call to
# ``checks.check_close(answer, checks.SEALED)``: the expected values never reach the kernel,
# and the check only publishes the answer it was given (a probe). The grader compares probes
# with records itself (:func:`judge`), outside the kernel.

#: Stands in for everything but the answer in a sealed check call.
SEALED = _loader.SEALED
#: The MIME type of records and probes in the kernel's display messages.
MIME = "application/vnd.medai-edu.check+json"
_MODE = _loader.CHECKS_MODE  # "record" in the reference run, else ""
_publish = _loader.PUBLISH
_dumps = _loader.JSON_DUMPS
_STATE = {"part": None}  # the PartialCredit part running now


def _encode(value):
    """A plain value as JSON that keeps what JSON would lose: tuples, non-string keys."""
    kind = _type(value)
    if kind is _list:
        return [_encode(item) for item in value]
    if kind is _tuple:
        return {"t": [_encode(item) for item in value]}
    if kind is _dict:
        return {"d": [[_encode(k), _encode(v)] for k, v in value.items()]}
    return value


def _decode(value):
    kind = _type(value)
    if kind is _list:
        return [_decode(item) for item in value]
    if kind is _dict:
        if "t" in value:
            return _tuple([_decode(item) for item in value["t"]])
        return {_decode(k): _decode(v) for k, v in value["d"]}
    return value


def _send(payload: dict) -> None:
    if _publish is None:
        raise _B["RuntimeError"]("checks are graded outside the kernel only under IPython")
    payload["part"] = _STATE["part"]
    _publish({MIME: _dumps(payload)})


def _probe(kind: str, read) -> None:
    """Publish the answer as ``read()`` gives it, or why it cannot be read."""
    try:
        _send({"kind": kind, "value": _encode(read())})
    except CheckFailed as failed:
        _send({"kind": kind, "refused": failed.args[0]})


def _record(kind: str, **spec) -> None:
    if _MODE == "record":
        _send({"kind": kind, **spec})


# --------------------------------------------------------------------------------------
# Reading an answer into plain Python values, without calling any of its methods
# --------------------------------------------------------------------------------------


def _is_one_of(kind, kinds) -> bool:
    """``kind`` is one of ``kinds``, by identity (``in`` would call a metaclass's ``__eq__``)."""
    for candidate in kinds:
        if kind is candidate:
            return True
    return False


def _name(value) -> str:
    return _type_name(_type(value))


def _scalar(value):
    """The builtin bool/int/float/str/None for an exact scalar, else the ``_NOT`` marker."""
    kind = _type(value)
    if kind is _bool or kind is _int or kind is _float or kind is _str or kind is _NoneType:
        return value
    if _is_one_of(kind, _NP_FLOAT):
        return _float(value)
    if _is_one_of(kind, _NP_INT):
        return _int(value)
    if _is_one_of(kind, _NP_BOOL):
        return _bool(value)
    return _NOT


_NOT = object()  # "not a scalar"
_ACCEPTED = (
    "a number, a string, True/False, None, a list, tuple or dict of those, or a numpy array of "
    "numbers"
)


def _refuse(value, what: str):
    kind = _type(value)
    if _issubclass(kind, _NDARRAY):
        hint = " (a subclass of np.ndarray; convert it with np.asarray)"
    else:
        hint = ""
    raise CheckFailed(f"{what} should be {_ACCEPTED}, not an object of type {_name(value)}{hint}")


def _array_values(array, what: str):
    kind = array.dtype.kind
    if not (kind == "b" or kind == "i" or kind == "u" or kind == "f"):
        raise CheckFailed(
            f"{what} is a numpy array of dtype kind {kind!r}; it should hold booleans, "
            "integers or floats"
        )
    return array.tolist()


def _plain(value, what: str, depth: int = 0):
    """``value`` rebuilt from exact builtin types only; :class:`CheckFailed` for anything else.

    Lists stay lists, tuples stay tuples, dicts stay dicts; numpy scalars become Python
    scalars and arrays nested lists (``tolist``).
    """
    scalar = _scalar(value)
    if scalar is not _NOT:
        return scalar
    if depth > _MAX_DEPTH:
        raise CheckFailed(f"{what} is nested too deeply")
    kind = _type(value)
    if kind is _list:
        return [_plain(item, what, depth + 1) for item in value]
    if kind is _tuple:
        return _tuple([_plain(item, what, depth + 1) for item in value])
    if kind is _dict:
        plain = {}
        for key, item in value.items():
            plain[_plain(key, what, depth + 1)] = _plain(item, what, depth + 1)
        if _len(plain) != _len(value):
            raise CheckFailed(f"{what} has keys that are equal to each other (such as 1 and 1.0)")
        return plain
    if kind is _NDARRAY:
        return _array_values(value, what)
    _refuse(value, what)


# --------------------------------------------------------------------------------------
# Comparing plain values
# --------------------------------------------------------------------------------------


def _category(value) -> str:
    kind = _type(value)
    if kind is _bool:
        return "True or False"
    if kind is _int or kind is _float:
        return "a number"
    if kind is _str:
        return "a string"
    if kind is _NoneType:
        return "None"
    if kind is _list or kind is _tuple:
        return "a list or tuple"
    return "a dict"


def _is_nan(x) -> bool:
    return _type(x) is _float and x != x


def _close(got, want, rtol: float, atol: float, equal_nan: bool) -> bool:
    """|got - want| <= atol + rtol * |want| on Python numbers (numpy.isclose's rule)."""
    if got == want:
        return True
    if _type(got) is _bool or _type(want) is _bool:
        return False  # True/False match only exactly
    if _is_nan(got) or _is_nan(want):
        return equal_nan and _is_nan(got) and _is_nan(want)
    if got == _INF or got == -_INF or want == _INF or want == -_INF:
        return False
    try:
        diff = got - want
        if diff < 0:
            diff = -diff
        scale = want if want >= 0 else -want
        return diff <= atol + rtol * scale
    except _OverflowError:
        return False


def _show(value) -> str:
    text = _repr(value)
    return text if _len(text) <= _SHOW else text[: _SHOW - 5] + " ...)"


class _Options:
    def __init__(self, rtol, atol, equal_nan, reveal, what):
        self.rtol, self.atol, self.equal_nan = _float(rtol), _float(atol), _bool(equal_nan)
        self.reveal, self.what = _bool(reveal), what

    def differs(self, where: str, got, want) -> str:
        if self.reveal:
            tolerance = ""
            if _category(want) == "a number" and (self.rtol or self.atol):
                tolerance = f" (to within rtol={self.rtol:g}, atol={self.atol:g})"
            return f"{self.what}{where}: expected {_show(want)}{tolerance}, got {_show(got)}"
        return f"{self.what}{where} is not right on a hidden test case (got {_show(got)})"


def _compare(got, want, options: _Options, where: str = ""):
    """None when the plain values agree, else a message for the student."""
    category = _category(want)
    if _category(got) != category:
        return f"{options.what}{where} should be {category}, not {_category(got)}"
    if category == "a number":
        if _close(got, want, options.rtol, options.atol, options.equal_nan):
            return None
        return options.differs(where, got, want)
    if category == "a list or tuple":
        if _len(got) != _len(want):
            if options.reveal:
                return f"{options.what}{where} should have {_len(want)} items, not {_len(got)}"
            return f"{options.what}{where} has {_len(got)} items, not the expected number"
        for index in _range(_len(want)):
            found = _compare(got[index], want[index], options, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    if category == "a dict":
        missing = [key for key in want if key not in got]
        extra = [key for key in got if key not in want]
        if missing or extra:
            if options.reveal:
                return (
                    f"{options.what}{where} should have the keys {_show(_list(want))}, "
                    f"got {_show(_list(got))}"
                )
            return f"{options.what}{where} has the keys {_show(_list(got))}, not the expected ones"
        for key in want:
            found = _compare(got[key], want[key], options, f"{where}[{_show(key)}]")
            if found is not None:
                return found
        return None
    if got == want:  # str, bool or None: builtin equality
        return None
    return options.differs(where, got, want)


# --------------------------------------------------------------------------------------
# Arrays: shape, element kind, then every element
# --------------------------------------------------------------------------------------


def _shape_and_values(plain, what: str):
    """(shape, flat list) of nested lists/tuples of scalars; CheckFailed when ragged."""
    kind = _type(plain)
    if not (kind is _list or kind is _tuple):
        if kind is _str or kind is _dict or kind is _NoneType:
            raise CheckFailed(f"{what} should be an array of numbers, not {_category(plain)}")
        return (), [plain]
    if _len(plain) == 0:
        return (0,), []
    shapes, values = [], []
    for item in plain:
        shape, flat = _shape_and_values(item, what)
        shapes.append(shape)
        values.extend(flat)
    for shape in shapes:
        if shape != shapes[0]:
            raise CheckFailed(f"{what} is ragged: its rows have different lengths")
    return (_len(plain),) + shapes[0], values


def _as_array(value, what: str):
    if _type(value) is _NDARRAY:
        shape = value.shape
        return shape, _plain(value.reshape(-1), what) if _len(shape) else [_plain(value, what)]
    return _shape_and_values(_plain(value, what), what)


def _unravel(index: int, shape) -> tuple:
    position = []
    for size in shape[::-1]:
        position.append(index % size)
        index //= size
    return _tuple(position[::-1])


# --------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------


def _resolve_types(types) -> tuple:
    """A tuple of types from a type, a builtin's name ("float") or a tuple of those.

    Names are looked up in the builtins as they were at import, so a notebook's ``float =
    MyFloat`` cannot change what a test cell's ``check_type(x, "float")`` accepts.
    """
    kinds = types if _type(types) is _tuple else (types,)
    resolved = []
    for kind in kinds:
        if _type(kind) is _str:
            kind = _B[kind]
        if not _issubclass(_type(kind), _type):
            raise _TypeError(f"not a type: {kind!r}")
        resolved.append(kind)
    return _tuple(resolved)


def _full_name(kind) -> str:
    """``module.QualName`` of a type, read past any metaclass."""
    module = _type.__dict__["__module__"].__get__(kind)
    return f"{module}.{_type.__dict__['__qualname__'].__get__(kind)}"


def _len_of(actual):
    """The length of an exact list, tuple, dict or str, else None."""
    kind = _type(actual)
    if kind is _list or kind is _tuple or kind is _dict or kind is _str:
        return _len(actual)
    return None


def check_type(actual, types, what: str = "the answer", reveal: bool = True, length=None):
    """Check that ``type(actual)`` is exactly one of ``types``: a type, the name of a builtin
    type (``"float"``) or a tuple of those.

    Subclasses are refused. With ``length``, ``actual`` (a list, tuple, dict or str) must also
    have that many items. Returns ``actual``, so ``a, b = check_type(result, "tuple",
    length=2)`` unpacks a checked tuple. ``reveal`` is accepted for symmetry; types and lengths
    are part of the task, so they are always shown.
    """
    if types is SEALED:
        _probe("type", lambda: _full_name(_type(actual)))
        _probe("length", lambda: _len_of(actual))
        return actual
    kinds = _resolve_types(types)
    _record(
        "type",
        accepted=[_full_name(t) for t in kinds],
        names=[_type_name(t) for t in kinds],
        what=what,
    )
    _record("length", length=length, what=what)
    kind = _type(actual)
    if not _is_one_of(kind, kinds):
        names = " or ".join([_type_name(t) for t in kinds])
        raise CheckFailed(f"{what} should be of type {names}, not {_name(actual)}")
    if length is not None:
        if not (kind is _list or kind is _tuple or kind is _dict or kind is _str):
            raise _TypeError("check_type(length=...) needs list, tuple, dict or str types")
        if _len(actual) != length:
            raise CheckFailed(f"{what} should have {length} items, not {_len(actual)}")
    return actual


def _raised(call):
    """The full names of the exception ``call()`` raises and its bases, or None."""
    try:
        with _catch_warnings(record=True):
            call()
    except _Exception as error:
        return [_full_name(kind) for kind in _type.__dict__["__mro__"].__get__(_type(error))]
    return None


def check_raises(exception, call, what: str = "the call", reveal: bool = True) -> None:
    """Check that ``call()`` raises ``exception`` (an exception class, or the name of a builtin
    one: ``"ValueError"``, looked up as at import) or a subclass of it.

    ``call`` takes no arguments: ``check_raises("ValueError", lambda: f([]), what="f([])")``.
    The student's exception is never converted to text; only its type is named.
    """
    if exception is SEALED:
        _probe("raises", lambda: _raised(call))
        return
    expected = _B[exception] if _type(exception) is _str else exception
    if not (_issubclass(_type(expected), _type) and _issubclass(expected, _BaseException)):
        raise _TypeError(f"not an exception class: {exception!r}")
    _record("raises", expected=_full_name(expected), name=_type_name(expected), what=what)
    try:
        with _catch_warnings(record=True):  # a warning on stderr would zero the test cell
            call()
    except _Exception as error:
        kind = _type(error)
        if _issubclass(kind, expected):
            return
        raised = _type_name(kind)
        message = f"{what} should raise {_type_name(expected)}, not {raised}"
    else:
        message = f"{what} should raise {_type_name(expected)}, but it returned without one"
    raise CheckFailed(message)


def check_equal(actual, expected, what: str = "the answer", reveal: bool = True) -> None:
    """Check that ``actual`` equals ``expected`` exactly (numbers, strings, booleans, None,
    and lists, tuples, dicts and arrays of them).

    True/False is not a number here, nor a number True/False; a list and a tuple with the same
    items are equal. Floats are compared exactly: use :func:`check_close` for computed ones.
    """
    if expected is SEALED and _MODE == "record":  # the reference run: the solution's answer
        expected = actual
    elif expected is SEALED:
        return _probe("equal", lambda: _plain(actual, what))
    options = _Options(0.0, 0.0, False, reveal, what)
    want = _plain(expected, "the expected value")
    _record("equal", expected=_encode(want), what=what, reveal=reveal)
    found = _compare(_plain(actual, what), want, options)
    if found is not None:
        raise CheckFailed(found)


def check_close(
    actual,
    expected,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    what: str = "the answer",
    reveal: bool = True,
    equal_nan: bool = False,
) -> None:
    """Check that the number ``actual`` is within ``atol + rtol * |expected|`` of ``expected``
    (numpy.isclose's rule), or, for lists, tuples and dicts, that every number in it is.

    NaN matches NaN only with ``equal_nan=True``; infinities match only themselves.
    """
    if expected is SEALED and _MODE == "record":  # the reference run: the solution's answer
        expected = actual
    elif expected is SEALED:
        return _probe("close", lambda: _plain(actual, what))
    options = _Options(rtol, atol, equal_nan, reveal, what)
    want = _plain(expected, "the expected value")
    _record("close", expected=_encode(want), **_spec(options))
    found = _compare(_plain(actual, what), want, options)
    if found is not None:
        raise CheckFailed(found)


def check_array_close(
    actual,
    expected,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    what: str = "the answer",
    reveal: bool = True,
    equal_nan: bool = False,
) -> None:
    """Check an array (an exact ``np.ndarray`` or nested lists/tuples of numbers): the same
    shape as ``expected``, booleans where booleans are expected (and numbers where numbers
    are), and every element close (see :func:`check_close`)."""
    if expected is SEALED and _MODE == "record":  # the reference run: the solution's answer
        expected = actual
    elif expected is SEALED:
        return _probe("array", lambda: _list(_as_array(actual, what)))
    options = _Options(rtol, atol, equal_nan, reveal, what)
    want = _list(_as_array(expected, "the expected value"))
    _record("array", expected=_encode(want), **_spec(options))
    found = _array_differs(_as_array(actual, what), want, options)
    if found is not None:
        raise CheckFailed(found)


def _array_differs(got, want, options: _Options):
    """None when the (shape, flat values) ``got`` matches ``want``, else a message."""
    (shape, values), (want_shape, wanted) = got, want
    shape, want_shape = _tuple(shape), _tuple(want_shape)
    what = options.what
    if shape != want_shape:
        if options.reveal:
            return f"{what} should have shape {want_shape}, not {shape}"
        return f"{what} has shape {shape}, not the expected shape"
    for index in _range(_len(wanted)):
        if _category(values[index]) != _category(wanted[index]):
            place = f"{what}[{', '.join([_str(i) for i in _unravel(index, shape)])}]"
            return f"{place} should be {_category(wanted[index])}, not {_category(values[index])}"
    wrong = [
        index
        for index in _range(_len(wanted))
        if not _close(values[index], wanted[index], options.rtol, options.atol, options.equal_nan)
    ]
    if wrong:
        first = wrong[0]
        where = "[" + ", ".join([_str(i) for i in _unravel(first, shape)]) + "]"
        detail = options.differs(where, values[first], wanted[first])
        return f"{detail}; {_len(wrong)} of {_len(wanted)} values differ"
    return None


def _spec(options: _Options) -> dict:
    return {
        "rtol": options.rtol,
        "atol": options.atol,
        "equal_nan": options.equal_nan,
        "reveal": options.reveal,
        "what": options.what,
    }


def judge(record: dict, probe: dict):
    """Outside the kernel: None when a student's ``probe`` satisfies the reference run's
    ``record`` of the same check, else the message for the student. Both are the decoded
    JSON the checks published."""
    kind, what = record["kind"], record.get("what", "the answer")
    if probe.get("kind") != kind:
        return f"{what}: the check did not run as the test wrote it"
    if "refused" in probe:
        return _str(probe["refused"])
    got = _decode(probe.get("value"))
    if kind == "type":
        if got in record["accepted"]:
            return None
        names = " or ".join(record["names"])
        return f"{what} should be of type {names}, not {got.rsplit('.', 1)[-1]}"
    if kind == "length":
        want = record["length"]
        if want is None or got == want:
            return None
        return f"{what} should have {want} items, not {got}"
    if kind == "raises":
        if got is not None and record["expected"] in got:
            return None
        raised = "returned without one" if got is None else f"raised {got[0].rsplit('.', 1)[-1]}"
        return f"{what} should raise {record['name']}, but it {raised}"
    reveal = record.get("reveal", True)
    if kind == "equal":
        options = _Options(0.0, 0.0, False, reveal, what)
    else:
        rtol, atol = record["rtol"], record["atol"]
        options = _Options(rtol, atol, record["equal_nan"], reveal, what)
    want = _decode(record["expected"])
    if kind == "array":
        return _array_differs(got, want, options)
    return _compare(got, want, options)


# --------------------------------------------------------------------------------------
# Partial credit
# --------------------------------------------------------------------------------------


class _Part:
    """``with credit.part(name):`` records whether the block ran without an exception.

    Warnings raised inside the block are recorded and dropped: nbgrader scores a test cell
    that writes to stderr 0, and a warning from a half-right answer must not cost the other
    parts their points.
    """

    def __init__(self, credit, name: str):
        self._credit, self._name = credit, name
        self._quiet = _catch_warnings(record=True)

    def __enter__(self):
        self._quiet.__enter__()
        _STATE["part"] = self._name
        return self

    def __exit__(self, kind, error, traceback):
        self._quiet.__exit__(None, None, None)
        _STATE["part"] = None
        if kind is None:
            self._credit._results.append((self._name, True, ""))
            return False
        if not _issubclass(kind, _Exception):
            return False  # KeyboardInterrupt, SystemExit: let them through
        if kind is CheckFailed and _len(error.args) == 1 and _type(error.args[0]) is _str:
            message = error.args[0]
        elif _issubclass(kind, _NotImplementedError):
            message = "not answered yet (NotImplementedError)"
        else:  # the student's exception: name its type, never call its __str__
            message = f"raised {_type_name(kind)}"
        self._credit._results.append((self._name, False, message))
        return True


class PartialCredit:
    """Points in proportion to the parts of an answer that pass their checks.

    nbgrader gives a test cell partial credit when the cell's last output is a number between
    0 and its points (``nbgrader.utils.determine_grade``). So::

        credit = checks.PartialCredit(points=4)  # the cell's points
        with credit.part("sensitivity"):
            checks.check_close(sens, 2 / 3)
        with credit.part("specificity"):
            checks.check_close(spec, 0.8)
        credit.result()  # the last line: 4.0, 2.0 or an AssertionError (no part right)

    Any ``Exception`` inside a part (a failed check, the student's ``NotImplementedError``)
    fails that part only. :meth:`result` prints which parts failed (to stdout: nbgrader scores a
    cell that writes to stderr 0) and raises :class:`CheckFailed` when none passed, so an
    unanswered question scores 0 and fails validation.
    """

    def __init__(self, points: float):
        self._points = _float(points)
        if not self._points > 0:
            raise _ValueError(f"points must be > 0, got {points!r}")
        self._results = []

    def part(self, name: str) -> _Part:
        return _Part(self, name)

    def result(self) -> float:
        total = _len(self._results)
        if total == 0:
            raise _ValueError("PartialCredit.result() before any part was checked")
        passed = _len([1 for _, ok, _ in self._results if ok])
        earned = self._points * passed / total
        for name, ok, message in self._results:
            if not ok:
                _print(f"not yet right: {name}: {message}")
        summary = f"{passed} of {total} parts right: {earned:g} of {self._points:g} points"
        if passed == 0:
            raise CheckFailed(summary)
        _print(summary)
        return _float(earned)


# --------------------------------------------------------------------------------------
# Undoing a notebook's tampering
# --------------------------------------------------------------------------------------


def fresh():
    """A newly loaded copy of this module, executed from its file with the builtins as they
    were at the first import (not the module object in ``sys.modules``)."""
    return _load_fresh(_FILE, _NAME)


_CLASSES = (CheckFailed, _Part, PartialCredit, _Options)
_UNSETTABLE = ("__dict__", "__weakref__")


def _make_restore():
    # Everything restore() uses is bound here, in its closure, not looked up in the module.
    namespace, missing, type_, function_type = globals(), _NOT, _type, _FunctionType
    builtin_function, unsettable = _BuiltinFunctionType, _UNSETTABLE
    setattr_, delattr_ = _setattr, _delattr
    modules, snapshots = _MODULES, _SNAPSHOTS
    names = _dict(namespace)
    functions = [value for value in names.values() if type_(value) is function_type]
    classes = {}
    for cls in _CLASSES:
        members = {k: v for k, v in cls.__dict__.items() if k not in unsettable}
        classes[cls] = members
        functions.extend([v for v in members.values() if type_(v) is function_type])
    code = [(f, f.__code__, f.__defaults__, f.__kwdefaults__) for f in functions]

    def restore_namespace(current: dict, pristine: dict, only_builtins: bool) -> None:
        for key, value in pristine.items():
            if key.startswith("_") and key not in ("__import__", "__build_class__"):
                continue
            if only_builtins and not (type_(value) is builtin_function or type_(value) is type_):
                continue  # e.g. ipykernel's own input(), IPython's exit
            if current.get(key, missing) is not value:
                current[key] = value

    def restore() -> None:
        """Undo a notebook's rebinding of this module's functions and classes (including
        their code), of the builtins (``builtins.abs = ...``) and of numpy's and
        numpy.testing's functions (``np.allclose = ...``).

        Names a notebook defines in its own namespace (``abs = lambda x: 0``) are left alone:
        the checks never use the notebook's namespace.
        """
        for key in [k for k in namespace if k not in names and not k.startswith("__")]:
            del namespace[key]
        for key, value in names.items():
            if namespace.get(key, missing) is not value:
                namespace[key] = value
        for function, original, defaults, kwdefaults in code:
            if function.__code__ is not original:
                function.__code__ = original
            function.__defaults__, function.__kwdefaults__ = defaults, kwdefaults
        for cls, members in classes.items():
            for key in [k for k in cls.__dict__ if k not in members and k not in unsettable]:
                delattr_(cls, key)
            for key, value in members.items():
                if cls.__dict__.get(key, missing) is not value:
                    setattr_(cls, key, value)
        for module, pristine in snapshots.items():
            current = modules[module].__dict__
            restore_namespace(current, pristine, only_builtins=module == "builtins")

    names["restore"] = restore
    return restore


restore = _make_restore()


def _read_only_module_type():
    """A module type whose public helpers cannot be rebound through the module object.

    ``checks.check_close = lambda *a, **k: None`` and ``checks.restore = lambda: None`` raise
    AttributeError in the student's cell, and ``checks.<helper>`` always gives the helper
    defined here, even after its entry in the module's ``__dict__`` was replaced (what that
    reaches inside the helpers, restore() puts back). Dunder attributes stay settable, for
    the import system (``importlib.reload``).
    """
    module_type = _type(_loader)
    get, set_ = module_type.__getattribute__, module_type.__setattr__
    pristine = {name: globals()[name] for name in __all__}
    missing, error, startswith = _NOT, _B["AttributeError"], _str.startswith

    def read_only(name):
        return error(f"the grading helpers cannot be changed (checks.{name})")

    class ReadOnlyModule(module_type):
        def __getattribute__(self, name):
            value = pristine.get(name, missing)
            return get(self, name) if value is missing else value

        def __setattr__(self, name, value):
            if name == "__class__" or not startswith(name, "__"):
                raise read_only(name)
            set_(self, name, value)

        def __delattr__(self, name):
            raise read_only(name)

    return ReadOnlyModule


def _protect_this_module() -> None:
    import sys

    module_type = _type(_loader)
    this = sys.modules.get(_NAME)
    if this is not None and this.__dict__ is globals() and _issubclass(_type(this), module_type):
        # only the imported module (also when reloaded), not the copies fresh() makes
        module_type.__setattr__(this, "__class__", _read_only_module_type())


_protect_this_module()
