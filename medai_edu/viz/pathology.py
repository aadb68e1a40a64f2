"""Figures of whole-slide images: pyramids, regions, tissue masks, tile grids and stains.

Slide-wide figures have axes in mm (or level-0 pixels when the slide has no pixel size);
regions have axes in µm. Every figure has a title and labelled axes with units.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch, Rectangle

from medai_edu.wsi.slide import Slide, resize_rgb
from medai_edu.wsi.stain import STAIN_NAMES, separate_stains
from medai_edu.wsi.tiling import TileGrid

__all__ = [
    "plot_geojson_tiles",
    "plot_mean_colours",
    "plot_mil_attention",
    "plot_normalisation_grid",
    "plot_pyramid",
    "plot_region_at_levels",
    "plot_stain_channels",
    "plot_tile_counts",
    "plot_tile_grid",
    "plot_tissue_mask",
]


def _slide_extent(dimensions: tuple[int, int], mpp: float | None):
    """``(extent, unit, scale)`` to draw a whole slide in mm, or in level-0 pixels."""
    width, height = dimensions
    scale, unit = (mpp / 1000.0, "mm") if mpp else (1.0, "level-0 pixels")
    return (0, width * scale, height * scale, 0), unit, scale


def plot_pyramid(slide: Slide, title: str | None = None):
    """Every pyramid level of a slide, side by side, each drawn at its own pixel size.

    Axes are in the level's own pixels, so a coarser level has smaller numbers for the same
    tissue; the panel title gives the level's size, downsample and µm per pixel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = slide.level_count
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 4.2), squeeze=False)
    for level, ax in enumerate(axes[0]):
        w, h = slide.level_dimensions[level]
        d = slide.level_downsamples[level]
        image = slide.read_overview(max(d, max(slide.dimensions) / 512))
        ax.imshow(image, extent=(0, w, h, 0))
        mpp = f", {slide.mpp * d:.2f} µm/px" if slide.mpp else ""
        ax.set(
            title=f"level {level}: {w} x {h}\ndownsample {d:g}{mpp}",
            xlabel="x (pixels of this level)",
            ylabel="y (pixels of this level)",
        )
    fig.suptitle(title or f"Pyramid of {slide.path.name}")
    fig.tight_layout()
    return fig


def plot_region_at_levels(
    slide: Slide,
    centre: tuple[int, int],
    field_um: float,
    downsamples: list[float] | None = None,
    title: str | None = None,
):
    """The same square field of tissue at several resolutions, axes in µm.

    Each resolution is read from ``slide.best_level_for_downsample`` (the pyramid level a
    viewer would use) and shrunk to the requested downsample if that level is finer.

    Parameters
    ----------
    slide : Slide
    centre : (int, int)
        Level-0 ``(x, y)`` of the field's centre.
    field_um : float
        Side of the field in µm (assumes 0.5 µm/px when the slide records no pixel size).
    downsamples : list of float, optional
        Level-0 pixels per displayed pixel; the slide's own level downsamples by default.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per downsample; the title names the level read and the pixel size.
    """
    mpp = slide.mpp or 0.5
    downsamples = list(slide.level_downsamples) if downsamples is None else list(downsamples)
    side0 = field_um / mpp
    x0, y0 = int(centre[0] - side0 / 2), int(centre[1] - side0 / 2)
    n = len(downsamples)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.6), squeeze=False)
    for d, ax in zip(downsamples, axes[0], strict=True):
        level = slide.best_level_for_downsample(d)
        read = max(1, round(side0 / slide.level_downsamples[level]))
        pixels = slide.read_region((x0, y0), level, (read, read))
        side = max(1, round(side0 / d))
        if side != read:
            pixels = resize_rgb(pixels, (side, side))
        ax.imshow(pixels, extent=(0, field_um, field_um, 0), interpolation="nearest")
        ax.set(
            title=f"downsample {d:g} (level {level} read)\n{side} x {side} px, "
            f"{mpp * d:.2f} µm per pixel",
            xlabel="x (µm)",
            ylabel="y (µm)",
        )
    fig.suptitle(
        title or f"The same {field_um:g} µm field, centred at level-0 ({centre[0]}, {centre[1]})"
    )
    fig.tight_layout()
    return fig


def plot_tissue_mask(
    thumbnail: np.ndarray,
    mask: np.ndarray,
    slide_dimensions: tuple[int, int],
    mpp: float | None = None,
    title: str = "Tissue mask",
):
    """The thumbnail, the mask, and the mask outlined over the thumbnail; axes in mm.

    Returns
    -------
    matplotlib.figure.Figure
    """
    extent, unit, _ = _slide_extent(slide_dimensions, mpp)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
    axes[0].imshow(thumbnail, extent=extent)
    axes[0].set_title("thumbnail")
    shown = axes[1].imshow(mask, extent=extent, cmap="gray", vmin=0, vmax=1)
    axes[1].set_title(f"mask ({mask.shape[1]} x {mask.shape[0]} px), {mask.mean():.0%} tissue")
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.02, ticks=[0, 1], label="1 = tissue")
    axes[2].imshow(thumbnail, extent=extent)
    axes[2].imshow(np.ma.masked_where(~mask, mask), extent=extent, cmap="autumn", alpha=0.35)
    axes[2].contour(
        np.linspace(extent[0], extent[1], mask.shape[1]),
        np.linspace(extent[3], extent[2], mask.shape[0]),
        mask.astype(float),
        levels=[0.5],
        colors="lime",
        linewidths=1,
    )
    axes[2].set_title("mask over thumbnail")
    for ax in axes:
        ax.set(xlabel=f"x ({unit})", ylabel=f"y ({unit})")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_tile_grid(
    thumbnail: np.ndarray,
    all_tiles: TileGrid,
    kept: TileGrid,
    mpp: float | None = None,
    title: str = "Tile grid",
):
    """Every tile of a grid over the thumbnail: kept tiles in green, dropped tiles in red.

    Parameters
    ----------
    thumbnail : np.ndarray, shape (h, w, 3), uint8
    all_tiles : TileGrid
        The grid with ``min_tissue=0`` (every tile position).
    kept : TileGrid
        The same grid after the tissue filter.

    Returns
    -------
    matplotlib.figure.Figure
    """
    extent, unit, scale = _slide_extent(all_tiles.slide_dimensions, mpp)
    kept_set = {tuple(c) for c in kept.coords.tolist()}
    size = all_tiles.tile_size_level0 * scale
    width, height = extent[1], extent[2]
    fig, ax = plt.subplots(figsize=(6.5, 6.5 * height / width + 0.6))
    ax.imshow(thumbnail, extent=extent)
    for x, y in all_tiles.coords.tolist():
        keep = (x, y) in kept_set
        ax.add_patch(
            Rectangle(
                (x * scale, y * scale),
                size,
                size,
                fill=keep,
                facecolor=(0, 0.8, 0, 0.15),
                edgecolor="green" if keep else "red",
                linewidth=1.0 if keep else 0.5,
            )
        )
    ax.legend(
        handles=[
            Patch(facecolor=(0, 0.8, 0, 0.3), edgecolor="green", label=f"kept ({len(kept)})"),
            Patch(fill=False, edgecolor="red", label=f"dropped ({len(all_tiles) - len(kept)})"),
        ],
        loc="upper right",
        fontsize="small",
    )
    ax.set(title=title, xlabel=f"x ({unit})", ylabel=f"y ({unit})")
    fig.tight_layout()
    return fig


def plot_tile_counts(
    thresholds: np.ndarray, counts: dict[str, np.ndarray], title: str = "Tiles kept"
):
    """Number of tiles kept against the ``min_tissue`` threshold, one line per slide.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in counts.items():
        ax.plot(thresholds, values, marker="o", label=name)
    ax.set(
        title=title,
        xlabel="min_tissue (fraction of the tile that must be tissue)",
        ylabel="tiles kept (count)",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_stain_channels(
    rgb: np.ndarray, stains: str = "HED", mpp: float | None = None, title: str | None = None
):
    """An RGB image and the concentration of each of its stains (colour deconvolution).

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3), uint8
    stains : {"HED", "HDX", "HAX"}
        Passed to :func:`medai_edu.wsi.separate_stains`.
    mpp : float, optional
        Microns per pixel: axes in µm when given, in pixels otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        Four panels; each stain has its own colour bar (concentration, OD / 6 units).
    """
    concentrations = separate_stains(rgb, stains)
    names = STAIN_NAMES[stains.upper()]
    h, w = rgb.shape[:2]
    scale, unit = (mpp, "µm") if mpp else (1.0, "pixels")
    extent = (0, w * scale, h * scale, 0)
    cmaps = {"haematoxylin": "Blues", "eosin": "RdPu", "DAB": "YlOrBr", "AEC": "Reds"}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.4))
    axes[0].imshow(rgb, extent=extent)
    axes[0].set_title("RGB")
    for k, (ax, name) in enumerate(zip(axes[1:], names, strict=True)):
        channel = concentrations[..., k]
        shown = ax.imshow(
            channel,
            extent=extent,
            cmap=cmaps.get(name, "gray_r"),
            vmax=np.percentile(channel, 99.5),
        )
        ax.set_title(name)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02, label="concentration (OD / 6)")
    for ax in axes:
        ax.set(xlabel=f"x ({unit})", ylabel=f"y ({unit})")
    fig.suptitle(title or f"Colour deconvolution ({stains})")
    fig.tight_layout()
    return fig


def _draw_tile(ax, image, row: str, column: str, scale: float):
    """One tile of :func:`plot_normalisation_grid`, ``scale`` µm (or px) per pixel."""
    h, w = image.shape[:2]
    ax.imshow(image, extent=(0, w * scale, h * scale, 0))
    ax.set_title(f"{row}: {column}" if column != "target" else "target", fontsize=9)
    ax.tick_params(labelsize=7)


def plot_normalisation_grid(
    tiles: dict[str, np.ndarray],
    rows: dict[str, dict[str, np.ndarray]],
    target: np.ndarray | None = None,
    mpp: float | None = None,
    title: str = "Stain normalisation",
):
    """A grid of tiles: one column per slide, one row per method (the original first).

    Parameters
    ----------
    tiles : dict of str to (h, w, 3) uint8
        The original tile of each slide, by name (first row).
    rows : dict of str to dict of str to (h, w, 3) uint8
        For each method name, the normalised tile of each slide (same keys as ``tiles``).
    target : np.ndarray, optional
        The normalisation target, shown in an extra first column.
    mpp : float, optional
        Axes in µm when given, in pixels otherwise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(tiles)
    row_names = ["original", *rows]
    columns = (["target"] if target is not None else []) + names
    fig, axes = plt.subplots(
        len(row_names),
        len(columns),
        figsize=(2.6 * len(columns), 2.7 * len(row_names)),
        squeeze=False,
    )
    scale, unit = (mpp, "µm") if mpp else (1.0, "px")
    for r, row in enumerate(row_names):
        for c, column in enumerate(columns):
            if column == "target":
                image = target if r == 0 else None
            else:
                image = tiles[column] if row == "original" else rows[row][column]
            if image is None:
                axes[r, c].axis("off")
                continue
            _draw_tile(axes[r, c], image, row, column, scale)
            if r == len(row_names) - 1 or column == "target":
                axes[r, c].set_xlabel(f"x ({unit})", fontsize=8)
            if c == 0 or (c == 1 and target is not None and r > 0):
                axes[r, c].set_ylabel(f"{row}\ny ({unit})", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_mean_colours(
    before: dict[str, np.ndarray],
    after: dict[str, dict[str, np.ndarray]],
    target: np.ndarray | None = None,
    title: str = "Mean tissue colour per slide",
):
    """Per-slide mean R, G, B of the tissue before and after normalisation.

    Parameters
    ----------
    before : dict of str to (3,) array
        Mean RGB (0-255) of each slide's tissue before normalisation.
    after : dict of str to dict of str to (3,) array
        For each method, the mean RGB of each slide after normalisation.
    target : (3,) array, optional
        The target's mean RGB, drawn as dashed lines.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per colour channel; the spread between slides shrinks if the
        normalisation works.
    """
    names = list(before)
    columns = {"original": before, **after}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    x = np.arange(len(columns))
    for k, (ax, channel) in enumerate(zip(axes, ("red", "green", "blue"), strict=True)):
        for name in names:
            values = [columns[m][name][k] for m in columns]
            ax.plot(x, values, marker="o", label=name)
        if target is not None:
            ax.axhline(target[k], color="k", linestyle="--", linewidth=1, label="target")
        spread = [np.std([columns[m][n][k] for n in names]) for m in columns]
        ax.set_xticks(x, [f"{m}\n(SD {s:.1f})" for m, s in zip(columns, spread, strict=True)])
        ax.set(title=f"{channel} channel", xlabel="method", ylabel="mean intensity (0-255)")
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize="small", loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_mil_attention(image, heatmap, region_mask, mpp: float, title: str = "Where MIL looks"):
    """Three panels: the H&E image, the attention heatmap over it, the true tumour region.

    image (H, W, 3) uint8; heatmap (rows, cols) from ``attention_heatmap`` (NaN = no tile);
    region_mask (H, W) region classes (2 = tumour); mpp in µm per pixel.
    """
    from medai_edu.data.pathology.vocabulary import TUMOUR
    from medai_edu.wsi.heatmap import overlay_heatmap

    extent, unit, _ = _slide_extent((image.shape[1], image.shape[0]), mpp)
    thumb = resize_rgb(image, (heatmap.shape[1] * 32, heatmap.shape[0] * 32))
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), constrained_layout=True)
    axes[0].imshow(image, extent=extent)
    axes[0].set_title("H&E")
    axes[1].imshow(overlay_heatmap(thumb, heatmap, alpha=0.6, cmap="magma"), extent=extent)
    axes[1].set_title("attention (bright = weighs most)")
    axes[2].imshow(region_mask == TUMOUR, cmap="gray", extent=extent)
    axes[2].set_title("true tumour region (white)")
    for ax in axes:
        ax.set(xlabel=f"x ({unit})", ylabel=f"y ({unit})")
    fig.suptitle(title)
    return fig


def plot_geojson_tiles(image, collection: dict, mpp: float, measurement: str, title=None):
    """Draw a GeoJSON ``FeatureCollection`` of tile polygons (level-0 px, as QuPath reads
    them) over the level-0 ``image`` (H, W, 3), each coloured by ``measurement``; axes in mm.
    A check that an export puts every tile where it belongs."""
    from matplotlib.collections import PolyCollection

    extent, unit, scale = _slide_extent((image.shape[1], image.shape[0]), mpp)
    rings = [np.asarray(f["geometry"]["coordinates"][0]) * scale for f in collection["features"]]
    values = [f["properties"]["measurements"][measurement] for f in collection["features"]]
    values = np.array([np.nan if v is None else v for v in values], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    ax.imshow(image, extent=extent)
    polygons = PolyCollection(rings, array=values, cmap="magma", alpha=0.55, edgecolor="w")
    polygons.set_linewidth(0.3)
    ax.add_collection(polygons)
    fig.colorbar(polygons, ax=ax, label=f"{measurement} (from the GeoJSON)")
    ax.set(
        title=title or f"{len(rings)} exported tiles, coloured by {measurement}",
        xlabel=f"x ({unit})",
        ylabel=f"y ({unit})",
    )
    return fig
