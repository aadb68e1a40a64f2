"""The tile grid: where to cut a slide into square tiles, at which pyramid level and size.

A model sees tiles at a fixed resolution (for example 224 px at 0.5 µm/px). The grid is
computed once, from the slide's geometry and a tissue mask, before any pixel is read:

1. the requested resolution (``mpp`` or ``magnification``) gives a downsample ``d`` from
   level 0; the grid reads the pyramid level closest to it without being coarser (within
   1 %), and resamples when that level is not exactly ``d``;
2. tiles sit on a regular grid of step ``tile_size_level0`` (no overlap) that starts at the
   slide's top-left corner; only whole tiles that fit inside the slide are placed;
3. each tile's tissue fraction is measured on the mask, and tiles below ``min_tissue`` are
   dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from medai_edu.wsi.slide import Slide, resize_rgb
from medai_edu.wsi.tissue import TissueMask, tissue_mask

__all__ = ["TileGrid", "read_tile", "tile_grid", "tissue_fractions"]

LEVEL_TOLERANCE = 0.01  # a level at most 1 % coarser than requested is read without resampling


@dataclass(frozen=True)
class TileGrid:
    """The tiles to read from one slide.

    Attributes
    ----------
    coords : np.ndarray, shape (N, 2), int64
        Level-0 ``(x, y)`` of each kept tile's top-left corner, in row-major order (by ``y``
        then ``x``).
    tissue_fraction : np.ndarray, shape (N,), float32
        Share of each tile covered by the tissue mask, 0-1.
    tile_size : int
        Side of the tiles handed to a model, in pixels at the requested resolution.
    level : int
        Pyramid level the tiles are read from.
    read_size : int
        Side of a tile in pixels of ``level``; resampled to ``tile_size`` when different.
    tile_size_level0 : int
        Side of a tile, and step of the grid, in level-0 pixels.
    downsample : float
        Requested resolution: level-0 pixels per output pixel.
    level_downsample : float
        Downsample of ``level``.
    mpp : float or None
        Microns per output pixel (None if the slide does not record its pixel size).
    slide_dimensions : (int, int)
        Level-0 ``(width, height)`` of the slide.
    """

    coords: np.ndarray
    tissue_fraction: np.ndarray
    tile_size: int
    level: int
    read_size: int
    tile_size_level0: int
    downsample: float
    level_downsample: float
    mpp: float | None
    slide_dimensions: tuple[int, int]

    def __len__(self) -> int:
        return len(self.coords)

    @property
    def resampled(self) -> bool:
        """Whether tiles are resized after reading (the level is not at the exact resolution)."""
        return self.read_size != self.tile_size

    def subset(self, keep: np.ndarray) -> TileGrid:
        """The same grid restricted to some tiles (a boolean mask or indices)."""
        keep = np.asarray(keep)
        return dataclasses.replace(
            self, coords=self.coords[keep], tissue_fraction=self.tissue_fraction[keep]
        )


def _requested_downsample(slide: Slide, mpp: float | None, magnification: float | None) -> float:
    """Level-0 pixels per output pixel for a requested mpp or objective magnification."""
    if mpp is not None and magnification is not None:
        raise ValueError("give either mpp or magnification, not both")
    if mpp is not None:
        if slide.mpp is None:
            raise ValueError(f"{slide.path.name} does not record its pixel size; mpp unknown")
        if not mpp > 0:
            raise ValueError(f"mpp must be positive, got {mpp!r}")
        return mpp / slide.mpp
    if magnification is not None:
        if slide.magnification is None:
            raise ValueError(f"{slide.path.name} records neither magnification nor mpp")
        if not magnification > 0:
            raise ValueError(f"magnification must be positive, got {magnification!r}")
        return slide.magnification / magnification
    return 1.0


def tissue_fractions(
    mask: np.ndarray, mask_downsample: float, coords: np.ndarray, size_level0: int
) -> np.ndarray:
    """Share of tissue in square boxes, measured on a low-resolution mask.

    Uses a summed-area table: four look-ups per box, whatever the box size.

    Parameters
    ----------
    mask : np.ndarray, shape (h, w), bool
    mask_downsample : float
        Level-0 pixels per mask pixel.
    coords : np.ndarray, shape (N, 2)
        Level-0 ``(x, y)`` of each box's top-left corner.
    size_level0 : int
        Box side in level-0 pixels.

    Returns
    -------
    np.ndarray, shape (N,), float32 in [0, 1]
    """
    table = np.pad(mask.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    height, width = mask.shape
    coords = np.asarray(coords, np.float64).reshape(-1, 2)
    x0 = np.clip(np.rint(coords[:, 0] / mask_downsample), 0, width - 1).astype(np.intp)
    y0 = np.clip(np.rint(coords[:, 1] / mask_downsample), 0, height - 1).astype(np.intp)
    # A box smaller than a mask pixel still covers the one pixel it falls in.
    x1 = np.clip(np.rint((coords[:, 0] + size_level0) / mask_downsample), x0 + 1, width)
    y1 = np.clip(np.rint((coords[:, 1] + size_level0) / mask_downsample), y0 + 1, height)
    x1, y1 = x1.astype(np.intp), y1.astype(np.intp)
    inside = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    return (inside / ((x1 - x0) * (y1 - y0))).astype(np.float32)


def _as_mask(mask, slide: Slide) -> TissueMask:
    """A TissueMask from a TissueMask, a ``(mask, downsample)`` pair or a bare array."""
    if mask is None:
        return tissue_mask(slide)
    if isinstance(mask, tuple):
        array, downsample = mask
        return TissueMask(np.asarray(array, bool), float(downsample))
    array = np.asarray(mask, bool)
    width, height = slide.dimensions
    return TissueMask(array, (width / array.shape[1] + height / array.shape[0]) / 2)


def tile_grid(
    slide: Slide,
    tile_size: int,
    mpp: float | None = None,
    magnification: float | None = None,
    min_tissue: float = 0.5,
    mask: TissueMask | tuple[np.ndarray, float] | np.ndarray | None = None,
) -> TileGrid:
    """Place square tiles on a slide and keep those with enough tissue.

    Parameters
    ----------
    slide : Slide
    tile_size : int
        Tile side in pixels at the requested resolution (e.g. 224).
    mpp : float, optional
        Requested microns per pixel of the tiles (0.5 for "20x"-like tiles).
    magnification : float, optional
        Or the requested objective power (20 for 20x). Level 0 when neither is given.
    min_tissue : float
        Keep tiles whose tissue fraction is at least this, 0-1. ``0`` keeps every tile.
    mask : TissueMask, (mask, downsample) or bool array, optional
        Tissue mask; computed with :func:`tissue_mask` when omitted. A bare array is
        assumed to cover the whole slide.

    Returns
    -------
    TileGrid
        Empty (``len(grid) == 0``) when no tile fits or none has enough tissue.
    """
    if isinstance(tile_size, bool) or int(tile_size) != tile_size or tile_size < 1:
        raise ValueError(f"tile_size must be a positive integer, got {tile_size!r}")
    if not 0.0 <= min_tissue <= 1.0:
        raise ValueError(f"min_tissue must be in [0, 1], got {min_tissue!r}")
    tile_size = int(tile_size)
    downsample = _requested_downsample(slide, mpp, magnification)
    level = slide.best_level_for_downsample(downsample * (1 + LEVEL_TOLERANCE))
    level_downsample = slide.level_downsamples[level]
    read_size = max(1, round(tile_size * downsample / level_downsample))
    size0 = max(1, round(read_size * level_downsample))
    width, height = slide.dimensions
    xs = np.arange(0, width - size0 + 1, size0, dtype=np.int64)
    ys = np.arange(0, height - size0 + 1, size0, dtype=np.int64)
    coords = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)  # row-major: y, then x
    tissue = _as_mask(mask, slide)
    fraction = tissue_fractions(tissue.mask, tissue.downsample, coords, size0)
    keep = fraction >= min_tissue
    return TileGrid(
        coords=coords[keep],
        tissue_fraction=fraction[keep],
        tile_size=tile_size,
        level=level,
        read_size=read_size,
        tile_size_level0=size0,
        downsample=float(downsample),
        level_downsample=float(level_downsample),
        mpp=None if slide.mpp is None else slide.mpp * downsample,
        slide_dimensions=(int(width), int(height)),
    )


def read_tile(slide: Slide, grid: TileGrid, index: int) -> np.ndarray:
    """Read one tile of a grid, the reference that batched readers must reproduce.

    Returns
    -------
    np.ndarray, shape (grid.tile_size, grid.tile_size, 3), uint8
    """
    x, y = (int(v) for v in grid.coords[index])
    pixels = slide.read_region((x, y), grid.level, (grid.read_size, grid.read_size))
    return resize_rgb(pixels, (grid.tile_size, grid.tile_size))
