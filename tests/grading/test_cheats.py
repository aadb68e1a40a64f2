"""Cheats that work on the kernel itself, against submissions whose answers are all wrong.

Each cheat is one student cell put right after the set-up cell, spelled so that no list of
patterns over source lines would find it (string concatenation, ``getattr``, ``exec`` of an
encoded string, a patched class attribute, a module swapped in ``sys.modules``). The grader
judges test cells outside the kernel (:mod:`medai_edu.grading.verdict`), so every one of
them scores 0, and the flags name what each one tried. Honest samples keep their grades.
Solutions that import the course's reference functions score 0 on those questions.
"""

from __future__ import annotations

import base64

import nbformat
import pytest

from medai_edu.grading.autograde import grade_assignment
from medai_edu.grading.repair import grade_id
from medai_edu.grading.sandbox import SandboxLimits

from .conftest import ROOT, copy_course

pytestmark = pytest.mark.slow

ASSIGNMENT = "data-and-metrics"
NAME = f"{ASSIGNMENT}.ipynb"
SAMPLES = ROOT / "autograder" / "samples" / ASSIGNMENT
LIMITS = SandboxLimits(cell_timeout_seconds=20, wall_seconds=120, cpu_seconds=60)
TESTS = ("q1_tests", "q2_tests", "q3_tests", "q4_tests")

WRONG = {
    "q1_solution": (
        "def class_balance(y):\n    return {'malignant': 1, 'benign': 1, 'prevalence': 0.5}"
    ),
    "q2_solution": "def sensitivity_specificity(y_true, p, threshold):\n    return (0.5, 0.5)",
    "q3_solution": "def auroc_by_ranks(y_true, scores):\n    return 0.5",
    "q4_solution": "def threshold_for_sensitivity(y_true, p, target=0.95):\n    return 0.5",
}

SILENCE = (
    "getattr(get_ipython(), 'set_' + 'custom' + '_exc')((BaseException,), lambda *a, **k: None)"
)

CHEATS = {
    # exceptions silenced through IPython's own API, in one obliquely spelled line
    "silence_getattr": SILENCE,
    # the same, hidden in an encoded string
    "silence_exec": (
        "exec(__import__('base64').b64decode("
        f"{base64.b64encode(SILENCE.encode()).decode()!r}).decode())"
    ),
    # tracebacks silenced by patching the shell's class
    "class_patch": (
        "shell = type(get_ipython())\n"
        "for name in ('show' + 'traceback', '_show' + 'traceback'):\n"
        "    setattr(shell, name, lambda *a, **k: None)"
    ),
    # stderr swallowed and errors silenced
    "streams": f"import io\nsys_ = __import__('s' + 'ys')\nsys_.stderr = io.StringIO()\n{SILENCE}",
    # the test helpers' module swapped for one that checks nothing and gives full credit
    "fake_checks": (
        "import contextlib, types\n"
        "fake = types.ModuleType('checks')\n"
        "fake.restore = lambda: None\n"
        "fake.SEALED = object()\n"
        "for name in ('check_close', 'check_equal', 'check_array_close', 'check_raises'):\n"
        "    setattr(fake, name, lambda *a, **k: None)\n"
        "fake.check_type = lambda answer, *a, **k: answer\n"
        "class Credit:\n"
        "    def __init__(self, points): self.points = points\n"
        "    def part(self, name): return contextlib.nullcontext()\n"
        "    def result(self): return self.points\n"
        "fake.PartialCredit = Credit\n"
        "getattr(__import__('sy' + 's'), 'modules')['medai_edu.grading.checks'] = fake\n"
        "vars(__import__('medai_edu.grading').grading)['checks'] = fake"
    ),
    # every line of every later cell that mentions a check is dropped before it runs
    "rewrite_tests": (
        "hooks = getattr(get_ipython(), 'input_transformers' + '_post')\n"
        "hooks.append(lambda lines: [l for l in lines if 'check' not in l])"
    ),
    # the checks' results forged: each test cell publishes made-up answers instead
    "forge_results": (
        "from IPython.display import publish_display_data\n"
        "def forge(lines):\n"
        "    if not any('check' in l for l in lines):\n"
        "        return lines\n"
        "    mime = 'application/vnd.medai-edu.check' + '+json'\n"
        "    fake = [{'kind': 'equal', 'value': True}, {'kind': 'close', 'value': 0.75}]\n"
        "    return [f'publish_display_data({{{mime!r}: {__import__(\"json\").dumps(f)!r}}})\\n'\n"
        "            for f in fake * 20]\n"
        "getattr(get_ipython(), 'input_transformers' + '_post').append(forge)"
    ),
    # the kernel's reply made to say "ok" whatever happened, and errors silenced
    "kernel_reply": (
        "from ipykernel.ipkernel import IPythonKernel\n"
        "original = IPythonKernel.do_execute\n"
        "async def do_execute(self, *args, **kwargs):\n"
        "    reply = await original(self, *args, **kwargs)\n"
        "    reply['status'] = 'ok'\n"
        "    return reply\n"
        "setattr(IPythonKernel, 'do_' + 'execute', do_execute)\n"
        f"{SILENCE}"
    ),
}

# What each cheat's flags must name
FLAGGED = {
    "silence_getattr": "set_custom_exc",
    "silence_exec": "set_custom_exc",
    "class_patch": "showtraceback was replaced",
    "streams": "sys.stderr was replaced",
    "fake_checks": "helpers' module was replaced",
    "rewrite_tests": "input transformers",  # and: checks did not report, yet no error
    "forge_results": "input transformers",
    "kernel_reply": "do_execute was replaced",
}

IMPORTS = {
    # the reference functions imported by name: those questions score 0
    "import_reference": (
        "from medai_edu.metrics import auroc, sensitivity_specificity, threshold_for_sensitivity\n"
        "def auroc_by_ranks(y_true, scores):\n    return auroc(y_true, scores)"
    ),
    # the same, spelled so that no static reading can see it: the module is not there
    "import_oblique": (
        "module = __import__('importlib').import_module('medai_edu' + '.met' + 'rics')\n"
        "def auroc_by_ranks(y_true, scores):\n    return module.auroc(y_true, scores)"
    ),
}


def sample(name: str):
    return nbformat.read(SAMPLES / name / NAME, 4)


def cell(nb, gid: str):
    return next(c for c in nb.cells if grade_id(c) == gid)


def wrong_answers():
    nb = sample("alice")
    for gid, source in WRONG.items():
        cell(nb, gid).source = source
    return nb


def submissions() -> dict[str, bytes]:
    out = {name: nbformat.writes(sample(name)).encode() for name in ("alice", "bob", "carol")}
    out["wrong"] = nbformat.writes(wrong_answers()).encode()
    for name, code in CHEATS.items():
        nb = wrong_answers()
        nb.cells.insert(nb.cells.index(cell(nb, "setup")) + 1, nbformat.v4.new_code_cell(code))
        out[name] = nbformat.writes(nb).encode()
    for name, code in IMPORTS.items():
        nb = sample("alice")  # every other answer right
        cell(nb, "q3_solution").source = code
        out[name] = nbformat.writes(nb).encode()
    out["empty_file"] = b""
    out["json_list"] = b"[1, 2, 3]"
    out["no_cells"] = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}'
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("cheats") / "course", ASSIGNMENT)
    for student, raw in submissions().items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NAME).write_bytes(raw)
    results = grade_assignment(course, ASSIGNMENT, jobs=2, limits=LIMITS, progress=False)
    return course, {r.student: r for r in results}


def autograded(result) -> float:
    return sum(c.score or 0.0 for gid, c in result.scores[ASSIGNMENT].items() if gid in TESTS)


def test_honest_samples_keep_their_grades_and_raise_no_flag(graded):
    _, results = graded
    assert {s: autograded(results[s]) for s in ("alice", "bob", "carol")} == {
        "alice": 13.0,
        "bob": 8.0,
        "carol": 0.0,
    }
    assert all(results[s].flags == [] for s in ("alice", "bob", "carol"))


@pytest.mark.parametrize("cheat", ["wrong", *CHEATS])
def test_wrong_answers_score_nothing_whatever_the_kernel_was_made_to_do(graded, cheat):
    _, results = graded
    result = results[cheat]
    assert result.status != "grader_error", result.reason
    assert autograded(result) == 0.0, {
        g: (c.score, c.reason) for g, c in result.scores[ASSIGNMENT].items()
    }


@pytest.mark.parametrize("cheat", list(CHEATS))
def test_the_flags_name_what_each_cheat_tried(graded, cheat):
    _, results = graded
    result = results[cheat]
    assert result.status == "flagged"
    assert any(FLAGGED[cheat] in flag for flag in result.flags), result.flags


@pytest.mark.parametrize("student", ["empty_file", "json_list", "no_cells"])
def test_a_malformed_submission_scores_0_with_a_reason(graded, student):
    _, results = graded
    result = results[student]
    assert result.status == "unreadable" and result.reason
    assert autograded(result) == 0.0 and result.max_score == 16.0


def test_answers_imported_from_the_package_score_0_on_those_questions(graded):
    course, results = graded
    named = results["import_reference"]
    scores = named.scores[ASSIGNMENT]
    assert scores["q1_tests"].score == 2.0  # the student's own answer
    assert scores["q3_tests"].score == 0.0
    assert "medai_edu.metrics" in scores["q3_tests"].reason
    assert any("reference code" in flag for flag in named.flags)
    page = (
        course / "feedback" / "import_reference" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    ).read_text()
    assert "medai_edu.metrics" in page  # the reason reaches the student
    oblique = results["import_oblique"].scores[ASSIGNMENT]
    assert oblique["q3_tests"].score == 0.0  # the module's file is not in the sandbox
    assert oblique["q1_tests"].score == 2.0 and oblique["q2_tests"].score == 4.0


def test_the_command_line_closes_the_loop(graded, tmp_path, capsys):
    """``medai-edu grade ... --export FOLDER --similarity REPORT.html`` on the graded class."""
    from medai_edu.cli import main

    course, _ = graded
    report, lms = tmp_path / "similarity.html", tmp_path / "lms"
    code = main(
        ["grade", ASSIGNMENT, "--course", str(course), "--student", "alice", "--jobs", "1"]
        + ["--export", str(lms), "--similarity", str(report)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "alice" in printed and "13" in printed
    assert {p.name for p in lms.iterdir()} == {
        f"{ASSIGNMENT}-canvas.csv",
        f"{ASSIGNMENT}-moodle.csv",
        f"{ASSIGNMENT}-nbgrader.csv",
    }
    page = report.read_text()
    # the cheats share the wrong answers: they are reported as similar, for a person to see
    assert "wrong" in page and "silence_getattr" in page
