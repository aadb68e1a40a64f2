"""Tissue detection: which parts of a slide hold tissue rather than empty glass.

Most of a slide is glass. The mask is computed on a low-resolution overview (about 8 µm per
pixel), where one threshold separates tissue from glass:

* **saturation**: stained tissue is coloured, glass is grey-white, so tissue has a higher
  saturation ``(max - min) / max`` of R, G, B. Black pen marks and dust are dark but not
  saturated, and stay out.
* **optical density**: stained tissue absorbs light, ``OD = -log10(I / 255)``; use it for
  faintly coloured stains.

The threshold is Otsu's (it splits the histogram into two classes of least variance), with
a floor so that a blank slide does not split its noise into "tissue". Specks smaller than
``min_tissue_um2`` are removed, and holes smaller than ``max_hole_um2`` (gland lumina,
vessels, tears) are filled, since they belong to the tissue around them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi

from medai_edu.wsi.slide import Slide

__all__ = ["TissueMask", "tissue_mask", "tissue_score"]

DEFAULT_MASK_MPP = 8.0  # µm per mask pixel: a 2 x 2 cm slide gives a 2500 x 2500 mask
ASSUMED_MPP = 0.5  # µm per level-0 pixel when the file does not say (a "20x" scan)
_THRESHOLD_FLOOR = {"saturation": 0.05, "optical_density": 0.03}


class TissueMask(NamedTuple):
    """A tissue mask; unpack as ``mask, downsample = tissue_mask(slide)``."""

    mask: np.ndarray  # (h, w) bool, True on tissue
    downsample: float  # level-0 pixels per mask pixel (the same along x and y, nearly)


def tissue_score(rgb: np.ndarray, method: str = "saturation") -> np.ndarray:
    """Per-pixel evidence of tissue: higher on stained tissue than on glass.

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3), uint8
    method : {"saturation", "optical_density"}
        Saturation in [0, 1], or the mean optical density of R, G, B (0 on white glass).

    Returns
    -------
    np.ndarray, shape (H, W), float32
    """
    pixels = np.asarray(rgb, np.float32)
    if method == "saturation":
        brightest, darkest = pixels.max(axis=-1), pixels.min(axis=-1)
        return (brightest - darkest) / np.maximum(brightest, 1.0)
    if method == "optical_density":
        return -np.log10(np.maximum(pixels, 1.0) / 255.0).mean(axis=-1)
    raise ValueError(f"method must be 'saturation' or 'optical_density', got {method!r}")


def _otsu_threshold(values: np.ndarray, floor: float) -> float:
    """Otsu's threshold of ``values``, never below ``floor`` (a blank image has no split)."""
    from skimage.filters import threshold_otsu

    if values.size == 0 or np.ptp(values) == 0:
        return floor
    return max(float(threshold_otsu(values)), floor)


def _remove_small_objects(mask: np.ndarray, min_pixels: float) -> np.ndarray:
    """Drop connected components (8-connected) smaller than ``min_pixels``."""
    labels, count = ndi.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_pixels
    keep[0] = False  # label 0 is the background
    return keep[labels]


def _fill_small_holes(mask: np.ndarray, max_pixels: float) -> np.ndarray:
    """Fill background components that do not touch the border and are at most ``max_pixels``."""
    holes, count = ndi.label(~mask)  # 4-connected, the dual of 8-connected tissue
    if count == 0:
        return mask
    sizes = np.bincount(holes.ravel())
    fill = sizes <= max_pixels
    fill[0] = False
    border = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
    fill[border] = False  # glass around the tissue is not a hole
    return mask | fill[holes]


def _mask_downsample(slide: Slide, level: int | None, mpp: float | None) -> float:
    if level is not None and mpp is not None:
        raise ValueError("give either level or mpp, not both")
    if level is not None:
        if not 0 <= level < slide.level_count:
            raise ValueError(f"level must be in 0..{slide.level_count - 1}, got {level!r}")
        return slide.level_downsamples[level]
    slide_mpp = slide.mpp or ASSUMED_MPP
    target = DEFAULT_MASK_MPP if mpp is None else mpp
    if not target > 0:
        raise ValueError(f"mpp must be positive, got {mpp!r}")
    return max(1.0, target / slide_mpp)


def tissue_mask(
    slide: Slide,
    level: int | None = None,
    mpp: float | None = None,
    method: str = "saturation",
    min_tissue_um2: float = 20_000.0,
    max_hole_um2: float = 50_000.0,
) -> TissueMask:
    """Find the tissue on a slide, at low resolution.

    Parameters
    ----------
    slide : Slide
    level : int, optional
        Compute the mask on this pyramid level.
    mpp : float, optional
        Or at this many microns per mask pixel (read from the best level and shrunk). When
        neither is given: ``DEFAULT_MASK_MPP`` (8 µm/px).
    method : {"saturation", "optical_density"}
        See :func:`tissue_score`.
    min_tissue_um2 : float
        Tissue pieces smaller than this area (µm²) are dropped (dust, debris): 20 000 µm²
        is a square of about 140 µm.
    max_hole_um2 : float
        Holes in the tissue up to this area (µm²) are filled; ``float("inf")`` fills all.

    Returns
    -------
    TissueMask
        ``mask`` (h, w) bool and ``downsample``: mask pixel ``(i, j)`` covers level-0
        pixels ``[j * d, (j + 1) * d) x [i * d, (i + 1) * d)``. Areas assume
        ``ASSUMED_MPP`` when the slide does not record its pixel size.
    """
    downsample = _mask_downsample(slide, level, mpp)
    if level is not None:
        overview = slide.read_region((0, 0), level, slide.level_dimensions[level])
    else:
        overview = slide.read_overview(downsample)
    width, height = slide.dimensions
    downsample = (width / overview.shape[1] + height / overview.shape[0]) / 2  # as rounded
    score = tissue_score(overview, method)
    mask = score > _otsu_threshold(score.ravel(), _THRESHOLD_FLOOR[method])
    pixel_area_um2 = ((slide.mpp or ASSUMED_MPP) * downsample) ** 2
    mask = _remove_small_objects(mask, min_tissue_um2 / pixel_area_um2)
    mask = _fill_small_holes(mask, max_hole_um2 / pixel_area_um2)
    return TissueMask(mask, float(downsample))
