"""An uploaded whole-slide image for mSTAR-mini: opening it within the limits
(:func:`read_slide_upload`) and cutting its tissue into a bag of tiles (:func:`slide_tiles`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from medai_edu.demos.uploads import limits
from medai_edu.demos.uploads.limits import (
    SLIDE_SUFFIXES,
    UploadError,
    accepted_suffix,
    check_file_size,
)

if TYPE_CHECKING:
    from medai_edu.wsi import Slide


def read_slide_upload(path: str | Path) -> Slide:
    """Open an uploaded whole-slide image.

    Parameters
    ----------
    path : str or Path
        A ``.tif``, ``.tiff`` or ``.svs`` file of at most :data:`MAX_UPLOAD_MB` MB, 8-bit
        RGB, with at most :data:`MAX_SLIDE_PIXELS` pixels at level 0.

    Returns
    -------
    Slide
        Open; the caller closes it.

    Raises
    ------
    UploadError
        Wrong file type, too large, not readable (truncated, corrupt, not RGB: the message
        of :func:`medai_edu.wsi.open_slide`), or too many pixels.
    """
    from medai_edu.wsi import SlideOpenError, open_slide

    path = Path(path)
    if not accepted_suffix(path, SLIDE_SUFFIXES):
        raise UploadError(
            f"{path.name}: this file type is not accepted; upload a whole-slide image as "
            f"{', '.join(SLIDE_SUFFIXES)} (a pyramidal TIFF or an Aperio SVS file)"
        )
    check_file_size(path)
    try:
        slide = open_slide(path)
    except (SlideOpenError, OSError, EOFError) as err:
        message = str(err).replace(str(path), path.name)  # the server's folders mean nothing
        raise UploadError(f"cannot read the slide: {message}") from err
    width, height = slide.dimensions
    if width * height > limits.MAX_SLIDE_PIXELS:
        slide.close()
        raise UploadError(
            f"{path.name} is {width:,} x {height:,} pixels at full resolution "
            f"({width * height:,} pixels); the demo accepts up to "
            f"{limits.MAX_SLIDE_PIXELS:,}. Upload a crop of the slide."
        )
    return slide


class UploadedSlideTiles(NamedTuple):
    """The tissue tiles of one slide, as a bag for mSTAR-mini.

    Attributes
    ----------
    tiles : ndarray, shape (N, 3, t, t), uint8
        RGB tiles, channels first.
    grid : ndarray, shape (N, 2), int64
        (row, col) of each tile: level-0 (y, x) // ``tile_size_level0``.
    coords : ndarray, shape (N, 2), int64
        Level-0 (x, y) of each tile's top-left corner.
    tile_size_level0 : int
        Tile side in level-0 pixels.
    dimensions : (int, int)
        Level-0 (width, height) of the slide.
    thumbnail : ndarray, shape (h, w, 3), uint8
        The whole slide, longer side at most 512 pixels.
    """

    tiles: np.ndarray
    grid: np.ndarray
    coords: np.ndarray
    tile_size_level0: int
    dimensions: tuple[int, int]
    thumbnail: np.ndarray


def slide_tiles(
    slide: Slide, tile_size: int = 64, max_tiles: int = 48, mpp: float = 1.0
) -> UploadedSlideTiles:
    """Cut the tissue of an uploaded slide into tiles, as mSTAR-mini's bags are cut.

    Tiles are ``tile_size`` pixels at ``mpp`` µm/px (at level 0 if the slide does not record
    its pixel size), on a grid without overlap, kept when at least half is tissue: 64 px at
    1 µm/px cover 64 µm, as the tiles of
    :func:`medai_edu.experiments.slide_pretraining.make_slide_bags` that mSTAR-mini was
    pretrained on (a 0.5 µm/px slide is read at half resolution).

    Parameters
    ----------
    slide : Slide
    tile_size : int
        Tile side in output pixels.
    max_tiles : int
        Most tiles returned; more tissue tiles are thinned to ``max_tiles`` spread evenly
        over the grid (deterministic).
    mpp : float
        Microns per pixel of the tiles.

    Returns
    -------
    UploadedSlideTiles

    Raises
    ------
    UploadError
        No tile has enough tissue.
    """
    from medai_edu.wsi import read_tile, tile_grid

    grid = tile_grid(slide, tile_size, mpp=mpp if slide.mpp is not None else None, min_tissue=0.5)
    if len(grid) == 0:
        raise UploadError(
            f"no tissue found in {slide.path.name}: no {tile_size}-pixel tile is at least half "
            f"tissue. Upload a slide with stained tissue on it (the demo ignores white glass)."
        )
    if len(grid) > max_tiles:
        # Evenly spaced over the row-major grid order: covers the whole tissue, reproducibly.
        grid = grid.subset(np.linspace(0, len(grid) - 1, max_tiles).astype(np.int64))
    tiles = np.stack([read_tile(slide, grid, k) for k in range(len(grid))])
    coords = grid.coords.astype(np.int64)
    return UploadedSlideTiles(
        tiles=np.ascontiguousarray(tiles.transpose(0, 3, 1, 2)),
        grid=np.ascontiguousarray(coords[:, ::-1] // grid.tile_size_level0),
        coords=coords,
        tile_size_level0=int(grid.tile_size_level0),
        dimensions=tuple(int(v) for v in slide.dimensions),
        thumbnail=slide.thumbnail(512),
    )
