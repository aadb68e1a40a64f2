"""The code-similarity report on a constructed class of the real assignment data-and-metrics.

Eight students answer independently (loops, numpy, pandas, helpers of their own), one
student copies another's answers with every name changed, the functions reordered and the
comments rewritten, and two students hand in the starter code untouched. Only the copy may
be reported.
"""

from __future__ import annotations

import copy
import html
import itertools
import re
from pathlib import Path

import nbformat
import pytest

from medai_edu.grading.similarity import (
    PairReport,
    compare,
    course_report,
    fingerprints,
    normalise,
    solution_cells,
    write_report,
)

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "data-and-metrics"
SOURCE = ROOT / "autograder" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
REGION = re.compile(
    r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.DOTALL | re.MULTILINE
)

# The def lines and docstrings are the starter's: students write below them.
Q1 = (
    "def class_balance(y):\n"
    '    """Numbers of malignant and benign cases, and the prevalence of malignancy."""\n'
)
Q2 = (
    "def sensitivity_specificity(y_true, p, threshold):\n"
    '    """(sensitivity, specificity) when cases with p >= threshold are called malignant."""\n'
)
Q3 = (
    "def auroc_by_ranks(y_true, scores):\n"
    '    """AUROC as the normalised Mann-Whitney U statistic of the malignant cases\' ranks."""\n'
)
Q4 = (
    "def threshold_for_sensitivity(y_true, p, target=0.95):\n"
    '    """The highest threshold whose sensitivity is at least ``target``."""\n'
)

# ---------------------------------------------------------------- the copied pair
# amara's answers: the reference solution with helpers of her own; an HTML tag in a comment.
AMARA = {
    "q1_solution": Q1
    + """    # labels like "<script>alert('hi')</script>" are refused below
    y = np.asarray(y)
    if y.size == 0 or not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (benign) or 1 (malignant), and at least one")
    malignant = int(np.sum(y == 1))
    return {
        "malignant": malignant,
        "benign": int(y.size) - malignant,
        "prevalence": malignant / y.size,
    }
""",
    "q2_solution": '''def _count(mask):
    """How many cases a boolean mask selects."""
    return int(np.sum(mask))


def _as_arrays(y_true, p):
    return np.asarray(y_true), np.asarray(p, dtype=float)


'''
    + Q2
    + """    y_true, p = _as_arrays(y_true, p)
    called = p >= threshold
    malignant = y_true == 1
    sensitivity = _count(called & malignant) / _count(malignant)
    specificity = _count(~called & ~malignant) / _count(~malignant)
    return float(sensitivity), float(specificity)
""",
    "q3_solution": Q3
    + """    from scipy.stats import rankdata

    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    n_pos = int(np.sum(y_true == 1))
    n_neg = int(y_true.size) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("the AUROC needs malignant and benign cases")
    ranks = rankdata(scores)
    return float((ranks[y_true == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
""",
    "q4_solution": Q4
    + """    y_true, p = np.asarray(y_true), np.asarray(p, dtype=float)
    malignant = np.sort(p[y_true == 1])[::-1]  # highest first
    if malignant.size == 0:
        raise ValueError("sensitivity is undefined without malignant cases")
    needed = max(int(np.ceil(target * malignant.size - 1e-9)), 1)  # cases to catch
    return float(malignant[needed - 1])
""",
}

# bruno's: amara's with every name the tests do not call renamed, the functions of a cell
# reordered, other comments, blank lines added, the starter's docstrings deleted.
BRUNO = {
    "q1_solution": """def class_balance(labels):

    # make it an array first
    labels = np.asarray(labels)

    if labels.size == 0 or not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (benign) or 1 (malignant), and at least one")

    n_sick = int(np.sum(labels == 1))   # the positives
    return {
        "malignant": n_sick,
        "benign": int(labels.size) - n_sick,
        "prevalence": n_sick / labels.size,
    }
""",
    "q2_solution": """def sensitivity_specificity(truth, probs, cut):
    # convert
    truth, probs = to_np(truth, probs)

    flagged = probs >= cut  # who we call malignant
    sick = truth == 1

    sens = tally(flagged & sick) / tally(sick)
    spec = tally(~flagged & ~sick) / tally(~sick)
    return float(sens), float(spec)


def tally(m):
    # number of True entries
    return int(np.sum(m))


def to_np(a, b):
    return np.asarray(a), np.asarray(b, dtype=float)
""",
    "q3_solution": """def auroc_by_ranks(labels, s):
    from scipy.stats import rankdata


    labels, s = np.asarray(labels), np.asarray(s, dtype=float)
    pos = int(np.sum(labels == 1))
    neg = int(labels.size) - pos
    if pos == 0 or neg == 0:
        raise ValueError("the AUROC needs malignant and benign cases")
    r = rankdata(s)  # average ranks for ties
    return float((r[labels == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))
""",
    "q4_solution": """def threshold_for_sensitivity(truth, probs, target=0.95):
    truth, probs = np.asarray(truth), np.asarray(probs, dtype=float)

    top = np.sort(probs[truth == 1])[::-1]
    if top.size == 0:
        raise ValueError("sensitivity is undefined without malignant cases")

    k = max(int(np.ceil(target * top.size - 1e-9)), 1)
    return float(top[k - 1])
""",
}

# ---------------------------------------------------------------- eight honest students
HONEST = {
    # plain Python loops
    "chen": {
        "q1_solution": Q1
        + """    labels = list(np.asarray(y).ravel())
    if len(labels) == 0:
        raise ValueError("no labels")
    counts = {0: 0, 1: 0}
    for label in labels:
        if label not in counts:
            raise ValueError(f"unexpected label {label}")
        counts[label] += 1
    total = counts[0] + counts[1]
    return {"malignant": counts[1], "benign": counts[0], "prevalence": counts[1] / total}
""",
        "q2_solution": Q2
        + """    tp = fn = tn = fp = 0
    for truth, prob in zip(y_true, p):
        called = prob >= threshold
        if truth == 1:
            if called:
                tp += 1
            else:
                fn += 1
        elif called:
            fp += 1
        else:
            tn += 1
    return tp / (tp + fn), tn / (tn + fp)
""",
        "q3_solution": Q3
        + """    pos = [s for s, t in zip(scores, y_true) if t == 1]
    neg = [s for s, t in zip(scores, y_true) if t != 1]
    if not pos or not neg:
        raise ValueError("need both classes")
    wins = 0.0
    for a in pos:
        for b in neg:
            if a > b:
                wins += 1
            elif a == b:
                wins += 0.5
    return wins / (len(pos) * len(neg))
""",
        "q4_solution": Q4
        + """    probs = sorted((q for q, t in zip(p, y_true) if t == 1), reverse=True)
    if not probs:
        raise ValueError("no malignant cases")
    for k, candidate in enumerate(probs, start=1):
        if k / len(probs) >= target - 1e-12:
            return float(candidate)
    return float(probs[-1])
""",
    },
    # numpy: bincount, means of masks, ascending sort
    "dalia": {
        "q1_solution": Q1
        + """    arr = np.array(y, dtype=int).ravel()
    if arr.size == 0:
        raise ValueError("empty")
    if np.any((arr != 0) & (arr != 1)):
        raise ValueError("labels must be 0 or 1")
    counts = np.bincount(arr, minlength=2)
    return dict(
        malignant=int(counts[1]), benign=int(counts[0]), prevalence=float(counts[1] / arr.size)
    )
""",
        "q2_solution": Q2
        + """    truth = np.asarray(y_true).astype(bool)
    pred = np.asarray(p) >= threshold
    sens = pred[truth].mean()
    spec = (~pred[~truth]).mean()
    return float(sens), float(spec)
""",
        "q3_solution": Q3
        + """    from scipy.stats import rankdata

    y = np.asarray(y_true) == 1
    n1, n0 = y.sum(), (~y).sum()
    if min(n1, n0) == 0:
        raise ValueError("one class is missing")
    r = rankdata(np.asarray(scores, dtype=float))
    u = r[y].sum() - n1 * (n1 + 1) / 2
    return float(u / (n1 * n0))
""",
        "q4_solution": Q4
        + """    pos = np.sort(np.asarray(p, float)[np.asarray(y_true) == 1])
    if len(pos) == 0:
        raise ValueError("no positives")
    # we may miss at most floor((1 - target) * n) cases
    misses = int(np.floor((1 - target) * len(pos) + 1e-9))
    return float(pos[misses])
""",
    },
    # Counter, small helpers, ranks by hand
    "emeka": {
        "q1_solution": """from collections import Counter


"""
        + Q1
        + """    tally = Counter(np.asarray(y).tolist())
    n = sum(tally.values())
    if n == 0 or set(tally) - {0, 1}:
        raise ValueError("labels must be 0 or 1 and not empty")
    return {"malignant": tally[1], "benign": tally[0], "prevalence": tally[1] / n}
""",
        "q2_solution": """def _rate(hits, total):
    return hits / total if total else float("nan")


"""
        + Q2
        + """    pairs = list(zip(np.asarray(y_true).tolist(), np.asarray(p).tolist()))
    tp = sum(1 for t, s in pairs if t == 1 and s >= threshold)
    pos = sum(1 for t, _ in pairs if t == 1)
    tn = sum(1 for t, s in pairs if t == 0 and s < threshold)
    return _rate(tp, pos), _rate(tn, len(pairs) - pos)
""",
        "q3_solution": """def _average_ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


"""
        + Q3
        + """    labels = np.asarray(y_true).tolist()
    values = np.asarray(scores, dtype=float).tolist()
    n_pos = labels.count(1)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("both classes are needed")
    ranks = _average_ranks(values)
    r_pos = sum(r for r, lab in zip(ranks, labels) if lab == 1)
    return (r_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
""",
        "q4_solution": Q4
        + """    y_arr = np.asarray(y_true)
    p_arr = np.asarray(p, dtype=float)
    if not (y_arr == 1).any():
        raise ValueError("no malignant case")
    for t in sorted(set(p_arr[y_arr == 1].tolist()), reverse=True):
        sens, _ = sensitivity_specificity(y_arr, p_arr, t)
        if sens >= target - 1e-12:
            return float(t)
""",
    },
    # np.unique, a confusion matrix, pairwise differences, cumulative sensitivity
    "fatima": {
        "q1_solution": Q1
        + """    values, counts = np.unique(np.asarray(y), return_counts=True)
    if counts.sum() == 0:
        raise ValueError("y is empty")
    if not set(values.tolist()) <= {0, 1}:
        raise ValueError("y must hold 0 and 1 only")
    found = dict(zip(values.tolist(), counts.tolist()))
    m, b = found.get(1, 0), found.get(0, 0)
    return {"malignant": m, "benign": b, "prevalence": m / (m + b)}
""",
        "q2_solution": Q2
        + """    y_true = np.asarray(y_true, dtype=int)
    decision = (np.asarray(p) >= threshold).astype(int)
    confusion = np.zeros((2, 2))
    np.add.at(confusion, (y_true, decision), 1)
    (tn, fp), (fn, tp) = confusion
    return float(tp / (tp + fn)), float(tn / (tn + fp))
""",
        "q3_solution": Q3
        + """    s = np.asarray(scores, dtype=float)
    lab = np.asarray(y_true)
    pos, neg = s[lab == 1], s[lab == 0]
    if pos.size * neg.size == 0:
        raise ValueError("AUROC undefined with a single class")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())
""",
        "q4_solution": Q4
        + """    lab = np.asarray(y_true)
    prob = np.asarray(p, dtype=float)
    desc = -np.sort(-prob[lab == 1])
    if desc.size == 0:
        raise ValueError("no malignant cases")
    sens = np.arange(1, desc.size + 1) / desc.size
    idx = np.argmax(sens >= target - 1e-12)
    return float(desc[idx])
""",
    },
    # comprehensions and sums of booleans, U of the benign cases, math.ceil
    "goran": {
        "q1_solution": Q1
        + """    y = [int(label) for label in np.ravel(y)]
    bad = [label for label in y if label not in (0, 1)]
    if bad or not y:
        raise ValueError("class_balance needs labels 0/1")
    positives = sum(y)
    return {"malignant": positives, "benign": len(y) - positives, "prevalence": positives / len(y)}
""",
        "q2_solution": Q2
        + """    cases = list(zip(y_true, p))
    malignant = [score for label, score in cases if label == 1]
    benign = [score for label, score in cases if label == 0]
    sensitivity = sum(score >= threshold for score in malignant) / len(malignant)
    specificity = sum(score < threshold for score in benign) / len(benign)
    return float(sensitivity), float(specificity)
""",
        "q3_solution": Q3
        + """    from scipy import stats

    labels = np.asarray(y_true)
    if len(set(labels.tolist())) < 2:
        raise ValueError("need malignant and benign cases")
    ranked = stats.rankdata(scores)
    n_plus = int((labels == 1).sum())
    n_minus = len(labels) - n_plus
    u_minus = ranked[labels == 0].sum() - n_minus * (n_minus + 1) / 2
    return 1.0 - u_minus / (n_plus * n_minus)
""",
        "q4_solution": "import math\n\n\n"
        + Q4
        + """    malignant_p = sorted([prob for prob, lab in zip(p, y_true) if lab == 1])
    n = len(malignant_p)
    if n == 0:
        raise ValueError("no malignant cases")
    must_catch = max(1, math.ceil(round(target * n, 9)))
    return float(malignant_p[n - must_catch])
""",
    },
    # pandas
    "hana": {
        "q1_solution": "import pandas as pd\n\n\n"
        + Q1
        + """    s = pd.Series(np.asarray(y))
    if s.empty or not s.isin([0, 1]).all():
        raise ValueError("labels must be 0 or 1")
    counts = s.value_counts()
    n_mal = int(counts.get(1, 0))
    n_ben = int(counts.get(0, 0))
    return {"malignant": n_mal, "benign": n_ben, "prevalence": n_mal / len(s)}
""",
        "q2_solution": Q2
        + """    called = np.asarray(p) >= threshold
    frame = pd.DataFrame({"truth": np.asarray(y_true), "called": called})
    by_truth = frame.groupby("truth")["called"].mean()
    return float(by_truth.loc[1]), float(1 - by_truth.loc[0])
""",
        "q3_solution": Q3
        + """    frame = pd.DataFrame({"y": np.asarray(y_true)})
    frame["score"] = np.asarray(scores, dtype=float)
    frame["rank"] = frame["score"].rank(method="average")
    n_pos = int((frame["y"] == 1).sum())
    n_neg = len(frame) - n_pos
    if not n_pos or not n_neg:
        raise ValueError("AUROC undefined")
    rank_sum = frame.loc[frame["y"] == 1, "rank"].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
""",
        "q4_solution": Q4
        + """    pos = pd.Series(np.asarray(p, dtype=float)[np.asarray(y_true) == 1])
    if pos.empty:
        raise ValueError("no malignant cases")
    ordered = pos.sort_values(ascending=False).reset_index(drop=True)
    sens = (ordered.index + 1) / len(ordered)
    return float(ordered[sens >= target - 1e-12].iloc[0])
""",
    },
    # counting loop over .flat, means, tie groups by hand, a binary search
    "ines": {
        "q1_solution": Q1
        + """    n_malignant = n_benign = 0
    for value in np.asarray(y).flat:
        if value == 1:
            n_malignant += 1
        elif value == 0:
            n_benign += 1
        else:
            raise ValueError(f"label {value!r} is not 0 or 1")
    n = n_malignant + n_benign
    if n == 0:
        raise ValueError("no labels")
    return {"prevalence": n_malignant / n, "malignant": n_malignant, "benign": n_benign}
""",
        "q2_solution": Q2
        + """    is_pos = np.asarray(y_true) == 1
    above = np.asarray(p, dtype=float) >= threshold
    return float(np.mean(above[is_pos])), float(np.mean(~above[~is_pos]))
""",
        "q3_solution": Q3
        + """    values = np.asarray(scores, dtype=float).tolist()
    data = sorted(zip(values, np.asarray(y_true).tolist()))
    n_pos = sum(lab for _, lab in data)
    n_neg = len(data) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("the AUROC needs both classes")
    rank_sum, i = 0.0, 0
    while i < len(data):
        j = i
        while j < len(data) and data[j][0] == data[i][0]:
            j += 1
        rank_sum += (i + 1 + j) / 2 * sum(lab for _, lab in data[i:j])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
""",
        "q4_solution": Q4
        + """    ps = np.sort(np.asarray(p, dtype=float)[np.asarray(y_true) == 1])
    if not len(ps):
        raise ValueError("no malignant cases")
    lo, hi = 0, len(ps) - 1
    while lo < hi:  # the largest index whose sensitivity is still at least the target
        mid = (lo + hi + 1) // 2
        if (len(ps) - mid) / len(ps) >= target - 1e-12:
            lo = mid
        else:
            hi = mid - 1
    return float(ps[lo])
""",
    },
    # setdiff1d, np.where, searchsorted ranks, candidate thresholds
    "jonas": {
        "q1_solution": Q1
        + """    labels = np.asarray(y).reshape(-1)
    if labels.size == 0:
        raise ValueError("no labels given")
    unexpected = np.setdiff1d(labels, [0, 1])
    if unexpected.size:
        raise ValueError(f"unexpected labels {unexpected}")
    return {
        "malignant": int(labels.sum()),
        "benign": int((1 - labels).sum()),
        "prevalence": float(labels.mean()),
    }
""",
        "q2_solution": Q2
        + """    y_arr = np.asarray(y_true)
    predicted = np.where(np.asarray(p) >= threshold, 1, 0)
    true_pos = ((predicted == 1) & (y_arr == 1)).sum()
    false_neg = ((predicted == 0) & (y_arr == 1)).sum()
    true_neg = ((predicted == 0) & (y_arr == 0)).sum()
    false_pos = ((predicted == 1) & (y_arr == 0)).sum()
    return true_pos / (true_pos + false_neg) * 1.0, true_neg / (true_neg + false_pos) * 1.0
""",
        "q3_solution": Q3
        + """    s = np.asarray(scores, dtype=float)
    y_arr = np.asarray(y_true)
    if np.all(y_arr == 1) or np.all(y_arr != 1):
        raise ValueError("one class is missing")
    ordered = np.sort(s)
    ranks = (np.searchsorted(ordered, s, "left") + np.searchsorted(ordered, s, "right") + 1) / 2
    n1 = np.count_nonzero(y_arr == 1)
    n0 = s.size - n1
    return float((ranks[y_arr == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
""",
        "q4_solution": Q4
        + """    y_arr = np.asarray(y_true)
    candidates = np.unique(np.asarray(p, dtype=float)[y_arr == 1])[::-1]
    if candidates.size == 0:
        raise ValueError("no malignant cases")
    for t in candidates:
        if sensitivity_specificity(y_arr, p, t)[0] >= target:
            return float(t)
    return float(candidates[-1])
""",
    },
}

COPIER, ORIGINAL = "bruno", "amara"
STARTERS = ("kofi", "lena")  # handed in the release, untouched


def _release(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version, as nbgrader's ClearSolutions makes it for code cells."""
    release = copy.deepcopy(source)
    for cell in release.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = REGION.sub(
                r"\1# YOUR CODE HERE\n\1raise NotImplementedError()\n", cell.source
            ).rstrip("\n")
    return release


def _submit(release, answers: dict[str, str]) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return notebook


@pytest.fixture(scope="module")
def release():
    return _release(nbformat.read(SOURCE, as_version=4))


@pytest.fixture(scope="module")
def klass(release):
    """student id -> notebook: eight honest, a copied pair, two who handed in the starter."""
    answers = {**HONEST, ORIGINAL: AMARA, COPIER: BRUNO}
    notebooks = {name: _submit(release, a) for name, a in answers.items()}
    notebooks.update({name: copy.deepcopy(release) for name in STARTERS})
    return notebooks


@pytest.fixture(scope="module")
def everything(klass, release) -> list[PairReport]:
    """Every pair with anything in common."""
    return compare(klass, release, threshold=0.0)


def test_the_release_keeps_the_starter_and_no_solution(release):
    starter = solution_cells(release, release)
    assert list(starter) == ["q1_solution", "q2_solution", "q3_solution", "q4_solution"]
    for code in starter.values():
        assert "raise NotImplementedError()" in code and "BEGIN SOLUTION" not in code


def test_the_copied_pair_is_reported_first_and_alone(klass, release):
    pairs = compare(klass, release, threshold=0.8)
    assert [(p.student_a, p.student_b) for p in pairs] == [(ORIGINAL, COPIER)]
    top = pairs[0]
    assert top.score > 0.8
    assert [c.grade_id for c in top.cells] == list(AMARA)
    assert all(c.score > 0.8 for c in top.cells)
    assert top.cells[1].source_a == AMARA["q2_solution"]
    assert top.cells[1].source_b == BRUNO["q2_solution"]


def test_no_honest_pair_comes_near_the_threshold(everything):
    """Independent answers to the same questions share some code (``np.asarray``, the
    rank formula the question gives): well under the threshold, here under 0.5."""
    scores = {(p.student_a, p.student_b): p.score for p in everything}
    for pair in itertools.combinations(sorted([*HONEST, ORIGINAL]), 2):
        assert scores.get(pair, 0.0) < 0.5, pair
    for pair in itertools.combinations(sorted([*HONEST, COPIER]), 2):
        assert scores.get(pair, 0.0) < 0.5, pair
    assert (everything[0].student_a, everything[0].student_b) == (ORIGINAL, COPIER)
    assert everything[1].score < 0.5


def test_the_starter_code_alone_makes_no_one_similar(everything, release):
    assert not [p for p in everything if set(STARTERS) & {p.student_a, p.student_b}]
    for gid, starter in solution_cells(release, release).items():
        assert normalise(starter, starter) == ""
        assert fingerprints(starter, starter) == frozenset(), gid


def test_renaming_alone_gives_the_same_normal_form():
    original = AMARA["q3_solution"]
    renamed = original
    for old, new in (("n_pos", "a"), ("n_neg", "b"), ("ranks", "rk"), ("scores", "xs")):
        renamed = re.sub(rf"\b{old}\b", new, renamed)
    renamed = renamed.replace("y_true", "labels")
    assert renamed != original
    assert normalise(renamed) == normalise(original)


def test_the_normal_form_drops_comments_docstrings_order_and_the_starter(release):
    starter = solution_cells(release, release)["q2_solution"]
    ours, theirs = (
        normalise(AMARA["q2_solution"], starter),
        normalise(BRUNO["q2_solution"], starter),
    )
    assert ours == theirs
    assert "#" not in ours and "called malignant" not in ours and "NotImplementedError" not in ours
    assert "def sensitivity_specificity(v0, v1, v2):" in ours  # the name the tests call stays
    assert "np.asarray" in ours and "float" in ours  # attributes and builtins stay


def test_a_cell_that_does_not_parse_is_still_compared():
    broken = "def f(x)\n    total = x + 1  # no colon above\n    return total\n"
    renamed = broken.replace("total", "s").replace("(x)", "(z)").replace("x + 1", "z + 1")
    assert normalise(broken) == normalise(renamed)
    assert "#" not in normalise(broken)
    assert fingerprints(broken) == fingerprints(renamed) != frozenset()


def test_the_html_report_shows_the_pair_side_by_side_and_escapes_code(klass, release, tmp_path):
    pairs = compare(klass, release)
    page = write_report(tmp_path / "report.html", pairs, ASSIGNMENT, 0.8).read_text()
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert f"<title>Code similarity: {ASSIGNMENT}</title>" in page
    assert "evidence for a person to review, not a penalty" in page
    assert '<th scope="col">' in page and '<th scope="row">' in page
    assert ORIGINAL in page and COPIER in page
    for gid in AMARA:
        assert f"<pre>{html.escape(AMARA[gid])}</pre>" in page
        assert f"<pre>{html.escape(BRUNO[gid])}</pre>" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_a_course_report_lists_an_unreadable_notebook_as_skipped(klass, release, tmp_path):
    course = tmp_path / "course"
    name = f"{ASSIGNMENT}.ipynb"
    (course / "release" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(release, course / "release" / ASSIGNMENT / name)
    for student, notebook in klass.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / name)
    broken = course / "submitted" / "marek" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / name).write_text("{ this is not JSON")
    out = tmp_path / "out" / "similarity.html"

    pairs = course_report(course, ASSIGNMENT, out)

    assert [(p.student_a, p.student_b, p.notebook) for p in pairs] == [(ORIGINAL, COPIER, name)]
    page = out.read_text()
    assert "Submissions not compared" in page and "marek" in page
    assert "invalid JSON" in page


def test_a_threshold_outside_zero_to_one_is_refused(klass, release):
    with pytest.raises(ValueError, match="threshold"):
        compare(klass, release, threshold=1.5)
