"""How good is an explanation? Its localisation scores against the lesion, deletion and
insertion curves (faithfulness), and the benchmark's table of methods as bar panels.
Every figure returns the matplotlib Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.explain.metrics import curve_area, mask_overlap, pointing_game
from medai_edu.viz._arrays import as_array

__all__ = ["explanation_scores", "plot_deletion_curves", "plot_method_scores"]


def explanation_scores(
    explanations: Mapping[str, np.ndarray], mask, tolerance: int = 0
) -> dict[str, dict[str, float]]:
    """Pointing game (hit = 1.0) and top-region overlap (IoU) of each method's map with the
    lesion; the ``scores`` of :func:`plot_method_comparison`.

    explanations: method -> (Z, Y, X) map; mask: (Z, Y, X) bool lesion.
    """
    return {
        name: {
            "pointing game": float(pointing_game(a, mask, tolerance)),
            "overlap (IoU)": mask_overlap(a, mask),
        }
        for name, a in explanations.items()
    }


def plot_deletion_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    kind: str = "deletion",
    ax=None,
    title: str | None = None,
):
    """Deletion or insertion curves (Petsiuk et al., 2018), one line per method.

    curves: method -> (fractions (K,) in [0, 1], scores (K,)), from
        :func:`medai_edu.explain.metrics.deletion_curve` or ``insertion_curve``; a method
        whose name contains "random" is drawn as the grey dashed baseline.
    kind: "deletion" (a faithful map makes the score fall fast: small area) or "insertion"
        (rise fast: large area). ax: draw into this Axes. title: optional.

    Returns the Figure. Raises ValueError for an unknown kind, no curves, or a curve whose
    fractions and scores do not match.
    """
    if kind not in ("deletion", "insertion"):
        raise ValueError(f"kind must be 'deletion' or 'insertion', got {kind!r}")
    if not curves:
        raise ValueError("give at least one curve: method -> (fractions, scores)")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for name, (fractions, scores) in curves.items():
        area = curve_area(fractions, scores)  # checks the lengths
        style = {"color": "grey", "ls": "--"} if "random" in name.lower() else {"marker": "."}
        x, y = 100 * as_array(fractions).ravel(), as_array(scores).ravel()
        ax.plot(x, y, label=f"{name} (area {area:.3f})", **style)
    removed = "removed" if kind == "deletion" else "inserted"
    better = "lower area is more faithful" if kind == "deletion" else "higher is more faithful"
    ax.set(
        title=title or f"{kind.capitalize()} curves ({better})",
        xlabel=f"fraction of input {removed} (%)",
        ylabel="probability of the explained class (0-1)",
        xlim=(0, 100),
    )
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax.figure


#: The panels of :func:`plot_method_scores`: title, (row key, bar label) pairs, the row key
#: of a random map's level (or None), the y label.
SCORE_PANELS = (
    (
        "localisation",
        (("pointing_game", "pointing game"), ("mask_overlap", "overlap")),
        "random_pointing_game",
        "fraction of cases / IoU (0-1)",
    ),
    (
        "faithfulness",
        (
            ("deletion_area", "deletion (lower is better)"),
            ("insertion_area", "insertion (higher is better)"),
        ),
        "random_deletion_area",
        "area under the curve (0-1)",
    ),
    (
        "sanity check",
        (("sanity_correlation", "after randomising the weights"),),
        None,
        "Spearman rank correlation (-1 to 1)",
    ),
)


def _score_panel(ax, rows, panel):
    """One panel of :func:`plot_method_scores`: grouped bars per method, the random level."""
    name, bars, chance, ylabel = panel
    x = np.arange(len(rows))
    width = 0.8 / len(bars)
    for k, (key, label) in enumerate(bars):
        offset = (k - (len(bars) - 1) / 2) * width
        ax.bar(x + offset, [r[key] for r in rows], width, label=label)
    if chance:
        which = "random map" if name == "localisation" else "random map (deletion)"
        levels = [r[chance] for r in rows]
        ax.scatter(x, levels, marker="_", s=400, color="k", zorder=3, label=which)
    if name == "sanity check":
        ax.axhline(0.5, color="k", linestyle="--", linewidth=1, label="fails above 0.5")
    methods = [r["method"].replace("_", " ") for r in rows]
    ax.set_xticks(x, methods, rotation=30, ha="right")
    ax.set(title=name, xlabel="explanation method", ylabel=ylabel)
    ax.legend(fontsize=7)


def plot_method_scores(rows: Sequence[Mapping], title: str = "How good is each explanation?"):
    """The benchmark's table as three panels, one bar per method: localisation (pointing
    game and mask overlap, with the pointing game of a random map), faithfulness (deletion
    and insertion areas, with a random map's) and the randomisation sanity check.

    rows: from :func:`medai_edu.experiments.explanations.mri_method_table` or
    ``slide_method_table`` (keys pointing_game, random_pointing_game, mask_overlap,
    deletion_area, random_deletion_area, insertion_area, random_insertion_area,
    sanity_correlation, method).
    """
    if not rows:
        raise ValueError("no rows to plot")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    for ax, panel in zip(axes, SCORE_PANELS, strict=True):
        _score_panel(ax, rows, panel)
    fig.suptitle(title)
    return fig
