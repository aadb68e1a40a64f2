"""Figures of mSTAR-mini: pretraining losses, few-shot curves, slide-report similarity and
search-by-image results. Every figure has a title and labelled axes with units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "plot_few_shot_curves",
    "plot_kaplan_meier",
    "plot_pretraining_losses",
    "plot_search_results",
    "plot_similarity_matrix",
]

#: What each pretraining loss is, for the legend.
LOSS_LABELS = {
    "simclr": "(b) tiles alone: SimCLR (NT-Xent)",
    "stage1": "(c) stage 1: slide-report-genes InfoNCE",
    "stage2": "(d) stage 2: self-taught",
}


def plot_pretraining_losses(losses: dict[str, list[float]], title="mSTAR-mini pretraining"):
    """One panel per stage: the loss per optimiser step (nats)."""
    fig, axes = plt.subplots(1, len(losses), figsize=(4 * len(losses), 3), squeeze=False)
    for ax, (name, values) in zip(axes[0], losses.items(), strict=True):
        ax.plot(values, lw=1)
        ax.set(
            title=LOSS_LABELS.get(name, name), xlabel="optimiser step (count)", ylabel="loss (nats)"
        )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_few_shot_curves(rows: list[dict], title: str, ax=None):
    """AUROC against shots per class, one line per encoder; ``rows`` from
    ``few_shot_table`` ({encoder, shots, auroc} and, when there, the band low-high over
    draws)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for name in dict.fromkeys(r["encoder"] for r in rows):
        mine = [r for r in rows if r["encoder"] == name]
        shots = [r["shots"] for r in mine]
        (line,) = ax.plot(shots, [r["auroc"] for r in mine], "o-", label=name)
        if all("low" in r for r in mine):
            ax.fill_between(shots, [r["low"] for r in mine], [r["high"] for r in mine],
                            color=line.get_color(), alpha=0.12)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set(xlabel="labelled slides per class (shots)", ylabel="macro AUROC (unitless)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax.figure


def plot_kaplan_meier(months, event, groups, labels, title="Survival by predicted risk", ax=None):
    """Kaplan-Meier curves of each group of slides (e.g. tertiles of a model's predicted
    risk). months, event, groups: (S,) arrays; labels: one name per group index."""
    from medai_edu.metrics import kaplan_meier

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    months, event, groups = (np.asarray(a) for a in (months, event, groups))
    for g, label in enumerate(labels):
        chosen = groups == g
        if chosen.any():
            times, survival = kaplan_meier(months[chosen], event[chosen])
            ax.step(times, survival, where="post", label=f"{label} (n = {chosen.sum()})")
    ax.set(title=title, xlabel="time since diagnosis (months)",
           ylabel="probability of survival (fraction)", ylim=(0, 1.02))  # fmt: skip
    ax.legend(fontsize="small")
    return ax.figure


def plot_similarity_matrix(similarity: np.ndarray, title="Slide-report similarity"):
    """(S, S) cosine similarity of slide i (rows) to report j (columns); a bright diagonal
    means each slide found its own report."""
    fig, ax = plt.subplots(figsize=(5, 4.4), constrained_layout=True)
    image = ax.imshow(similarity, cmap="viridis")
    ax.set(title=title, xlabel="report (index)", ylabel="slide (index)")
    fig.colorbar(image, ax=ax, label="cosine similarity (unitless)")
    return fig


def plot_search_results(query, hits, similarities, captions, mpp: float, query_caption=""):
    """The query slide beside its nearest archived slides.

    query, hits: (H, W, 3) uint8 images (hits: a list); similarities: cosine per hit;
    captions: a short text per hit (its diagnosis); mpp: µm per pixel of the images.
    """
    panels = [query, *hits]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3), squeeze=False)
    for i, (ax, image) in enumerate(zip(axes[0], panels, strict=True)):
        height, width = image.shape[:2]
        ax.imshow(image, extent=(0, width * mpp / 1000, height * mpp / 1000, 0))
        if i == 0:
            ax.set_title(f"query\n{query_caption}", fontsize="small", color="C3")
        else:
            text = f"#{i}  similarity {similarities[i - 1]:.2f}\n{captions[i - 1]}"
            ax.set_title(text, fontsize="small")
        ax.set(xlabel="x (mm)", ylabel="y (mm)" if i == 0 else "")
    fig.suptitle("Search by image: the archived slides nearest to the query")
    fig.tight_layout()
    return fig
