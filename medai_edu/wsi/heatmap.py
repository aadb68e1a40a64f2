"""Heatmaps: put per-tile scores back where the tiles came from, and draw them on the slide.

A tile classifier gives one score per tile; pathologists read them as a heatmap over a
thumbnail of the slide. :func:`stitch_heatmap` paints each tile's score into a grid of
cells of ``downsample`` level-0 pixels (averaging where tiles overlap, NaN where no tile
was read); :func:`overlay_heatmap` blends it onto a thumbnail; :func:`plot_heatmap` makes a
figure with physical axes and a colour bar.
"""

from __future__ import annotations

import numpy as np

__all__ = ["overlay_heatmap", "plot_heatmap", "stitch_heatmap"]


def stitch_heatmap(
    coords_level0: np.ndarray,
    scores: np.ndarray,
    tile_size_level0: float,
    slide_dimensions: tuple[int, int],
    downsample: float,
) -> np.ndarray:
    """Paint per-tile scores into a low-resolution map of the slide.

    Parameters
    ----------
    coords_level0 : np.ndarray, shape (N, 2)
        Level-0 ``(x, y)`` of each tile's top-left corner.
    scores : np.ndarray, shape (N,)
        One score per tile.
    tile_size_level0 : float
        Tile side in level-0 pixels.
    slide_dimensions : (int, int)
        Level-0 ``(width, height)``.
    downsample : float
        Level-0 pixels per heatmap cell; ``tile_size_level0`` gives one cell per tile.

    Returns
    -------
    np.ndarray, shape (ceil(height / downsample), ceil(width / downsample)), float32
        Cell ``(i, j)`` covers level-0 ``[j * d, (j + 1) * d) x [i * d, (i + 1) * d)`` and
        holds the mean score of the tiles covering it, NaN where no tile does. A tile covers
        the cells between its edges rounded to the cell grid, and at least one cell.
    """
    coords = np.asarray(coords_level0, np.float64).reshape(-1, 2)
    scores = np.asarray(scores, np.float64).ravel()
    if len(scores) != len(coords):
        raise ValueError(f"{len(coords)} tile coordinates but {len(scores)} scores")
    if not downsample > 0 or not tile_size_level0 > 0:
        raise ValueError("downsample and tile_size_level0 must be positive")
    width, height = slide_dimensions
    shape = (int(np.ceil(height / downsample)), int(np.ceil(width / downsample)))
    total, count = np.zeros(shape), np.zeros(shape)
    x0 = np.clip(np.rint(coords[:, 0] / downsample), 0, shape[1] - 1).astype(np.intp)
    y0 = np.clip(np.rint(coords[:, 1] / downsample), 0, shape[0] - 1).astype(np.intp)
    x1 = np.clip(np.rint((coords[:, 0] + tile_size_level0) / downsample), x0 + 1, shape[1])
    y1 = np.clip(np.rint((coords[:, 1] + tile_size_level0) / downsample), y0 + 1, shape[0])
    for k in range(len(scores)):  # a slice per tile: fast enough for 10^5 tiles
        total[y0[k] : int(y1[k]), x0[k] : int(x1[k])] += scores[k]
        count[y0[k] : int(y1[k]), x0[k] : int(x1[k])] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)


def _colour(heatmap: np.ndarray, cmap: str, vmin: float | None, vmax: float | None) -> np.ndarray:
    """Map finite values through a matplotlib colormap: (h, w, 3) float in [0, 1]."""
    import matplotlib

    finite = heatmap[np.isfinite(heatmap)]
    if vmin is None:
        vmin = float(finite.min()) if finite.size else 0.0
    if vmax is None:
        vmax = float(finite.max()) if finite.size else 1.0
    low, high = vmin, vmax
    scaled = (heatmap - low) / (high - low) if high > low else np.zeros_like(heatmap)
    return matplotlib.colormaps[cmap](np.nan_to_num(scaled))[..., :3]


def overlay_heatmap(
    thumbnail: np.ndarray,
    heatmap: np.ndarray,
    alpha: float = 0.5,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> np.ndarray:
    """Blend a heatmap onto a thumbnail of the same slide.

    Parameters
    ----------
    thumbnail : np.ndarray, shape (h, w, 3), uint8
    heatmap : np.ndarray, shape (hh, ww), float
        From :func:`stitch_heatmap`; stretched to the thumbnail's size (nearest cell).
    alpha : float
        Opacity of the heatmap, 0-1; NaN cells leave the thumbnail as it is.
    cmap : str
        Matplotlib colormap name.
    vmin, vmax : float, optional
        Score range mapped to the colormap's ends; the finite range by default.

    Returns
    -------
    np.ndarray, shape (h, w, 3), uint8
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    height, width = thumbnail.shape[:2]
    heatmap = np.asarray(heatmap, np.float64)
    rows = np.minimum((np.arange(height) + 0.5) * heatmap.shape[0] / height, heatmap.shape[0] - 1)
    cols = np.minimum((np.arange(width) + 0.5) * heatmap.shape[1] / width, heatmap.shape[1] - 1)
    stretched = heatmap[rows.astype(np.intp)[:, None], cols.astype(np.intp)[None, :]]
    colours = _colour(stretched, cmap, vmin, vmax) * 255.0
    weight = np.where(np.isfinite(stretched), alpha, 0.0)[..., None]
    blended = thumbnail.astype(np.float64) * (1 - weight) + colours * weight
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def plot_heatmap(
    heatmap: np.ndarray,
    slide_dimensions: tuple[int, int],
    thumbnail: np.ndarray | None = None,
    mpp: float | None = None,
    title: str = "Tile scores",
    label: str = "score",
    cmap: str = "viridis",
    alpha: float = 0.6,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """A figure of a heatmap over the slide, with axes in mm (or level-0 pixels) and a colour bar.

    Parameters
    ----------
    heatmap : np.ndarray, shape (hh, ww)
        From :func:`stitch_heatmap`; NaN cells are transparent.
    slide_dimensions : (int, int)
        Level-0 ``(width, height)``; the heatmap and thumbnail are drawn over this extent.
    thumbnail : np.ndarray, shape (h, w, 3), uint8, optional
        Drawn underneath.
    mpp : float, optional
        Microns per level-0 pixel; axes are in mm when given, in level-0 pixels otherwise.
    title, label : str
        Figure title; colour-bar label (what the score means).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    width, height = slide_dimensions
    scale, unit = (mpp / 1000.0, "mm") if mpp else (1.0, "level-0 pixels")
    extent = (0, width * scale, height * scale, 0)
    fig, ax = plt.subplots(figsize=(6, 6 * height / width + 0.5))
    if thumbnail is not None:
        ax.imshow(thumbnail, extent=extent)
    shown = ax.imshow(
        np.ma.masked_invalid(heatmap),
        extent=extent,
        cmap=cmap,
        alpha=alpha if thumbnail is not None else 1.0,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
    )
    ax.set(title=title, xlabel=f"x ({unit})", ylabel=f"y ({unit})")
    colorbar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02, label=label)
    colorbar.solids.set_alpha(1.0)  # the scale itself stays opaque over a faded overlay
    fig.tight_layout()
    return fig
