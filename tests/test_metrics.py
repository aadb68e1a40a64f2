"""Metrics agree with their definitions on small hand-checkable cases."""

import numpy as np
import pytest
import torch

from medai_edu import metrics


def test_auroc_binary_multiclass_and_ignored_labels():
    assert metrics.auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # logits and two-column probabilities give the same answer
    assert metrics.auroc([0, 0, 1, 1], [-2.0, 0.5, 0.1, 3.0]) == pytest.approx(0.75)
    two_col = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    assert metrics.auroc([0, 0, 1, 1], two_col) == pytest.approx(0.75)
    perfect = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    assert metrics.auroc([0, 1, 2, 0, 1, 2], perfect) == pytest.approx(1.0)
    # -1 means "not applicable" and is dropped
    assert metrics.auroc([-1, 0, 1], [0.9, 0.2, 0.7]) == pytest.approx(1.0)
    assert np.isnan(metrics.auroc([1, 1], [0.2, 0.3]))


def test_accuracy_and_balanced_accuracy():
    y = [0, 0, 0, 0, 1]
    always_zero = [0.1] * 5
    assert metrics.accuracy(y, always_zero) == pytest.approx(0.8)
    assert metrics.balanced_accuracy(y, always_zero) == pytest.approx(0.5)
    assert metrics.accuracy(torch.tensor([2, 1]), torch.tensor([[0.0, 0, 5], [0, 3, 0]])) == 1.0


def test_calibration_error():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    calibrated = (rng.uniform(size=p.size) < p).astype(int)
    assert metrics.calibration_error(calibrated, p) < 0.02
    overconfident = np.where(p > 0.5, 0.99, 0.01)
    assert metrics.calibration_error(calibrated, overconfident) > 0.2


def test_concordance_index():
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([1, 1, 1, 1])
    assert metrics.concordance_index([4, 3, 2, 1], event, time) == pytest.approx(1.0)
    assert metrics.concordance_index([1, 2, 3, 4], event, time) == pytest.approx(0.0)
    # a censored patient (event 0) at t=1 cannot be compared with later deaths
    assert metrics.concordance_index([1, 3, 2, 1], [0, 1, 1, 1], time) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="event"):
        metrics.concordance_index([1, 2], [0, 0], [1, 2])


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="labels"):
        metrics.accuracy([0, 1, 1], [0.2, 0.9])
