"""Explanations of a slide-level decision: each tile's score painted where the tile is on
the slide, in µm, with the true tumour tiles outlined. Returns the matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

from medai_edu.viz._arrays import as_array, check_index, check_opacity
from medai_edu.viz._overlay import is_signed, peak

__all__ = ["plot_slide_overlay"]

TUMOUR_COLOUR = "lime"


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


def _tile_heatmap(explanation, case, tumour_grid):
    """The case's (rows, cols) tile scores (NaN: no tile), padded to the tumour grid."""
    if getattr(explanation, "grid", None) is None:
        raise ValueError("the explanation has no slide geometry (grid): explain a slide model")
    case = check_index(case, len(explanation.attribution), "case")
    heatmap = explanation.slide_heatmap(case)
    if tumour_grid is None:
        return heatmap, None
    tumour_grid = as_array(tumour_grid, dtype=bool)
    if tumour_grid.ndim != 2 or any(
        t < h for t, h in zip(tumour_grid.shape, heatmap.shape, strict=True)
    ):
        raise ValueError(
            f"tumour_grid must be a (rows, cols) grid covering the {heatmap.shape} tiles "
            f"read, got shape {tumour_grid.shape}"
        )
    padded = np.full(tumour_grid.shape, np.nan)
    padded[: heatmap.shape[0], : heatmap.shape[1]] = heatmap
    return padded, tumour_grid


def _draw_thumbnail(ax, thumbnail, width_um, height_um) -> bool:
    """The slide's RGB(A) thumbnail over (0, width) x (0, height) µm; False without one."""
    if thumbnail is None:
        ax.set_facecolor("0.9")  # no tile read: light grey
        return False
    thumbnail = np.asarray(thumbnail)
    if thumbnail.ndim != 3 or thumbnail.shape[2] not in (3, 4):
        raise ValueError(f"thumbnail must be RGB(A) (H, W, 3), got shape {thumbnail.shape}")
    ax.imshow(thumbnail, extent=(0.0, width_um, height_um, 0.0))
    return True


def _outline_tumour(ax, tumour_grid, tile_size_um):
    outline = LineCollection(
        _tumour_outline(tumour_grid, tile_size_um),
        colors=TUMOUR_COLOUR,
        linewidths=1.5,
        label="tumour tiles (ground truth)",
    )
    ax.add_collection(outline)
    ax.legend(handles=[outline], loc="lower right", fontsize="x-small", framealpha=0.6)


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
    """A slide's tile scores painted where the tiles are, axes in µm.

    thumbnail: (H, W, 3|4) RGB(A) image of the slide drawn underneath over ``extent_um``
        (width, height) µm (by default the tile grid's), or None.
    explanation: a slide explanation, ``attribution`` (B, N) per tile and ``grid`` (B, N, 2).
    case: the slide in the batch. tile_size_um: side of a tile (64 px at 0.5 µm/px = 32 µm).
    ax: draw into this Axes. tumour_grid: (rows, cols) bool, the tiles holding tumour
        (ground truth, outlined); it may cover more of the slide than the tiles read.
    opacity: of the scores over a thumbnail, in [0, 1] (1 without one). title: optional.

    Returns the Figure. Raises ValueError for an explanation without slide geometry, a case
    outside the batch, a tumour grid smaller than the tiles read, a thumbnail not RGB(A).
    """
    if tile_size_um <= 0:
        raise ValueError(f"tile_size_um must be positive, got {tile_size_um}")
    opacity = check_opacity(opacity)
    heatmap, tumour_grid = _tile_heatmap(explanation, case, tumour_grid)
    rows, cols = heatmap.shape
    grid_extent = (0.0, cols * tile_size_um, rows * tile_size_um, 0.0)
    width, height = extent_um or grid_extent[1:3]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    under = _draw_thumbnail(ax, thumbnail, width, height)
    bound = peak(heatmap)
    cmap, vmin = ("RdBu_r", -bound) if is_signed(heatmap) else ("magma", 0.0)
    shown = ax.imshow(
        heatmap,
        cmap=cmap,
        vmin=vmin,
        vmax=bound,
        alpha=opacity if under else 1.0,
        extent=grid_extent,
        interpolation="nearest",
    )
    ax.set(xlim=(0, max(width, grid_extent[1])), ylim=(max(height, grid_extent[2]), 0))
    if tumour_grid is not None and tumour_grid.any():
        _outline_tumour(ax, tumour_grid, tile_size_um)
    method = str(getattr(explanation, "method", "score")).replace("_", " ")
    ax.set(title=title or f"{method} per tile, slide {case}", xlabel="x (µm)", ylabel="y (µm)")
    ax.figure.colorbar(shown, ax=ax, label=f"{method} (per tile, unitless)")
    return ax.figure
