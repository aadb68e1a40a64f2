"""Figures of synthetic breast MRI cases."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.data.breast_mri import KINETICS, BreastMRICase, kinetic_curve


def plot_breast_mri_case(case: BreastMRICase, slice_index: int | None = None, title=None):
    """The lesion's central slice in every sequence, with the lesion outline; returns the Figure.

    Panels: DCE pre-contrast, DCE first post-contrast, subtraction (post - pre), T2, DWI at the
    high b-value, ADC (10^-3 mm^2/s).
    """
    if slice_index is None:
        per_slice = case.mask.sum(axis=(1, 2))
        slice_index = int(per_slice.argmax()) if per_slice.any() else case.mask.shape[0] // 2
    z = slice_index
    signal = "signal (a.u.)"
    panels = [
        ("DCE pre-contrast", case.dce[0, z], "gray", signal),
        (f"DCE {case.dce_times_min[1]:g} min", case.dce[1, z], "gray", signal),
        ("subtraction (post - pre)", case.dce[1, z] - case.dce[0, z], "magma", signal),
        ("T2-weighted", case.t2[z], "gray", signal),
        (f"DWI b={case.b_values[1]:g} s/mm²", case.dwi[1, z], "gray", signal),
        ("ADC", case.adc[z], "viridis", "ADC (10⁻³ mm²/s)"),
    ]
    dy, dx = case.spacing_mm[1], case.spacing_mm[2]
    extent = (0, case.mask.shape[2] * dx, case.mask.shape[1] * dy, 0)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.0))
    for ax, (name, image, cmap, unit) in zip(axes, panels, strict=True):
        shown = ax.imshow(image, cmap=cmap, extent=extent)
        ax.contour(
            case.mask[z],
            levels=[0.5],
            colors="tab:red",
            linewidths=0.8,
            extent=extent,
            origin="upper",
        )
        ax.set(title=name, xlabel="x (mm)", ylabel="y (mm)")
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02, label=unit)
    fig.suptitle(title or f"Slice {z}: {case.describe()}")
    fig.tight_layout()
    return fig


def plot_kinetic_curves(case: BreastMRICase | None = None, title="Enhancement kinetics"):
    """The three BI-RADS curve types, and a case's measured lesion curve if given."""
    times = np.linspace(0, 6, 61)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for k, name in enumerate(KINETICS):
        ax.plot(times, 100 * kinetic_curve(k, times), label=f"{name} (type {'I' * (k + 1)})")
    if case is not None:
        lesion = case.dce[:, case.mask]
        relative = 100 * (lesion.mean(axis=1) / lesion[0].mean() - 1)
        ax.plot(case.dce_times_min, relative, "ko--", label="this lesion (measured)")
    ax.set(
        title=title, xlabel="time after contrast injection (min)", ylabel="relative enhancement (%)"
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def lesion_enhancement(cohort) -> np.ndarray:
    """Each case's mean lesion signal relative to pre-contrast, in %: (N, phases)."""
    curves = []
    for i in range(len(cohort)):
        lesion = cohort.dce[i][:, cohort.mask[i]].mean(axis=1)
        curves.append(100 * (lesion / lesion[0] - 1))
    return np.array(curves)


def plot_cohort_kinetics(cohort, title="Lesion enhancement by curve type"):
    """Mean and spread (10th-90th percentile) of lesion curves for each BI-RADS curve type."""
    curves = lesion_enhancement(cohort)
    times = np.asarray(cohort.config.dce_times_min)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for k, name in enumerate(KINETICS):
        group = curves[cohort.kinetic == k]
        if not len(group):
            continue
        ax.plot(times, group.mean(axis=0), marker="o", label=f"{name} (n={len(group)})")
        low, high = np.percentile(group, [10, 90], axis=0)
        ax.fill_between(times, low, high, alpha=0.2)
    ax.set(
        title=title, xlabel="time after contrast injection (min)", ylabel="relative enhancement (%)"
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_lesion_adc(cohort, title="Lesion ADC"):
    """Histograms of mean lesion ADC, split by diffusion restriction and by diagnosis."""
    adc = np.array([cohort.adc[i][cohort.mask[i]].mean() for i in range(len(cohort))])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    bins = np.linspace(0.4, 2.4, 31)
    groups = (
        ("diffusion", cohort.diffusion_restricted, ("not restricted", "restricted")),
        ("diagnosis", cohort.malignant, ("benign", "malignant")),
    )
    for ax, (name, labels, names) in zip(axes, groups, strict=True):
        for value, label in enumerate(names):
            ax.hist(adc[labels == value], bins=bins, alpha=0.6, label=label)
        ax.set(
            title=f"{title} by {name}",
            xlabel="mean lesion ADC (10⁻³ mm²/s)",
            ylabel="cases (count)",
        )
        ax.legend()
    fig.tight_layout()
    return fig
