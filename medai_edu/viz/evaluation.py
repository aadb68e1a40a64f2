"""Figures for evaluating a binary classifier: ROC curves, reliability diagrams, confusion
matrices and the sensitivity/specificity trade-off over the decision threshold.

Convention (as in :mod:`medai_edu.metrics`): label 1 is the positive class (disease), and a
case is called positive when its predicted probability is >= the threshold.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from medai_edu import metrics as M

FPR_LABEL = "1 - specificity (false positive rate)"
TPR_LABEL = "sensitivity (true positive rate)"


def _axes(ax, figsize):
    """A new figure and axis, or the given axis and its figure (whose layout is the caller's)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _finish(fig, own: bool):
    if own:
        fig.tight_layout()
    return fig


def plot_roc_curves(
    curves: dict,
    operating_points: dict | None = None,
    title: str = "ROC curves",
    ax=None,
):
    """ROC curves of one or more models, AUROC in the legend; returns the Figure.

    curves: ``{name: (y_true, y_score)}``; each model may be scored on its own cases.
    operating_points: ``{name: threshold}`` marks where a threshold puts the curve called
        ``name`` (its sensitivity and specificity go into the legend).
    ax: draw into this axis instead of a new figure.
    """
    if not curves:
        raise ValueError("give at least one curve: {name: (y_true, y_score)}")
    operating_points = operating_points or {}
    unknown = set(operating_points) - set(curves)
    if unknown:
        raise ValueError(f"operating points for unknown curves: {sorted(unknown)}")
    own = ax is None
    fig, ax = _axes(ax, (5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance (AUROC 0.50)")
    for name, (y_true, y_score) in curves.items():
        y, p = M._binary_scores(y_true, y_score)
        fpr, tpr, _ = roc_curve(y, p)
        (line,) = ax.plot(fpr, tpr, label=f"{name} (AUROC {M.auroc(y, p):.3f})")
        if name in operating_points:
            threshold = operating_points[name]
            sens, spec = M.sensitivity_specificity(y, p, threshold)
            ax.plot(
                1 - spec,
                sens,
                marker="o",
                markersize=8,
                color=line.get_color(),
                markeredgecolor="black",
                linestyle="none",
                label=f"{name} at threshold {threshold:.2f}: sens {sens:.2f}, spec {spec:.2f}",
            )
    ax.set(title=title, xlabel=FPR_LABEL, ylabel=TPR_LABEL, xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return _finish(fig, own)


def plot_reliability_diagram(
    y_true,
    probs: dict,
    n_bins: int = 10,
    title: str = "Reliability diagram",
    positive_name: str = "positive class",
    strategy: str = "uniform",
):
    """Observed frequency against predicted probability per bin, with the expected
    calibration error (ECE) in the legend, and a histogram of the predictions below;
    returns the Figure.

    probs: ``{name: y_prob}``, positive-class probabilities of the same cases ``y_true``.
    n_bins, strategy: the binning of ``sklearn.calibration.calibration_curve`` ("uniform":
        equal-width bins, as the ECE uses; "quantile": equal-count bins).
    positive_name: what the positive class is called in the axis labels ("malignant").
    """
    if not probs:
        raise ValueError("give at least one model: {name: y_prob}")
    fig, (ax, ax_hist) = plt.subplots(
        2, 1, figsize=(5.5, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.2]}
    )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    ax.scatter([], [], s=60, color="grey", label="marker area: cases in the bin")
    edges = np.linspace(0, 1, n_bins + 1)
    for name, y_prob in probs.items():
        y, p = M._binary_scores(y_true, y_prob)
        observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
        ece = M.calibration_error(y, p, n_bins=n_bins)
        (line,) = ax.plot(predicted, observed, label=f"{name} (ECE {ece:.3f})")
        # a point resting on two cases says little: marker area grows with the bin's cases
        counts = _bin_counts(p, n_bins, strategy)
        ax.scatter(predicted, observed, s=12 + 150 * counts / counts.max(), color=line.get_color())
        ax_hist.hist(p, bins=edges, histtype="step", linewidth=1.5, color=line.get_color())
    ax.set(
        title=title,
        xlabel=f"mean predicted probability of {positive_name} (0-1)",
        ylabel=f"observed fraction {positive_name} (0-1)",
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
    )
    ax.xaxis.set_tick_params(labelbottom=True)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    ax_hist.set(
        title="How often each probability is predicted",
        xlabel=f"predicted probability of {positive_name} (0-1)",
        ylabel="number of cases",
    )
    ax_hist.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _bin_counts(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Cases in each non-empty bin, binned exactly as ``calibration_curve`` bins them."""
    if strategy == "quantile":
        bins = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    else:
        bins = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(bins[1:-1], p), minlength=len(bins))
    return counts[counts > 0]


def _counts_matrix(counts_or_y_true, y_pred) -> np.ndarray:
    """A 2x2 matrix, rows = true class (0, 1), columns = predicted class (0, 1)."""
    if isinstance(counts_or_y_true, dict):
        c = counts_or_y_true
        missing = {"tp", "fp", "tn", "fn"} - set(c)
        if missing:
            raise ValueError(f"counts need tp, fp, tn and fn; missing {sorted(missing)}")
        return np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]], dtype=int)
    if y_pred is None:
        matrix = np.asarray(counts_or_y_true)
        if matrix.shape != (2, 2):
            raise ValueError(
                "give counts (a dict with tp/fp/tn/fn, or a 2x2 array), or y_true and y_pred"
            )
        return matrix.astype(int)
    y_true, y_pred = np.asarray(counts_or_y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions")
    return np.array([[np.sum((y_true == t) & (y_pred == p)) for p in (0, 1)] for t in (0, 1)])


def plot_confusion_matrix(
    counts_or_y_true,
    y_pred=None,
    labels=("negative", "positive"),
    title: str = "Confusion matrix",
    unit: str = "cases",
    notes: dict | None = None,
    ax=None,
):
    """A 2x2 confusion matrix with the counts written in; returns the Figure.

    counts_or_y_true: a dict ``{"tp", "fp", "tn", "fn"}`` (see
        :func:`medai_edu.metrics.confusion_counts`), a 2x2 array (rows = true class,
        columns = predicted class, negative first), or true labels with ``y_pred``.
    labels: names of class 0 and class 1.
    unit: what is counted ("patients").
    notes: words under a count, e.g. ``{"fn": "missed cancers", "fp": "unnecessary biopsies"}``.
    ax: draw into this axis; for matrices side by side, make the figure with
        ``plt.subplots(1, 2, layout="compressed")`` so the colour bars keep clear of the labels.
    """
    matrix = _counts_matrix(counts_or_y_true, y_pred)
    notes = notes or {}
    own = ax is None
    fig, ax = _axes(ax, (6, 4.6))
    shown = ax.imshow(matrix, cmap="Blues", vmin=0)
    cells = {(0, 0): "tn", (0, 1): "fp", (1, 0): "fn", (1, 1): "tp"}
    row_totals = matrix.sum(axis=1)
    for (row, col), key in cells.items():
        value = matrix[row, col]
        color = "white" if value > 0.6 * matrix.max() else "black"
        ax.text(col, row - 0.12, str(value), ha="center", va="center", color=color, fontsize=15)
        share = f"{100 * value / row_totals[row]:.0f}% of row" if row_totals[row] else "empty row"
        detail = f"{key.upper()}, {share}" + (f"\n{notes[key]}" if key in notes else "")
        ax.text(col, row + 0.2, detail, ha="center", va="center", color=color, fontsize=8.5)
    ax.set(
        title=title,
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=[f"called {name}" for name in labels],
        yticklabels=[f"truly {name}" for name in labels],
        xlabel="model decision",
        ylabel="true diagnosis",
    )
    ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label=f"number of {unit}")
    return _finish(fig, own)


def plot_threshold_tradeoff(
    y_true,
    y_prob,
    threshold: float | None = None,
    target_sensitivity: float | None = None,
    title: str = "Sensitivity and specificity vs threshold",
    positive_name: str = "positive class",
    ax=None,
):
    """Sensitivity and specificity as the decision threshold moves from 0 to 1; marks a
    chosen ``threshold`` and a ``target_sensitivity`` if given; returns the Figure."""
    y, p = M._binary_scores(y_true, y_prob)
    grid = np.linspace(0, 1, 501)
    called = p[None, :] >= grid[:, None]  # (thresholds, cases)
    n_pos, n_neg = np.sum(y == 1), np.sum(y == 0)
    own = ax is None
    fig, ax = _axes(ax, (6, 3.8))
    if n_pos:
        ax.plot(grid, called[:, y == 1].sum(axis=1) / n_pos, label="sensitivity")
    if n_neg:
        ax.plot(grid, (~called[:, y == 0]).sum(axis=1) / n_neg, label="specificity")
    if target_sensitivity is not None:
        ax.axhline(
            target_sensitivity,
            color="grey",
            linestyle=":",
            label=f"target sensitivity {target_sensitivity:.2f}",
        )
    if threshold is not None:
        sens, spec = M.sensitivity_specificity(y, p, threshold)
        ax.axvline(
            threshold,
            color="black",
            linestyle="--",
            label=f"threshold {threshold:.3f}: sens {sens:.2f}, spec {spec:.2f}",
        )
    ax.set(
        title=title,
        xlabel=f"decision threshold (predicted probability of {positive_name}, 0-1)",
        ylabel="rate (0-1)",
        xlim=(0, 1),
        ylim=(-0.02, 1.02),
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower center", fontsize="small")
    return _finish(fig, own)
