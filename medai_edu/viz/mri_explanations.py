"""Explanations of a breast MRI decision laid over the slice they explain.

:func:`plot_mri_overlay` (one method, one slice), :func:`plot_method_comparison` (several
methods side by side, with their localisation scores) and :func:`plot_modality_maps`
(MOME-mini's map per modality). Axes are in mm; every map is shown as a fraction of its
largest |value|, with a labelled colour bar. Every function returns the matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.viz._arrays import as_array, check_index, check_opacity, same_shape, volume
from medai_edu.viz._overlay import (
    SPACING_MM,
    axes_grid,
    draw_overlay,
    is_signed,
    lesion_slice,
    mass_slice,
    overlay_label,
    peak,
    slice_extent,
)

__all__ = ["SPACING_MM", "plot_method_comparison", "plot_modality_maps", "plot_mri_overlay"]


def _slice_title(z: int, spacing_mm) -> str:
    return f"slice {z} (z = {z * spacing_mm[0]:g} mm)"


def plot_mri_overlay(
    image,
    attribution,
    mask=None,
    slice_index: int | None = None,
    opacity: float = 0.5,
    title: str = "Attribution",
    ax=None,
    *,
    spacing_mm=SPACING_MM,
):
    """One axial slice of an MRI volume in grey with the attribution over it.

    image, attribution: (Z, Y, X) arrays or tensors; the attribution (e.g.
        ``explain(...).attribution[i]``) is shown divided by its largest |value| in the
        volume, values under 5 % of it transparent; a map with negative values gets a
        diverging colour map (red: for the explained class, blue: against).
    mask: (Z, Y, X) bool lesion, outlined. slice_index: by default the slice with the
        largest attribution mass (sum of |a|). opacity: of the overlay, in [0, 1].
    title: what is shown; the slice and its position in mm follow on a second line.
    ax: draw into this Axes instead of a new figure. spacing_mm: voxel size (Z, Y, X) in mm.

    Returns the Figure. Raises ValueError for an image that is not 3D, an attribution or
    mask of another shape, a slice outside the volume, or an opacity outside [0, 1].
    """
    image = volume(image, "image")
    attribution = same_shape(attribution, image.shape, "the attribution")
    mask = None if mask is None else same_shape(mask, image.shape, "the mask", dtype=bool)
    z = mass_slice(attribution) if slice_index is None else slice_index
    z = check_index(z, image.shape[0], "slice")
    opacity = check_opacity(opacity)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
    signed = is_signed(attribution)
    lesion = None if mask is None else mask[z]
    extent = slice_extent(image.shape, spacing_mm)
    scale = peak(attribution)
    overlay = draw_overlay(ax, image[z], attribution[z], lesion, scale, signed, opacity, extent)
    ax.set_title(f"{title}\n{_slice_title(z, spacing_mm)}")
    ax.figure.colorbar(overlay, ax=ax, label=overlay_label(signed))
    return ax.figure


def _format_scores(scores: Mapping[str, float]) -> str:
    """One line per score; a score with "pointing" in its name reads hit / miss."""
    parts = []
    for name, value in scores.items():
        if "pointing" in name:
            parts.append(f"{name}: {'hit' if value else 'miss'}")
        else:
            parts.append(f"{name} {float(value):.2f}")
    return "\n".join(parts)


def _comparison_maps(image, explanations, mask, scores):
    """The checked maps, mask and scores of :func:`plot_method_comparison`."""
    if not explanations:
        raise ValueError("give at least one explanation: method name -> (Z, Y, X) map")
    maps = {
        name: same_shape(a, image.shape, f"the {name!r} map") for name, a in explanations.items()
    }
    mask = None if mask is None else same_shape(mask, image.shape, "the mask", dtype=bool)
    scores = dict(scores or {})
    unknown = set(scores) - set(maps)
    if unknown:
        raise ValueError(f"scores for {sorted(unknown)}, which are not among {list(maps)}")
    return maps, mask, scores


def plot_method_comparison(
    image,
    explanations: Mapping[str, np.ndarray],
    mask=None,
    slice_index: int | None = None,
    scores: Mapping[str, Mapping[str, float]] | None = None,
    opacity: float = 0.5,
    title: str = "The same case explained by each method",
    *,
    spacing_mm=SPACING_MM,
):
    """Side-by-side overlays of several explanations of one case, on the same slice.

    image: (Z, Y, X). explanations: method name -> (Z, Y, X) map, one panel each in the
        dict's order; each map is shown as a fraction of its own maximum (the methods' units
        differ): one colour bar for the maps without negative values, one for signed maps.
    mask: (Z, Y, X) bool lesion, outlined in every panel. slice_index: by default the
        lesion's largest slice (a fair place to compare), else the one with most attribution.
    scores: method -> {score name: value}, written under the method's name (e.g. from
        :func:`explanation_scores`). title: the figure's title; the slice is appended.

    Returns the Figure. Raises ValueError for no explanation, a map or mask of another shape
    than the image, scores for a method not shown, a bad slice or opacity.
    """
    image = volume(image, "image")
    maps, mask, scores = _comparison_maps(image, explanations, mask, scores)
    if slice_index is None:
        lesion = None if mask is None else lesion_slice(mask)
        total = sum(np.nan_to_num(np.abs(a)) / peak(a) for a in maps.values())
        slice_index = lesion if lesion is not None else mass_slice(total)
    z = check_index(slice_index, image.shape[0], "slice")
    opacity = check_opacity(opacity)
    fig, axes = axes_grid(len(maps), width=3.6, height=3.6)
    extent = slice_extent(image.shape, spacing_mm)
    colour_scales = {}  # one shared colour bar per kind of map: unsigned, signed
    for ax, (name, a) in zip(axes, maps.items(), strict=True):
        signed = is_signed(a)
        lesion = None if mask is None else mask[z]
        overlay = draw_overlay(ax, image[z], a[z], lesion, peak(a), signed, opacity, extent)
        text = name if name not in scores else f"{name}\n{_format_scores(scores[name])}"
        ax.set_title(text, fontsize="medium")
        colour_scales.setdefault(signed, overlay)
    for signed, overlay in sorted(colour_scales.items()):
        fig.colorbar(overlay, ax=axes, label=overlay_label(signed), shrink=0.8)
    fig.suptitle(f"{title}: {_slice_title(z, spacing_mm)}")
    return fig


def _per_modality(explanation, case, image_by_modality, mask):
    """The checked (Z, Y, X) map and image of each modality, and the mask, for one case."""
    per_modality = dict(getattr(explanation, "per_modality", {}) or {})
    if not per_modality:
        method = getattr(explanation, "method", "?")
        raise ValueError(f"the {method} explanation has no per-modality maps")
    case = check_index(case, len(next(iter(per_modality.values()))), "case")
    missing = [m for m in per_modality if m not in image_by_modality]
    if missing:
        raise ValueError(
            f"no image for {missing}: image_by_modality needs one (Z, Y, X) volume for each "
            f"of {list(per_modality)}"
        )
    maps = {m: volume(a[case], f"the {m} map") for m, a in per_modality.items()}
    shape = next(iter(maps.values())).shape
    images = {m: as_array(image_by_modality[m]) for m in maps}
    for m, image in images.items():
        if image.shape != shape:
            raise ValueError(f"the {m} map has shape {shape} but its image {image.shape}")
    mask = None if mask is None else same_shape(mask, shape, "the mask", dtype=bool)
    return maps, images, mask


def plot_modality_maps(
    explanation,
    case: int,
    image_by_modality: Mapping[str, np.ndarray],
    mask=None,
    slice_index: int | None = None,
    opacity: float = 0.5,
    *,
    spacing_mm=SPACING_MM,
):
    """One case's map per modality (MOME-mini's ``per_modality``) over that modality's image.

    All maps share one scale (the largest |value| over the case's modalities), so that a
    modality the model leans on is brighter; each panel's title gives the modality's share
    of the case's total attribution.

    explanation: from ``explain(model, batch, method)`` with per-modality maps (B, Z, Y, X).
    case: the case's index in the batch. image_by_modality: modality -> (Z, Y, X) image
    shown under its map (e.g. DCE subtraction, T2, DWI b-high). mask: (Z, Y, X) bool lesion.
    slice_index: by default the slice with the most attribution summed over the modalities.

    Returns the Figure. Raises ValueError when the explanation has no per-modality maps, the
    case is outside the batch, an image is missing or of another shape, a bad slice/opacity.
    """
    maps, images, mask = _per_modality(explanation, case, image_by_modality, mask)
    shape = next(iter(maps.values())).shape
    total = sum(np.nan_to_num(np.abs(a)) for a in maps.values())
    z = mass_slice(total) if slice_index is None else slice_index
    z = check_index(z, shape[0], "slice")
    opacity = check_opacity(opacity)
    scale = max(peak(a) for a in maps.values())
    signed = any(is_signed(a) for a in maps.values())
    mass = {m: float(np.nansum(np.abs(a))) for m, a in maps.items()}
    all_mass = sum(mass.values()) or 1.0
    fig, axes = axes_grid(len(maps), max_columns=len(maps))
    extent = slice_extent(shape, spacing_mm)
    lesion = None if mask is None else mask[z]
    for ax, (m, a) in zip(axes, maps.items(), strict=True):
        overlay = draw_overlay(ax, images[m][z], a[z], lesion, scale, signed, opacity, extent)
        ax.set_title(f"{m.upper()}: {100 * mass[m] / all_mass:.0f} % of the attribution")
    label = overlay_label(signed).replace("max", "the case's max")
    fig.colorbar(overlay, ax=axes, label=label, shrink=0.8)
    method = getattr(explanation, "method", "attribution").replace("_", " ")
    fig.suptitle(f"{method} per modality, case {case}: {_slice_title(z, spacing_mm)}")
    return fig
