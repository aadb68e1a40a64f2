"""Figures of XAIM-mini: explanations laid over the image they explain, and scored.

* breast MRI: :func:`plot_mri_overlay` (one method, one slice), :func:`plot_method_comparison`
  (several methods side by side, with their localisation scores), :func:`plot_modality_maps`
  (MOME-mini's map per modality) and the interactive :func:`explanation_explorer`;
* slides: :func:`plot_slide_overlay` (tile scores in slide coordinates, tumour tiles outlined);
* faithfulness: :func:`plot_deletion_curves` (deletion or insertion, with their areas);
* MOME-mini's read-outs: :func:`plot_modality_contributions` and :func:`plot_routing`;
* the textual explanation of a concept bottleneck: :func:`plot_concept_explanation`.

Every figure has a title and labelled axes with units; images have a labelled colour bar. MRI
attributions are shown as a fraction of the case's largest absolute value (their raw units
differ from method to method), so that a colour means the same in every panel. Every
function returns the matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from medai_edu.explain.metrics import curve_area, mask_overlap, pointing_game

__all__ = [
    "SPACING_MM",
    "explanation_explorer",
    "explanation_scores",
    "plot_concept_explanation",
    "plot_deletion_curves",
    "plot_intervention",
    "plot_method_comparison",
    "plot_method_scores",
    "plot_modality_contributions",
    "plot_modality_maps",
    "plot_mri_overlay",
    "plot_routing",
    "plot_slide_overlay",
]

#: Voxel size (slice, row, column) in mm of the synthetic breast MRI.
SPACING_MM = (3.0, 2.0, 2.0)

#: Overlay values below this fraction of the maximum are left transparent, so that the
#: anatomy stays visible where the method attributes (almost) nothing.
HIDE_BELOW = 0.05

LESION_COLOUR = "tab:cyan"
TUMOUR_COLOUR = "lime"


# --------------------------------------------------------------------------- helpers


def _array(x, dtype=float) -> np.ndarray:
    """numpy copy of an array or a torch tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _volume(x, name: str) -> np.ndarray:
    volume = _array(x)
    if volume.ndim != 3:
        raise ValueError(f"{name} must be one volume (Z, Y, X), got shape {volume.shape}")
    return volume


def _same_shape(x, shape: tuple[int, ...], name: str, dtype=float) -> np.ndarray:
    a = _array(x, dtype=dtype)
    if a.shape != shape:
        raise ValueError(f"the image has shape {shape} but {name} has shape {a.shape}")
    return a


def _mass_slice(attribution: np.ndarray) -> int:
    """The axial slice holding the largest share of |attribution| (NaN counts as 0)."""
    return int(np.nansum(np.abs(attribution), axis=(1, 2)).argmax())


def _lesion_slice(mask: np.ndarray) -> int | None:
    per_slice = mask.sum(axis=(1, 2))
    return int(per_slice.argmax()) if per_slice.any() else None


def _check_slice(slice_index, depth: int) -> int:
    if isinstance(slice_index, bool) or not isinstance(slice_index, int | np.integer):
        raise ValueError(f"slice_index must be an integer, got {slice_index!r}")
    if not 0 <= slice_index < depth:
        raise ValueError(f"slice {slice_index} is outside 0..{depth - 1}")
    return int(slice_index)


def _check_opacity(opacity: float) -> float:
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    return float(opacity)


def _extent(shape: tuple[int, ...], spacing_mm) -> tuple[float, float, float, float]:
    """imshow extent (left, right, bottom, top) in mm of a (Z, Y, X) volume's slice."""
    _, dy, dx = spacing_mm
    return (0.0, shape[2] * dx, shape[1] * dy, 0.0)


def _scale(attribution: np.ndarray) -> float:
    """The largest |value|, or 1 when the map is all zero or NaN (nothing to normalise)."""
    peak = float(np.nanmax(np.abs(attribution))) if np.isfinite(attribution).any() else 0.0
    return peak if peak > 0 else 1.0


def _overlay_label(signed: bool) -> str:
    return "attribution (fraction of max |a|)" if signed else "attribution (fraction of max)"


def _draw_overlay(ax, image2d, attribution2d, mask2d, scale, signed, opacity, extent):
    """Grey image, attribution / scale as a heat overlay, lesion outline; the overlay's
    mappable (for the colour bar)."""
    ax.imshow(image2d, cmap="gray", extent=extent)
    shown = attribution2d / scale
    hidden = np.abs(np.nan_to_num(shown)) < HIDE_BELOW
    cmap, vmin = ("RdBu_r", -1.0) if signed else ("inferno", 0.0)
    overlay = ax.imshow(
        np.ma.masked_where(hidden, shown),
        cmap=cmap,
        vmin=vmin,
        vmax=1.0,
        alpha=opacity,
        extent=extent,
        interpolation="nearest",
    )
    if mask2d is not None and mask2d.any():
        ax.contour(
            mask2d.astype(float),
            levels=[0.5],
            colors=LESION_COLOUR,
            linewidths=1.2,
            extent=extent,
            origin="upper",
        )
        handle = Line2D([], [], color=LESION_COLOUR, label="lesion (ground truth)")
        ax.legend(handles=[handle], loc="lower right", fontsize="x-small", framealpha=0.6)
    ax.set(xlabel="x (mm)", ylabel="y (mm)")
    return overlay


def _axes_grid(n: int, width: float = 3.4, height: float = 3.3, max_columns: int = 4):
    columns = min(n, max_columns)
    rows = -(-n // columns)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(width * columns, height * rows),
        squeeze=False,
        constrained_layout=True,
    )
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.remove()
    return fig, list(axes[:n])


# --------------------------------------------------------------------------- breast MRI


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

    Parameters
    ----------
    image : array or tensor, shape (Z, Y, X)
        The volume shown underneath, e.g. a DCE subtraction (any intensity unit).
    attribution : array or tensor, shape (Z, Y, X)
        The explanation, e.g. ``explain(...).attribution[i]``; shown divided by its largest
        |value| in the volume. A map with negative values gets a diverging colour map (red:
        for the explained class, blue: against).
        Values below ``HIDE_BELOW`` (5 %) of the maximum are transparent.
    mask : bool array, shape (Z, Y, X), optional
        The lesion: its outline is drawn on the slice.
    slice_index : int, optional
        The slice; by default the one with the largest attribution mass (sum of |a|).
    opacity : float in [0, 1], default 0.5
        Opacity of the overlay.
    title : str
        What is shown; the slice and its position in mm follow on a second line.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
    spacing_mm : (3,) floats
        Voxel size (slice, row, column) in mm: the axes are in mm.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For an image that is not 3D, an attribution or mask of another shape, a slice
        outside the volume, or an opacity outside [0, 1].
    """
    image = _volume(image, "image")
    attribution = _same_shape(attribution, image.shape, "the attribution")
    mask = None if mask is None else _same_shape(mask, image.shape, "the mask", dtype=bool)
    z = _mass_slice(attribution) if slice_index is None else slice_index
    z = _check_slice(z, image.shape[0])
    opacity = _check_opacity(opacity)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.2), constrained_layout=True)
    signed = bool(np.nanmin(attribution) < 0)
    overlay = _draw_overlay(
        ax,
        image[z],
        attribution[z],
        None if mask is None else mask[z],
        _scale(attribution),
        signed,
        opacity,
        _extent(image.shape, spacing_mm),
    )
    ax.set_title(f"{title}\nslice {z} (z = {z * spacing_mm[0]:g} mm)")
    ax.figure.colorbar(overlay, ax=ax, label=_overlay_label(signed))
    return ax.figure


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


def _format_scores(scores: Mapping[str, float]) -> str:
    parts = []
    for name, value in scores.items():
        if "pointing" in name:
            parts.append(f"{name}: {'hit' if value else 'miss'}")
        else:
            parts.append(f"{name} {float(value):.2f}")
    return "\n".join(parts)


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

    Parameters
    ----------
    image : array, shape (Z, Y, X)
    explanations : dict of method name -> array (Z, Y, X)
        One panel each, in the dict's order; every map is shown as a fraction of its own
        maximum (the methods' units differ), so one colour bar serves the maps without
        negative values and one the signed maps (red: for the class, blue: against).
    mask : bool array (Z, Y, X), optional
        The lesion, outlined in every panel.
    slice_index : int, optional
        By default the lesion's largest slice when a mask is given (a fair place to compare
        them), otherwise the slice with the most attribution summed over the methods.
    scores : dict of method -> dict of score name -> float, optional
        Written under each method's name, one line each, e.g. from
        :func:`explanation_scores`; a name with "pointing" in it is shown as hit / miss.
    opacity : float in [0, 1]
    title : str
        The figure's title; the slice is appended.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No explanation, a map or mask of another shape than the image, scores for a method
        not shown, a bad slice or opacity.
    """
    image = _volume(image, "image")
    if not explanations:
        raise ValueError("give at least one explanation: method name -> (Z, Y, X) map")
    maps = {
        name: _same_shape(a, image.shape, f"the {name!r} map") for name, a in explanations.items()
    }
    mask = None if mask is None else _same_shape(mask, image.shape, "the mask", dtype=bool)
    scores = dict(scores or {})
    unknown = set(scores) - set(maps)
    if unknown:
        raise ValueError(f"scores for {sorted(unknown)}, which are not among {list(maps)}")
    if slice_index is None:
        lesion = None if mask is None else _lesion_slice(mask)
        total = sum(np.nan_to_num(np.abs(a)) / _scale(a) for a in maps.values())
        slice_index = lesion if lesion is not None else _mass_slice(total)
    z = _check_slice(slice_index, image.shape[0])
    opacity = _check_opacity(opacity)
    fig, axes = _axes_grid(len(maps), width=3.6, height=3.6)
    extent = _extent(image.shape, spacing_mm)
    colour_scales = {}  # one shared colour bar per kind of map: unsigned, signed
    for ax, (name, a) in zip(axes, maps.items(), strict=True):
        signed = bool(np.nanmin(a) < 0)
        overlay = _draw_overlay(
            ax,
            image[z],
            a[z],
            None if mask is None else mask[z],
            _scale(a),
            signed,
            opacity,
            extent,
        )
        text = name if name not in scores else f"{name}\n{_format_scores(scores[name])}"
        ax.set_title(text, fontsize="medium")
        colour_scales.setdefault(signed, overlay)
    for signed, overlay in sorted(colour_scales.items()):
        fig.colorbar(overlay, ax=axes, label=_overlay_label(signed), shrink=0.8)
    fig.suptitle(f"{title}: slice {z} (z = {z * spacing_mm[0]:g} mm)")
    return fig


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
    modality the model leans on is brighter; each panel's title gives the modality's share of
    the case's total attribution.

    Parameters
    ----------
    explanation : Explanation
        From ``explain(model, batch, method)`` with per-modality maps, (B, Z, Y, X) each.
    case : int
        Index of the case in the batch.
    image_by_modality : dict of modality -> array (Z, Y, X)
        The image shown under each modality's map, e.g. DCE subtraction, T2, DWI b-high.
    mask : bool array (Z, Y, X), optional
        The lesion, outlined in every panel.
    slice_index : int, optional
        By default the slice with the most attribution summed over the modalities.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        The explanation has no per-modality maps, the case is outside the batch, an image is
        missing for a modality or its shape differs, a bad slice or opacity.
    """
    per_modality = dict(getattr(explanation, "per_modality", {}) or {})
    if not per_modality:
        raise ValueError(
            f"the {getattr(explanation, 'method', '?')} explanation has no per-modality maps"
        )
    n_cases = len(next(iter(per_modality.values())))
    if isinstance(case, bool) or not isinstance(case, int | np.integer):
        raise ValueError(f"case must be an integer index, got {case!r}")
    if not 0 <= case < n_cases:
        raise ValueError(f"case {case} is outside 0..{n_cases - 1}")
    missing = [m for m in per_modality if m not in image_by_modality]
    if missing:
        raise ValueError(
            f"no image for {missing}: image_by_modality needs one (Z, Y, X) volume for each "
            f"of {list(per_modality)}"
        )
    maps = {m: _volume(a[case], f"the {m} map") for m, a in per_modality.items()}
    shape = next(iter(maps.values())).shape
    images = {}
    for m in maps:
        images[m] = _array(image_by_modality[m])
        if images[m].shape != shape:
            raise ValueError(f"the {m} map has shape {shape} but its image {images[m].shape}")
    mask = None if mask is None else _same_shape(mask, shape, "the mask", dtype=bool)
    total = sum(np.nan_to_num(np.abs(a)) for a in maps.values())
    z = _mass_slice(total) if slice_index is None else slice_index
    z = _check_slice(z, shape[0])
    opacity = _check_opacity(opacity)
    scale = max(_scale(a) for a in maps.values())
    signed = any(bool(np.nanmin(a) < 0) for a in maps.values())
    mass = {m: float(np.nansum(np.abs(a))) for m, a in maps.items()}
    all_mass = sum(mass.values()) or 1.0
    fig, axes = _axes_grid(len(maps), max_columns=len(maps))
    extent = _extent(shape, spacing_mm)
    for ax, (m, a) in zip(axes, maps.items(), strict=True):
        lesion = None if mask is None else mask[z]
        overlay = _draw_overlay(ax, images[m][z], a[z], lesion, scale, signed, opacity, extent)
        ax.set_title(f"{m.upper()}: {100 * mass[m] / all_mass:.0f} % of the attribution")
    label = _overlay_label(signed).replace("the maximum", "the case's maximum")
    fig.colorbar(overlay, ax=axes, label=label, shrink=0.8)
    method = getattr(explanation, "method", "attribution").replace("_", " ")
    fig.suptitle(f"{method} per modality, case {case}: slice {z} (z = {z * spacing_mm[0]:g} mm)")
    return fig


# --------------------------------------------------------------------------- slides


def _tumour_outline(tumour: np.ndarray, tile: float) -> np.ndarray:
    """Segments (K, 2, 2) of (x, y) in µm along the border of the tumour tiles: every tile
    edge with tumour on one side only."""
    padded = np.pad(tumour, 1)
    segments = []
    rows, cols = np.nonzero(tumour)
    for r, c in zip(rows, cols, strict=True):
        x0, y0, x1, y1 = c * tile, r * tile, (c + 1) * tile, (r + 1) * tile
        if not padded[r, c + 1]:  # above
            segments.append([(x0, y0), (x1, y0)])
        if not padded[r + 2, c + 1]:  # below
            segments.append([(x0, y1), (x1, y1)])
        if not padded[r + 1, c]:  # left
            segments.append([(x0, y0), (x0, y1)])
        if not padded[r + 1, c + 2]:  # right
            segments.append([(x1, y0), (x1, y1)])
    return np.array(segments, dtype=float).reshape(-1, 2, 2)


def plot_slide_overlay(
    thumbnail,
    explanation,
    case: int,
    tile_size_um: float = 32.0,
    ax=None,
    *,
    tumour_grid=None,
    opacity: float = 0.6,
    extent_um: tuple[float, float] | None = None,
    title: str | None = None,
):
    """A slide's tile scores painted where the tiles are, in µm.

    Parameters
    ----------
    thumbnail : array (H, W, 3) or (H, W, 4), or None
        An RGB image of the slide drawn underneath, covering ``extent_um``.
    explanation : Explanation
        A slide explanation: ``attribution`` (B, N) per tile and ``grid`` (B, N, 2).
    case : int
        The slide in the batch.
    tile_size_um : float, default 32.0
        Side of a tile in µm (64 px at 0.5 µm/px).
    ax : matplotlib Axes, optional
    tumour_grid : bool array (rows, cols), optional
        Which tiles of the grid hold tumour (ground truth); their border is outlined. It may
        cover more of the slide than the tiles read, never less.
    opacity : float in [0, 1], default 0.6
        Opacity of the scores over a thumbnail (1 without one).
    extent_um : (width, height) in µm, optional
        Area the thumbnail covers; by default the tile grid's.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        An explanation without slide geometry, a case outside the batch, a tumour grid
        smaller than the tiles read, a thumbnail that is not an RGB(A) image.
    """
    if getattr(explanation, "grid", None) is None:
        raise ValueError("the explanation has no slide geometry (grid): explain a slide model")
    n_slides = len(explanation.attribution)
    if (
        isinstance(case, bool)
        or not isinstance(case, int | np.integer)
        or not (0 <= case < n_slides)
    ):
        raise ValueError(f"case {case!r} is outside 0..{n_slides - 1}")
    if tile_size_um <= 0:
        raise ValueError(f"tile_size_um must be positive, got {tile_size_um}")
    opacity = _check_opacity(opacity)
    heatmap = explanation.slide_heatmap(int(case))
    if tumour_grid is not None:
        tumour_grid = _array(tumour_grid, dtype=bool)
        if tumour_grid.ndim != 2 or any(
            t < h for t, h in zip(tumour_grid.shape, heatmap.shape, strict=True)
        ):
            raise ValueError(
                f"tumour_grid must be a (rows, cols) grid covering the {heatmap.shape} tiles "
                f"read, got shape {tumour_grid.shape}"
            )
        padded = np.full(tumour_grid.shape, np.nan)
        padded[: heatmap.shape[0], : heatmap.shape[1]] = heatmap
        heatmap = padded
    rows, cols = heatmap.shape
    grid_extent = (0.0, cols * tile_size_um, rows * tile_size_um, 0.0)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    if thumbnail is not None:
        thumbnail = np.asarray(thumbnail)
        if thumbnail.ndim != 3 or thumbnail.shape[2] not in (3, 4):
            raise ValueError(f"thumbnail must be RGB(A) (H, W, 3), got shape {thumbnail.shape}")
        width, height = extent_um or grid_extent[1:3]
        ax.imshow(thumbnail, extent=(0.0, width, height, 0.0))
    else:
        ax.set_facecolor("0.9")  # no tile read: light grey
    signed = bool(np.nanmin(heatmap) < 0) if np.isfinite(heatmap).any() else False
    if signed:
        bound = _scale(heatmap)
        cmap, vmin, vmax = "RdBu_r", -bound, bound
    else:
        cmap, vmin, vmax = "magma", 0.0, _scale(heatmap)
    shown = ax.imshow(
        heatmap,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        alpha=opacity if thumbnail is not None else 1.0,
        extent=grid_extent,
        interpolation="nearest",
    )
    width, height = extent_um or grid_extent[1:3]
    ax.set(xlim=(0, max(width, grid_extent[1])), ylim=(max(height, grid_extent[2]), 0))
    method = str(getattr(explanation, "method", "score")).replace("_", " ")
    if tumour_grid is not None and tumour_grid.any():
        outline = LineCollection(
            _tumour_outline(tumour_grid, tile_size_um),
            colors=TUMOUR_COLOUR,
            linewidths=1.5,
            label="tumour tiles (ground truth)",
        )
        ax.add_collection(outline)
        ax.legend(handles=[outline], loc="lower right", fontsize="x-small", framealpha=0.6)
    ax.set(
        title=title or f"{method} per tile, slide {case}",
        xlabel="x (µm)",
        ylabel="y (µm)",
    )
    ax.figure.colorbar(shown, ax=ax, label=f"{method} (per tile, unitless)")
    return ax.figure


# --------------------------------------------------------------------------- faithfulness


def plot_deletion_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    kind: str = "deletion",
    ax=None,
    title: str | None = None,
):
    """Deletion or insertion curves (Petsiuk et al., 2018), one line per method.

    Parameters
    ----------
    curves : dict of method -> (fractions (K,), scores (K,))
        From :func:`medai_edu.explain.metrics.deletion_curve` or ``insertion_curve``;
        fractions in [0, 1]. A method whose name contains "random" is drawn as the grey
        dashed baseline.
    kind : {"deletion", "insertion"}
        Deletion: a faithful map makes the score fall fast (small area); insertion: rise
        fast (large area).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        An unknown kind, no curves, or a curve whose fractions and scores do not match.
    """
    if kind not in ("deletion", "insertion"):
        raise ValueError(f"kind must be 'deletion' or 'insertion', got {kind!r}")
    if not curves:
        raise ValueError("give at least one curve: method -> (fractions, scores)")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for name, (fractions, scores) in curves.items():
        area = curve_area(fractions, scores)  # checks the lengths
        style = {"color": "grey", "ls": "--"} if "random" in name.lower() else {"marker": "."}
        x, y = 100 * _array(fractions).ravel(), _array(scores).ravel()
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


# --------------------------------------------------------------------------- MOME-mini


def plot_modality_contributions(
    contributions, modalities: Sequence[str], ax=None, title: str | None = None
):
    """How much each modality moves the explained class's logit.

    Parameters
    ----------
    contributions : array (M,) for one case, or (B, M) for several, or an Explanation
        ``explain(model, batch, "modality_contributions")``: logit(all modalities) -
        logit(without the modality), signed towards the explained class.
    modalities : sequence of M names

    One case: one bar per modality. Several: the mean per modality with its standard
    deviation as the error bar, and each case as a dot.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = _array(getattr(contributions, "attribution", contributions))
    if values.ndim not in (1, 2) or values.shape[-1] != len(modalities):
        raise ValueError(
            f"contributions must be (M,) or (B, M) with M = {len(modalities)} modalities, "
            f"got shape {values.shape}"
        )
    values = values.reshape(-1, len(modalities))
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    x = np.arange(len(modalities))
    mean = values.mean(axis=0)
    colours = [f"C{k}" for k in x]
    if len(values) == 1:
        ax.bar(x, mean, color=colours)
        cases = "one case"
    else:
        ax.bar(x, mean, color=colours, yerr=values.std(axis=0), capsize=4, alpha=0.7)
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, values.shape)
        ax.scatter((x + jitter).ravel(), values.ravel(), s=10, color="black", zorder=3)
        cases = f"mean ± SD of {len(values)} cases; dots: the cases"
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, [m.upper() for m in modalities])
    ax.set(
        title=title or f"What each modality adds to the decision\n({cases})",
        xlabel="modality",
        ylabel="change in the explained class's logit (nats)",
    )
    return ax.figure


def plot_routing(usage, modalities: Sequence[str], ax=None, title: str | None = None):
    """Heat map of MOME-mini's Soft-MoE routing: where each modality's tokens go.

    Parameters
    ----------
    usage : array (M, E), or (B, M, E) (averaged over the cases), or an Explanation
        ``explain(model, batch, "routing")``: each modality's mean combine weight per expert.
    modalities : sequence of M names

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = _array(getattr(usage, "attribution", usage))
    if values.ndim == 3:
        values = values.mean(axis=0)
    if values.ndim != 2 or values.shape[0] != len(modalities):
        raise ValueError(
            f"usage must be (M, E) or (B, M, E) with M = {len(modalities)} modalities, "
            f"got shape {values.shape}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * values.shape[1] + 2.5, 3.2), constrained_layout=True)
    top = max(float(values.max()), 1e-6)
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=top)
    for (m, e), value in np.ndenumerate(values):
        colour = "black" if value > 0.6 * top else "white"
        ax.text(e, m, f"{value:.2f}", ha="center", va="center", color=colour, fontsize="small")
    ax.set_xticks(range(values.shape[1]), [str(e) for e in range(values.shape[1])])
    ax.set_yticks(range(len(modalities)), [m.upper() for m in modalities])
    ax.set(
        title=title or "Soft-MoE routing: where each modality's tokens go",
        xlabel="Soft-MoE expert (index)",
        ylabel="modality of the token",
    )
    ax.figure.colorbar(image, ax=ax, label="mean combine weight (fraction)")
    return ax.figure


# --------------------------------------------------------------------------- concepts


def plot_concept_explanation(
    concept_probabilities: Mapping[str, np.ndarray],
    value_names: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
    title: str = "What the concept bottleneck sees",
    ax=None,
):
    """Horizontal bars of the clinical concepts a concept bottleneck predicts for one case.

    Each concept is a group of bars, one per value; the predicted value (the most probable)
    is solid and labelled, the others faint. This is the picture behind the textual
    explanation ("irregular margin, washout kinetics, ... hence malignant").

    Parameters
    ----------
    concept_probabilities : dict of concept -> array (n_values,)
        Predicted probability of each value, in [0, 1].
    value_names : dict of concept -> sequence of n_values names
    weights : dict of concept -> float, optional
        How much each concept pushes the decision (e.g. the head's weight); written beside
        the concept's name.
    title : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No concepts, a concept without value names or with as many probabilities as names,
        probabilities outside [0, 1], weights for unknown concepts.
    """
    if not concept_probabilities:
        raise ValueError("give at least one concept: name -> probabilities (n_values,)")
    weights = dict(weights or {})
    unknown = set(weights) - set(concept_probabilities)
    if unknown:
        raise ValueError(f"weights for unknown concepts {sorted(unknown)}")
    groups = []
    for concept, p in concept_probabilities.items():
        if concept not in value_names:
            raise ValueError(f"no value names for the concept {concept!r}")
        p = _array(p).ravel()
        names = tuple(value_names[concept])
        if len(p) != len(names):
            raise ValueError(f"{concept}: {len(p)} probabilities for {len(names)} values {names}")
        if np.isnan(p).any() or (p < 0).any() or (p > 1 + 1e-6).any():
            raise ValueError(f"{concept}: probabilities must be in [0, 1], got {p}")
        groups.append((concept, p, names))
    n_bars = sum(len(p) for _, p, _ in groups) + len(groups) - 1
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.32 * n_bars + 1.4), constrained_layout=True)
    y, ticks, labels = 0.0, [], []
    for k, (concept, p, names) in enumerate(groups):
        best = int(p.argmax())
        for v, (probability, name) in enumerate(zip(p, names, strict=True)):
            ax.barh(y, probability, color=f"C{k}", alpha=1.0 if v == best else 0.3)
            if v == best:
                ax.text(probability + 0.01, y, f"{probability:.2f}", va="center", fontsize="small")
            ticks.append(y)
            label = f"{concept.replace('_', ' ')}: {name}" if v == 0 else name
            if v == 0 and concept in weights:
                label = f"{concept.replace('_', ' ')} (weight {weights[concept]:+.2f}): {name}"
            labels.append(label)
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


# --------------------------------------------------------------------------- explorer


def explanation_explorer(
    images,
    explain_fn: Callable[[int, str], np.ndarray],
    methods: Sequence[str],
    masks=None,
    *,
    case_names: Sequence[str] | None = None,
    spacing_mm=SPACING_MM,
):
    """Interactive explorer: case, method, slice and overlay opacity.

    Parameters
    ----------
    images : array (N, Z, Y, X) or a sequence of N volumes (Z, Y, X)
        The image shown under each case's explanation.
    explain_fn : callable
        ``explain_fn(case_index, method)`` -> attribution (Z, Y, X). Each (case, method) is
        computed once and kept in ``explorer.cache``.
    methods : sequence of str
        The method menu; the first is shown first.
    masks : bool array (N, Z, Y, X), optional
        Lesion outlines; choosing a case then jumps to its lesion's largest slice.
    case_names : sequence of N str, optional
        Names in the case menu ("case 0", ... by default).

    Returns
    -------
    ipywidgets.VBox
        The controls and an ``ipywidgets.Output`` holding the figure. For notebooks and tests
        it also carries ``controls`` (dict: case, method, slice, opacity), ``output``,
        ``cache`` ({(case, method): attribution}), ``redraw()`` (draws the current choice),
        ``figure`` (the last Figure drawn, closed after display), ``draws`` (how many) and
        ``message`` (the last error shown instead of a figure, "" if none).

    Raises
    ------
    ValueError
        For images that are not (N, Z, Y, X), masks of another shape, no methods, or case
        names that do not match the cases. A map of the wrong shape from ``explain_fn`` is
        shown as a message in the output, not raised.
    """
    import ipywidgets as widgets
    from IPython.display import display

    volumes = np.stack([_volume(v, "each image") for v in images]) if len(images) else None
    if volumes is None:
        raise ValueError("images must hold at least one (Z, Y, X) volume")
    n_cases, depth = volumes.shape[:2]
    if masks is not None:
        masks = _same_shape(masks, volumes.shape, "masks", dtype=bool)
    methods = tuple(methods)
    if not methods:
        raise ValueError("give at least one method for the menu")
    names = list(case_names) if case_names is not None else [f"case {i}" for i in range(n_cases)]
    if len(names) != n_cases:
        raise ValueError(f"{len(names)} case names for {n_cases} cases")

    def start_slice(i: int) -> int:
        lesion = None if masks is None else _lesion_slice(masks[i])
        return depth // 2 if lesion is None else lesion

    menu = [(name, i) for i, name in enumerate(names)]
    case = widgets.Dropdown(options=menu, value=0, description="case")
    method = widgets.Dropdown(options=methods, value=methods[0], description="method")
    slice_ = widgets.IntSlider(value=start_slice(0), min=0, max=depth - 1, description="slice")
    opacity = widgets.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="opacity")
    output = widgets.Output()
    explorer = widgets.VBox([widgets.HBox([case, method]), widgets.HBox([slice_, opacity]), output])
    explorer.controls = {"case": case, "method": method, "slice": slice_, "opacity": opacity}
    explorer.output = output
    explorer.cache = {}
    explorer.figure = None
    explorer.draws = 0
    explorer.message = ""
    moving = {"slice": False}

    def attribution(i: int, name: str) -> np.ndarray:
        if (i, name) not in explorer.cache:
            explorer.cache[(i, name)] = _array(explain_fn(i, name))
        return explorer.cache[(i, name)]

    def redraw(_change=None):
        if moving["slice"]:
            return
        i = case.value
        output.clear_output(wait=True)
        with output:
            try:
                fig = plot_mri_overlay(
                    volumes[i],
                    attribution(i, method.value),
                    None if masks is None else masks[i],
                    slice_.value,
                    opacity.value,
                    title=f"{method.value.replace('_', ' ')}, {names[i]}",
                    spacing_mm=spacing_mm,
                )
            except ValueError as error:  # shown to the student, not a traceback
                explorer.message = str(error)
                print(f"Cannot show {method.value} for {names[i]}: {error}")
                return
            explorer.message = ""
            display(fig)
            plt.close(fig)
        explorer.figure = fig
        explorer.draws += 1

    def new_case(_change):
        moving["slice"] = True
        try:
            slice_.value = start_slice(case.value)
        finally:
            moving["slice"] = False
        redraw()

    case.observe(new_case, names="value")
    for control in (method, slice_, opacity):
        control.observe(redraw, names="value")
    explorer.redraw = redraw
    redraw()
    return explorer


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
    methods = [r["method"].replace("_", " ") for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    panels = [
        (
            "localisation",
            [("pointing_game", "pointing game"), ("mask_overlap", "overlap")],
            "random_pointing_game",
            "fraction of cases / IoU (0-1)",
        ),
        (
            "faithfulness",
            [
                ("deletion_area", "deletion (lower is better)"),
                ("insertion_area", "insertion (higher is better)"),
            ],
            "random_deletion_area",
            "area under the curve (0-1)",
        ),
        (
            "sanity check",
            [("sanity_correlation", "after randomising the weights")],
            None,
            "Spearman rank correlation",
        ),
    ]
    for ax, (name, bars, chance, ylabel) in zip(axes, panels, strict=True):
        width = 0.8 / len(bars)
        for k, (key, label) in enumerate(bars):
            ax.bar(
                x + (k - (len(bars) - 1) / 2) * width, [r[key] for r in rows], width, label=label
            )
        if chance:
            ax.scatter(
                x,
                [r[chance] for r in rows],
                marker="_",
                s=400,
                color="k",
                zorder=3,
                label="random map" if name == "localisation" else "random map (deletion)",
            )
        if name == "sanity check":
            ax.axhline(0.5, color="k", linestyle="--", linewidth=1, label="fails above 0.5")
        ax.set_xticks(x, methods, rotation=30, ha="right")
        ax.set_title(name)
        ax.set_xlabel("explanation method")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return fig


def plot_intervention(
    probabilities: Mapping[str, float],
    concept: str,
    class_name: str = "malignant",
    predicted: float | None = None,
    title: str | None = None,
):
    """Test-time intervention: the probability of ``class_name`` when a user sets
    ``concept`` to each of its values (bars), beside the bottleneck's own prediction
    (dashed line, ``predicted``)."""
    if not probabilities:
        raise ValueError("no intervention to plot")
    fig, ax = plt.subplots(figsize=(5.5, 3.4), constrained_layout=True)
    names = list(probabilities)
    ax.bar(names, [probabilities[n] for n in names], color="tab:purple")
    if predicted is not None:
        ax.axhline(predicted, color="k", linestyle="--", label="as the bottleneck predicted")
        ax.legend(fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"{concept} set by the user to")
    ax.set_ylabel(f"P({class_name})")
    ax.set_title(title or f"Correcting one concept: {concept}")
    return fig
