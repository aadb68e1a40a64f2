"""Write an RGB image as a pyramidal tiled TIFF, the file layout of a whole-slide image.

A whole-slide scanner stores one huge image several times: level 0 at full resolution, then
copies that are 2, 4, 8, ... times smaller, each cut into square tiles so that a viewer reads
only the tiles it shows. This module writes that layout with :mod:`tifffile`:

* one TIFF page (IFD) per level, level 0 first; reduced levels are marked
  ``SubfileType = 1`` ("reduced-resolution image"), which is OpenSlide's *generic tiled
  TIFF* format and what ``tifffile`` recognises as a pyramid (``series[0].levels``);
* lossless deflate (zlib) compression with the horizontal-difference predictor, so the
  pixels read back are exactly the pixels written (JPEG would need ``imagecodecs`` and
  changes the pixels);
* the resolution tags (``XResolution``/``YResolution`` in pixels per centimetre), from which
  OpenSlide 4 reports ``openslide.mpp-x`` and ``openslide.mpp-y`` for generic TIFFs, so no
  vendor-specific (Aperio) description is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

MICRONS_PER_CM = 1e4


def downsample_by_two(image: np.ndarray) -> np.ndarray:
    """Halve an image's width and height by averaging each 2x2 block of pixels.

    Area averaging is what an optical system with half the resolution would record; picking
    every second pixel instead would alias fine texture such as nuclear chromatin.

    Parameters
    ----------
    image : np.ndarray, shape (H, W, C), uint8
        The image to shrink. An odd side is first padded by repeating its last row/column.

    Returns
    -------
    np.ndarray, shape (ceil(H / 2), ceil(W / 2), C), uint8
    """
    height, width = image.shape[:2]
    padded = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2, -1)
    mean = blocks.mean(axis=(1, 3), dtype=np.float32)
    return np.round(mean).astype(np.uint8)


def pyramid_levels(image: np.ndarray, min_level_size: int = 256) -> list[np.ndarray]:
    """Build the list of pyramid levels, level 0 first, each half the size of the previous.

    Parameters
    ----------
    image : np.ndarray, shape (H, W, 3), uint8
        Level 0.
    min_level_size : int
        A smaller level is added while its longer side would still be at least this many
        pixels.

    Returns
    -------
    list of np.ndarray
        Level ``k`` has shape about ``(H / 2**k, W / 2**k, 3)``.
    """
    levels = [image]
    while max(levels[-1].shape[:2]) // 2 >= min_level_size:
        levels.append(downsample_by_two(levels[-1]))
    return levels


def write_pyramid_tiff(
    path: str | Path,
    image_rgb_uint8: np.ndarray,
    mpp: float,
    tile: int = 256,
    min_level_size: int = 256,
    description: str | None = None,
    compression_level: int = 4,
) -> Path:
    """Write an RGB image as a tiled, pyramidal, deflate-compressed TIFF.

    Parameters
    ----------
    path : str or Path
        Output file (``.tif`` or ``.tiff``); parent folders are created.
    image_rgb_uint8 : np.ndarray, shape (H, W, 3), uint8
        Level 0 of the slide, RGB.
    mpp : float
        Microns per pixel at level 0 (0.25 is a "40x" scan, 0.5 a "20x" scan). Level ``k``
        is recorded with ``mpp * 2**k``.
    tile : int
        Tile side in pixels, a multiple of 16 as the TIFF standard requires.
    min_level_size : int
        Smallest allowed longer side of the last level, see :func:`pyramid_levels`.
    description : str, optional
        Free text for the ``ImageDescription`` tag of level 0 (OpenSlide shows it as the
        property ``tiff.ImageDescription``). Keep labels out of it: students open these files.
    compression_level : int
        zlib level 1-9. Level 4 writes about 3x faster than zlib's default 6 for a file
        about 1 % larger; noisy tissue pixels do not compress much further.

    Returns
    -------
    Path
        The written file. ``openslide.OpenSlide(path)`` opens it as vendor ``generic-tiff``;
        ``tifffile.TiffFile(path).series[0].levels`` lists the same levels.

    Raises
    ------
    ValueError
        If the image is not (H, W, 3) uint8, ``mpp`` is not positive, ``tile`` is not a
        positive multiple of 16 or ``compression_level`` is not in 1-9.
    """
    image = np.asarray(image_rgb_uint8)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"expected an RGB image of shape (H, W, 3) and dtype uint8, "
            f"got shape {image.shape} and dtype {image.dtype}"
        )
    if min(image.shape[:2]) < 1:
        raise ValueError(f"image has an empty side: shape {image.shape}")
    if not mpp > 0:
        raise ValueError(f"mpp (microns per pixel) must be positive, got {mpp}")
    if tile <= 0 or tile % 16:
        raise ValueError(f"tile must be a positive multiple of 16, got {tile}")
    if compression_level not in range(1, 10):
        raise ValueError(f"compression_level must be 1-9, got {compression_level}")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    levels = pyramid_levels(image, min_level_size=min_level_size)
    # Classic TIFF addresses at most 4 GiB; switch to BigTIFF well before that.
    bigtiff = sum(level.nbytes for level in levels) > 2**31
    with tifffile.TiffWriter(path, bigtiff=bigtiff) as writer:
        for k, level in enumerate(levels):
            # Each level records its own pixel size, so a reader of any level gets microns.
            downsample = image.shape[1] / level.shape[1]
            pixels_per_cm = MICRONS_PER_CM / (mpp * downsample)
            writer.write(
                level,
                photometric="rgb",
                tile=(tile, tile),
                compression="zlib",
                compressionargs={"level": compression_level},
                predictor=True,  # horizontal differencing: smooth tissue compresses better
                resolution=(pixels_per_cm, pixels_per_cm),
                resolutionunit="CENTIMETER",
                subfiletype=0 if k == 0 else 1,  # 1 = reduced-resolution copy of page 0
                description=description if k == 0 else None,
                metadata=None,  # no tifffile JSON: keep the file a plain generic TIFF
            )
    return path
