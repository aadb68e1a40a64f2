"""Figures for multimodal fusion: AUROC with modalities missing, contributions, expert usage."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def plot_fusion_auroc(rows: list[dict], split: str = "test", ax=None):
    """Grouped bars: each model's AUROC with every modality, and with each one missing.

    rows: the output of :func:`medai_edu.experiments.breast_fusion.auroc_table`. A missing
    bar (NaN) is a single-modality model that lost its only input.
    """
    models = list(dict.fromkeys(r["model"] for r in rows))
    missing = list(dict.fromkeys(r["missing"] for r in rows))
    value = {(r["model"], r["missing"]): r[split] for r in rows}
    ax = ax or plt.subplots(figsize=(9, 4), constrained_layout=True)[1]
    width = 0.8 / len(missing)
    x = np.arange(len(models))
    for k, lost in enumerate(missing):
        heights = [value.get((m, lost), np.nan) for m in models]
        label = "all modalities" if lost == "none" else f"without {lost.upper()}"
        ax.bar(x + (k - (len(missing) - 1) / 2) * width, heights, width, label=label)
    ax.axhline(0.5, color="grey", lw=1, ls=":", label="chance")
    ax.set_xticks(x, models, rotation=15)
    ax.set_ylim(0.4, 1.0)
    ax.set_xlabel("model")
    ax.set_ylabel("malignancy AUROC (unitless)")
    ax.set_title(f"Malignancy AUROC with a modality missing at test time ({split} set)")
    ax.legend(ncol=3, fontsize="small", loc="lower right")
    return ax


def plot_modality_contributions(contributions, modalities, labels=None, ax=None):
    """Bars of logit(all) - logit(without modality) for each case.

    contributions: (cases, modalities), from :func:`medai_edu.models.mome.modality_contributions`.
    labels: one tick label per case (for example its diagnosis).
    """
    contributions = np.asarray(contributions)
    n_cases, n_mod = contributions.shape
    ax = ax or plt.subplots(figsize=(9, 3.5), constrained_layout=True)[1]
    width = 0.8 / n_mod
    x = np.arange(n_cases)
    for k, m in enumerate(modalities):
        ax.bar(x + (k - (n_mod - 1) / 2) * width, contributions[:, k], width, label=m.upper())
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, labels if labels is not None else [f"case {i}" for i in x], rotation=15)
    ax.set_xlabel("case")
    ax.set_ylabel("change in malignancy logit (nats)")
    ax.set_title("What each modality adds to the decision (positive = towards malignant)")
    ax.legend(fontsize="small")
    return ax


def plot_expert_usage(usage, modalities, ax=None):
    """Heatmap of the mean Soft-MoE combine weight of each modality's tokens per expert.

    usage: (modalities, experts), for example ``outputs["expert_usage"].mean(0)``.
    """
    usage = np.asarray(usage)
    ax = ax or plt.subplots(figsize=(5, 3), constrained_layout=True)[1]
    image = ax.imshow(usage, cmap="viridis", vmin=0, vmax=max(float(usage.max()), 1e-6))
    ax.set_xticks(range(usage.shape[1]), [f"expert {e}" for e in range(usage.shape[1])])
    ax.set_yticks(range(len(modalities)), [m.upper() for m in modalities])
    ax.set_xlabel("Soft-MoE expert")
    ax.set_ylabel("modality of the token")
    ax.set_title("Soft-MoE routing: where each modality's tokens go")
    ax.figure.colorbar(image, ax=ax, label="mean combine weight (fraction)")
    return ax
