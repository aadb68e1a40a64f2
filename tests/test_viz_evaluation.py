"""Evaluation figures: titles, labelled axes with units, and the numbers they show."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from medai_edu import metrics as M
from medai_edu.viz.evaluation import (
    FPR_LABEL,
    TPR_LABEL,
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_roc_curves,
    plot_threshold_tradeoff,
)

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 200)
P_GOOD = np.clip(0.45 * Y + 0.55 * RNG.random(200), 0, 1)
P_BAD = RNG.random(200)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled(ax):
    return bool(ax.get_title() and ax.get_xlabel() and ax.get_ylabel())


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_roc_of_a_perfect_classifier_has_auroc_1_in_its_legend():
    y = np.array([0, 0, 0, 1, 1, 1])
    fig = plot_roc_curves({"perfect": (y, y * 0.8 + 0.1), "model": (Y, P_GOOD)})
    ax = fig.axes[0]
    assert labelled(ax) and ax.get_xlabel() == FPR_LABEL and ax.get_ylabel() == TPR_LABEL
    texts = legend_texts(ax)
    assert "perfect (AUROC 1.000)" in texts
    assert f"model (AUROC {M.auroc(Y, P_GOOD):.3f})" in texts
    assert any(t.startswith("chance") for t in texts)


def test_roc_marks_an_operating_point_on_its_curve():
    fig = plot_roc_curves({"model": (Y, P_GOOD)}, operating_points={"model": 0.5}, title="t")
    ax = fig.axes[0]
    sens, spec = M.sensitivity_specificity(Y, P_GOOD, 0.5)
    point = [line for line in ax.lines if line.get_marker() == "o"][0]
    assert point.get_xdata()[0] == pytest.approx(1 - spec)
    assert point.get_ydata()[0] == pytest.approx(sens)
    assert any("threshold 0.50" in t for t in legend_texts(ax))
    with pytest.raises(ValueError, match="unknown curves"):
        plot_roc_curves({"model": (Y, P_GOOD)}, operating_points={"other": 0.5})
    with pytest.raises(ValueError, match="at least one curve"):
        plot_roc_curves({})


def test_reliability_diagram_bins_match_sklearn_and_show_ece():
    probs = {"good": P_GOOD, "bad": P_BAD}
    fig = plot_reliability_diagram(Y, probs, n_bins=8, positive_name="malignant")
    ax, ax_hist = fig.axes
    assert labelled(ax) and labelled(ax_hist)
    assert "malignant" in ax.get_xlabel() and "(0-1)" in ax.get_ylabel()
    assert "number of cases" in ax_hist.get_ylabel()
    curves = [line for line in ax.lines if "ECE" in line.get_label()]
    assert len(curves) == 2
    for line, (name, p) in zip(curves, probs.items(), strict=True):
        observed, predicted = calibration_curve(Y, p, n_bins=8)
        np.testing.assert_allclose(line.get_xdata(), predicted)
        np.testing.assert_allclose(line.get_ydata(), observed)
        assert line.get_label() == f"{name} (ECE {M.calibration_error(Y, p, n_bins=8):.3f})"
    assert len(ax_hist.patches) == 2  # one step histogram per model


def test_reliability_diagram_quantile_bins_match_sklearn():
    fig = plot_reliability_diagram(Y, {"good": P_GOOD}, n_bins=5, strategy="quantile")
    line = [line for line in fig.axes[0].lines if "ECE" in line.get_label()][0]
    observed, predicted = calibration_curve(Y, P_GOOD, n_bins=5, strategy="quantile")
    np.testing.assert_allclose(line.get_xdata(), predicted)
    np.testing.assert_allclose(line.get_ydata(), observed)


def test_confusion_matrix_from_counts_and_from_labels_agree():
    counts = M.confusion_counts(Y, P_GOOD, 0.5)
    y_pred = (P_GOOD >= 0.5).astype(int)
    fig_a = plot_confusion_matrix(counts, labels=("benign", "malignant"), unit="patients")
    fig_b = plot_confusion_matrix(Y, y_pred)
    expected = [[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]]
    for fig in (fig_a, fig_b):
        ax = fig.axes[0]
        assert labelled(ax)
        np.testing.assert_array_equal(ax.images[0].get_array(), expected)
        numbers = {t.get_text() for t in ax.texts}
        assert {str(v) for row in expected for v in row} <= numbers
    assert fig_a.axes[1].get_ylabel() == "number of patients"  # the colour bar's unit
    assert [t.get_text() for t in fig_a.axes[0].get_xticklabels()] == [
        "called benign",
        "called malignant",
    ]


def test_confusion_matrix_notes_and_errors():
    counts = {"tp": 40, "fp": 3, "tn": 70, "fn": 2}
    fig = plot_confusion_matrix(counts, notes={"fn": "missed cancers"})
    assert any("missed cancers" in t.get_text() for t in fig.axes[0].texts)
    plot_confusion_matrix(np.array([[70, 3], [2, 40]]))
    with pytest.raises(ValueError, match="missing"):
        plot_confusion_matrix({"tp": 1, "fp": 2})
    with pytest.raises(ValueError, match="2x2"):
        plot_confusion_matrix(np.zeros((3, 3)))


def test_threshold_tradeoff_curves_match_the_metric_and_mark_the_threshold():
    threshold = M.threshold_for_sensitivity(Y, P_GOOD, 0.9)
    fig = plot_threshold_tradeoff(Y, P_GOOD, threshold=threshold, target_sensitivity=0.9)
    ax = fig.axes[0]
    assert labelled(ax) and "threshold" in ax.get_xlabel() and "(0-1)" in ax.get_ylabel()
    by_label = {line.get_label(): line for line in ax.lines}
    grid = by_label["sensitivity"].get_xdata()
    k = int(np.argmin(np.abs(grid - 0.5)))
    sens, spec = M.sensitivity_specificity(Y, P_GOOD, grid[k])
    assert by_label["sensitivity"].get_ydata()[k] == pytest.approx(sens)
    assert by_label["specificity"].get_ydata()[k] == pytest.approx(spec)
    assert any(label.startswith(f"threshold {threshold:.3f}") for label in by_label)
    assert "target sensitivity 0.90" in by_label


def test_figures_draw_into_given_axes():
    fig, axes = plt.subplots(1, 3)
    assert plot_roc_curves({"m": (Y, P_GOOD)}, ax=axes[0]) is fig
    assert plot_confusion_matrix(Y, (P_GOOD > 0.5).astype(int), ax=axes[1]) is fig
    assert plot_threshold_tradeoff(Y, P_GOOD, ax=axes[2]) is fig
    assert all(labelled(ax) for ax in axes)
