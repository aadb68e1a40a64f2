"""Paired comparisons of two models on the same cases, and intervals over seeds."""

import numpy as np
import pytest

from medai_edu import metrics as M


def two_models(n=400, gap=0.6, seed=0):
    """Labels and two scores that share each case's difficulty; A separates better."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    difficulty = rng.normal(size=n)
    a = y * 1.0 + gap * y + difficulty + 0.3 * rng.normal(size=n)
    b = y * 1.0 + difficulty + 0.3 * rng.normal(size=n)
    return y, a, b


def test_paired_difference_is_the_metric_difference_and_its_interval_excludes_zero():
    y, a, b = two_models()
    diff, low, high = M.paired_bootstrap_difference(M.auroc, y, a, b, n=500)
    assert diff == pytest.approx(M.auroc(y, a) - M.auroc(y, b))
    assert 0 < low < diff < high
    # pairing: the difference's interval is narrower than the gap between unpaired intervals
    low_a, high_a = M.bootstrap_ci(M.auroc, y, a, n=500)
    low_b, high_b = M.bootstrap_ci(M.auroc, y, b, n=500)
    assert high - low < (high_a - low_a) + (high_b - low_b)


def test_paired_difference_of_a_model_with_itself_is_zero_and_fast_path_matches_the_loop():
    y, a, b = two_models(200)
    assert M.paired_bootstrap_difference(M.auroc, y, a, a, n=100) == (0.0, 0.0, 0.0)
    fast = M.paired_bootstrap_difference(M.auroc, y, a, b, n=200, seed=3)

    def slow_auroc(t, s):
        return M.auroc(t, s)

    slow = M.paired_bootstrap_difference(slow_auroc, y, a, b, n=200, seed=3)
    assert fast == pytest.approx(slow)


def test_no_real_difference_gives_an_interval_around_zero():
    y, a, _ = two_models(300, gap=0.0, seed=1)
    _, _, b = two_models(300, gap=0.0, seed=1)
    diff, low, high = M.paired_bootstrap_difference(M.auroc, y, a, b, n=500)
    assert low < 0 < high


def test_paired_difference_errors():
    y, a, b = two_models(50)
    with pytest.raises(ValueError, match="same cases"):
        M.paired_bootstrap_difference(M.auroc, y, a, b[:-1])
    with pytest.raises(ValueError, match="level"):
        M.paired_bootstrap_difference(M.auroc, y, a, b, level=1.5)


def test_seed_interval_is_a_t_interval():
    mean, low, high = M.seed_interval([0.80, 0.82, 0.84])
    assert mean == pytest.approx(0.82)
    # t(0.975, 2 df) = 4.303; sd 0.02; half-width 4.303 * 0.02 / sqrt(3)
    assert high - mean == pytest.approx(4.303 * 0.02 / np.sqrt(3), rel=1e-3)
    assert low == pytest.approx(2 * mean - high)
    with pytest.raises(ValueError, match="at least 2"):
        M.seed_interval([0.8])
    with pytest.raises(ValueError, match="at least 2"):
        M.seed_interval([0.8, float("nan")])
