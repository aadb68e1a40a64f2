"""Operating points: sensitivity/specificity at a threshold, the threshold for a target
sensitivity, confusion counts and bootstrap confidence intervals."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from medai_edu import metrics as M
from medai_edu.data.samples import load_wdbc
from medai_edu.evaluation import stratified_split

Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
P = np.array([0.1, 0.2, 0.35, 0.6, 0.4, 0.7, 0.8, 0.9])


def test_confusion_counts_by_hand():
    assert M.confusion_counts(Y, P, 0.5) == {"tp": 3, "fp": 1, "tn": 3, "fn": 1}
    # ">= threshold" is positive: a case exactly at the threshold is called positive
    assert M.confusion_counts(Y, P, 0.4) == {"tp": 4, "fp": 1, "tn": 3, "fn": 0}
    assert M.confusion_counts(Y, P, 0.0) == {"tp": 4, "fp": 4, "tn": 0, "fn": 0}


def test_sensitivity_specificity_by_hand():
    assert M.sensitivity_specificity(Y, P, 0.5) == (0.75, 0.75)
    assert M.sensitivity_specificity(Y, P, 0.65) == (0.75, 1.0)
    assert M.sensitivity_specificity(Y, P, 0.95) == (0.0, 1.0)


def test_sensitivity_is_nan_without_positives_and_ignored_labels_are_dropped():
    sens, spec = M.sensitivity_specificity([0, 0, 1], [0.2, 0.7, 0.9], 0.5)
    assert (sens, spec) == (1.0, 0.5)
    sens, spec = M.sensitivity_specificity([0, 0, -1], [0.2, 0.7, 0.9], 0.5)
    assert np.isnan(sens) and spec == 0.5


def test_threshold_for_sensitivity_by_hand():
    # positives score 0.4, 0.7, 0.8, 0.9: sensitivity 1 needs the threshold at 0.4,
    # 0.75 allows one miss (0.7), 0.5 two misses (0.8)
    assert M.threshold_for_sensitivity(Y, P, 1.0) == pytest.approx(0.4)
    assert M.threshold_for_sensitivity(Y, P, 0.75) == pytest.approx(0.7)
    assert M.threshold_for_sensitivity(Y, P, 0.6) == pytest.approx(0.7)
    assert M.threshold_for_sensitivity(Y, P, 0.5) == pytest.approx(0.8)
    assert M.threshold_for_sensitivity(Y, P, 0.01) == pytest.approx(0.9)


def test_an_exact_fraction_meets_its_target():
    y = np.array([1] * 20 + [0] * 5)
    p = np.linspace(1, 0.01, 25)
    threshold = M.threshold_for_sensitivity(y, p, 0.95)  # 19 / 20 == 0.95 counts
    assert M.confusion_counts(y, p, threshold)["fn"] == 1


def test_threshold_accepts_tensors_logits_and_only_positives():
    logits = torch.logit(torch.as_tensor(P))
    assert M.threshold_for_sensitivity(torch.as_tensor(Y), logits, 1.0) == pytest.approx(0.4)
    assert M.threshold_for_sensitivity([1, 1, 1, 1], [0.9, 0.8, 0.3, 0.6], 0.75) == 0.6


@pytest.mark.parametrize("target", [0.0, -0.1, 1.01, 95])
def test_threshold_rejects_a_target_outside_0_1(target):
    with pytest.raises(ValueError, match="target sensitivity"):
        M.threshold_for_sensitivity(Y, P, target)


def test_threshold_needs_positive_cases():
    with pytest.raises(ValueError, match="without positive cases"):
        M.threshold_for_sensitivity([0, 0, 0], [0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match="without positive cases"):
        M.threshold_for_sensitivity([0, -1, 0], [0.1, 0.5, 0.9])


def test_threshold_rejects_non_binary_labels():
    with pytest.raises(ValueError, match="0 .negative. or 1"):
        M.threshold_for_sensitivity([0, 1, 2], [0.1, 0.5, 0.9])


@pytest.fixture(scope="module")
def wdbc_validation():
    data = load_wdbc()
    split = stratified_split(data.y, seed=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(data.X[split.train], data.y[split.train])
    return data.y[split.val], model.predict_proba(data.X[split.val])[:, 1]


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 0.99, 1.0])
def test_threshold_meets_the_target_on_real_data_and_is_the_highest(wdbc_validation, target):
    y, p = wdbc_validation
    threshold = M.threshold_for_sensitivity(y, p, target)
    sens, _ = M.sensitivity_specificity(y, p, threshold)
    assert sens >= target - 1e-12
    # any higher threshold (the next predicted probability above it) misses the target
    higher = p[p > threshold]
    if higher.size:
        assert M.sensitivity_specificity(y, p, higher.min())[0] < target


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 150)
    p = np.clip(0.35 * y + 0.65 * rng.random(150), 0, 1)
    low, high = M.bootstrap_ci(M.auroc, y, p, n=300, seed=1)
    assert 0.7 < low < M.auroc(y, p) < high < 1.0
    assert M.bootstrap_ci(M.auroc, y, p, n=300, seed=1) == (low, high)
    assert M.bootstrap_ci(M.auroc, y, p, n=300, seed=2) != (low, high)
    wide = M.bootstrap_ci(M.auroc, y, p, n=300, seed=1, level=0.99)
    assert wide[0] < low and wide[1] > high


def test_bootstrap_ci_of_auroc_fast_path_equals_the_general_loop():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    p = np.round(np.clip(0.3 * y + 0.8 * rng.random(60), 0, 1), 1)  # ties included
    fast = M.bootstrap_ci(M.auroc, y, p, n=200, level=0.9)
    slow = M.bootstrap_ci(lambda a, b: roc_auc_score(a, b), y, p, n=200, level=0.9)
    assert fast == pytest.approx(slow)
    assert M.bootstrap_ci(roc_auc_score, y, p, n=200, level=0.9) == pytest.approx(slow)


def test_bootstrap_ci_of_sensitivity_is_a_proportion_interval():
    y = np.array([1] * 40 + [0] * 60)
    p = np.r_[np.linspace(0.3, 1, 40), np.linspace(0, 0.6, 60)]
    sens = lambda a, b: M.sensitivity_specificity(a, b, 0.5)[0]  # noqa: E731
    low, high = M.bootstrap_ci(sens, y, p, n=500)
    assert low < sens(y, p) < high
    assert 0.05 < high - low < 0.4


def test_bootstrap_ci_errors():
    with pytest.raises(ValueError, match="level"):
        M.bootstrap_ci(M.auroc, Y, P, level=95)
    with pytest.raises(ValueError, match="undefined in every"):
        M.bootstrap_ci(M.auroc, [0, 0, 0], [0.1, 0.2, 0.3], n=10)
