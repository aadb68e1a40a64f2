"""Figures of MedDr-mini: the bootstrapped images, the causal attention mask, parameter
counts, accuracy by prompt setting and hallucination against temperature. Every figure has
a title and labelled axes with units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "plot_accuracy_by_setting",
    "plot_attention_mask",
    "plot_hallucination_by_temperature",
    "plot_instruction_images",
    "plot_parameter_counts",
]


def plot_instruction_images(cases: dict, per_modality: int = 4):
    """A row of images per modality, each titled with its diagnosis; ``cases`` maps a
    modality to :class:`~medai_edu.data.instructions.ImageCases`. Images are 32 px."""
    rows = len(cases)
    fig, axes = plt.subplots(
        rows, per_modality, figsize=(2.2 * per_modality, 2.4 * rows), squeeze=False
    )
    for r, (modality, c) in enumerate(cases.items()):
        for k in range(per_modality):
            ax = axes[r, k]
            ax.imshow(c.images[k].transpose(1, 2, 0), extent=(0, 32, 32, 0))
            ax.set_title(c.diagnoses[int(c.diagnosis[k])], fontsize="small")
            ax.set(xlabel="x (px)", ylabel=f"{modality}\ny (px)" if k == 0 else "")
    fig.suptitle("What bootstrapping starts from: an image and its diagnosis")
    fig.tight_layout()
    return fig


def plot_attention_mask(n_visual: int, n_text: int):
    """Who may attend to whom: visual tokens first, then text; white = allowed."""
    n = n_visual + n_text
    allowed = np.tril(np.ones((n, n), bool))
    fig, ax = plt.subplots(figsize=(5, 4.6), constrained_layout=True)
    ax.imshow(allowed, cmap="gray", extent=(-0.5, n - 0.5, n - 0.5, -0.5))
    for at in (n_visual - 0.5,):
        ax.axvline(at, color="C1", lw=1.5)
        ax.axhline(at, color="C1", lw=1.5, label="image | text")
    ax.set(
        title="Causal attention: a token sees itself and the past",
        xlabel="attended position (token index)",
        ylabel="attending position (token index)",
    )
    ax.legend(loc="upper right", fontsize="small")
    return fig


def plot_parameter_counts(model):
    """Parameters per part of MedDr-mini, split into trainable and frozen (LoRA shows
    here as a thin trainable sliver on a frozen decoder)."""
    parts: dict[str, list[int]] = {}
    for name, p in model.named_parameters():
        part = next(
            (k for k in ("vision", "projector", "decoder") if f"{k}." in f"{name}."), "other"
        )
        counts = parts.setdefault(part, [0, 0])
        counts[0 if p.requires_grad else 1] += p.numel()
    names = list(parts)
    trainable = np.array([parts[k][0] for k in names]) / 1e3
    frozen = np.array([parts[k][1] for k in names]) / 1e3
    fig, ax = plt.subplots(figsize=(6, 3.2), constrained_layout=True)
    ax.barh(names, trainable, color="C2", label="trainable")
    ax.barh(names, frozen, left=trainable, color="0.7", label="frozen")
    ax.set(title="MedDr-mini parameters", xlabel="parameters (thousands)", ylabel="part")
    ax.legend(fontsize="small")
    return fig


def plot_accuracy_by_setting(rows: list[dict]):
    """Grouped bars: accuracy per modality for each prompt setting; ``rows`` from
    ``accuracy_table`` ({modality, setting, accuracy})."""
    modalities = list(dict.fromkeys(r["modality"] for r in rows))
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    acc = {(r["modality"], r["setting"]): r["accuracy"] for r in rows}
    width = 0.8 / len(settings)
    fig, ax = plt.subplots(figsize=(8, 3.8), constrained_layout=True)
    for j, setting in enumerate(settings):
        xs = [i + j * width for i, m in enumerate(modalities) if (m, setting) in acc]
        ys = [acc[m, setting] for m in modalities if (m, setting) in acc]
        ax.bar(xs, ys, width, label=setting)
    ax.set_xticks(np.arange(len(modalities)) + 0.4 - width / 2, modalities)
    ax.set(
        title="Diagnosis accuracy on held-out cases, by what the prompt holds",
        xlabel="modality",
        ylabel="accuracy (fraction)",
        ylim=(0, 1),
    )
    ax.legend(fontsize="small", ncols=3, loc="lower right")
    return fig


def plot_hallucination_by_temperature(scores: dict[str, dict[float, dict[str, float]]]):
    """Two panels against sampling temperature, one line per modality: the hallucination
    rate and the share of findings stated correctly; ``scores[modality][temperature]`` is
    a ``report_scores`` dict."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    panels = [
        ("hallucination_rate", "hallucination rate (fraction)", "Reports naming a wrong finding"),
        ("correct_findings", "findings stated correctly (fraction)", "Findings got right"),
    ]
    for ax, (key, ylabel, title) in zip(axes, panels, strict=True):
        for modality, by_t in scores.items():
            temperatures = sorted(by_t)
            ax.plot(temperatures, [by_t[t][key] for t in temperatures], "o-", label=modality)
        ax.set(
            title=title,
            xlabel="sampling temperature (0 = greedy, unitless)",
            ylabel=ylabel,
            ylim=(0, 1),
        )
    axes[0].legend(fontsize="small")
    return fig
