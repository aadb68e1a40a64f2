"""Figures of a concept bottleneck: the clinical concepts it sees in one case, and how its
decision moves when a user corrects a concept (test-time intervention). Every function
returns the matplotlib Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.viz._arrays import as_array

__all__ = ["plot_concept_explanation", "plot_intervention"]


def _concept_groups(concept_probabilities, value_names, weights):
    """[(concept, probabilities (n_values,), value names)], checked."""
    if not concept_probabilities:
        raise ValueError("give at least one concept: name -> probabilities (n_values,)")
    unknown = set(weights) - set(concept_probabilities)
    if unknown:
        raise ValueError(f"weights for unknown concepts {sorted(unknown)}")
    groups = []
    for concept, p in concept_probabilities.items():
        if concept not in value_names:
            raise ValueError(f"no value names for the concept {concept!r}")
        p = as_array(p).ravel()
        names = tuple(value_names[concept])
        if len(p) != len(names):
            raise ValueError(f"{concept}: {len(p)} probabilities for {len(names)} values {names}")
        if np.isnan(p).any() or (p < 0).any() or (p > 1 + 1e-6).any():
            raise ValueError(f"{concept}: probabilities must be in [0, 1], got {p}")
        groups.append((concept, p, names))
    return groups


def _value_label(concept, name, first, weights) -> str:
    """A bar's tick label: the concept (and its weight) on its first value only."""
    if not first:
        return name
    concept_name = concept.replace("_", " ")
    if concept in weights:
        return f"{concept_name} (weight {weights[concept]:+.2f}): {name}"
    return f"{concept_name}: {name}"


def plot_concept_explanation(
    concept_probabilities: Mapping[str, np.ndarray],
    value_names: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
    title: str = "What the concept bottleneck sees",
    ax=None,
):
    """Horizontal bars of the clinical concepts a concept bottleneck predicts for one case.

    Each concept is a group of bars, one per value; the predicted value (the most probable)
    is solid and labelled, the others faint: the picture behind the textual explanation
    ("irregular margin, washout kinetics, ... hence malignant").

    concept_probabilities: concept -> (n_values,) predicted probabilities in [0, 1].
    value_names: concept -> n_values names. weights: concept -> how much it pushes the
        decision (e.g. the head's weight), written beside its name. ax: draw into this Axes.

    Returns the Figure. Raises ValueError for no concepts, a concept without value names or
    with as many probabilities as names, probabilities outside [0, 1], unknown weights.
    """
    weights = dict(weights or {})
    groups = _concept_groups(concept_probabilities, value_names, weights)
    n_bars = sum(len(p) for _, p, _ in groups) + len(groups) - 1
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.32 * n_bars + 1.4), layout="constrained")
    y, ticks, labels = 0.0, [], []
    for k, (concept, p, names) in enumerate(groups):
        best = int(p.argmax())
        for v, (probability, name) in enumerate(zip(p, names, strict=True)):
            ax.barh(y, probability, color=f"C{k}", alpha=1.0 if v == best else 0.3)
            if v == best:
                ax.text(probability + 0.01, y, f"{probability:.2f}", va="center", fontsize="small")
            ticks.append(y)
            labels.append(_value_label(concept, name, v == 0, weights))
            y += 1
        y += 1  # a gap between concepts
    ax.set_yticks(ticks, labels, fontsize="small")
    ax.invert_yaxis()
    ax.set(
        title=title,
        xlabel="predicted probability of the concept value (0-1)",
        ylabel="clinical concept: value",
        xlim=(0, 1.1),
    )
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


def plot_intervention(
    probabilities: Mapping[str, float],
    concept: str,
    class_name: str = "malignant",
    predicted: float | None = None,
    title: str | None = None,
):
    """Test-time intervention: the probability of ``class_name`` when a user sets
    ``concept`` to each of its values (bars), beside the bottleneck's own prediction
    (dashed line, ``predicted``); returns the Figure."""
    if not probabilities:
        raise ValueError("no intervention to plot")
    fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
    names = list(probabilities)
    ax.bar(names, [probabilities[n] for n in names], color="tab:purple")
    if predicted is not None:
        ax.axhline(predicted, color="k", linestyle="--", label="as the bottleneck predicted")
        ax.legend(fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"{concept} set by the user to (concept value)")
    ax.set_ylabel(f"P({class_name}) (0-1)")
    ax.set_title(title or f"Correcting one concept: {concept}")
    return fig
