"""Slide layout: where tissue, tumour, necrosis and lymphoid aggregates are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from medai_edu.data.pathology.blobs import _Blobs
from medai_edu.data.pathology.config import SlideConfig
from medai_edu.data.pathology.patterns import _smooth_noise
from medai_edu.data.pathology.vocabulary import LYMPHOCYTES, NECROSIS, STROMA, TUMOUR


@dataclass
class _Layout:
    """Boolean (H, W) maps of the regions, plus the pixel scale."""

    tissue: np.ndarray
    bed: np.ndarray  # tumour bed: viable tumour and the necrosis inside it
    necrosis: np.ndarray
    lymphoid: np.ndarray  # lymphoid aggregates (in stroma)
    px_per_um: float

    @property
    def viable(self) -> np.ndarray:
        return self.bed & ~self.necrosis

    def region_mask(self) -> np.ndarray:
        """(H, W) uint8 index into REGION_CLASSES."""
        mask = np.zeros(self.tissue.shape, np.uint8)
        mask[self.tissue] = STROMA
        mask[self.lymphoid] = LYMPHOCYTES
        mask[self.bed] = TUMOUR
        mask[self.necrosis] = NECROSIS
        return mask


def _threshold_for_fraction(values: np.ndarray, fraction: float) -> float:
    """Threshold above which ``fraction`` of ``values`` lie (quantile on a subsample)."""
    sample = values[:: max(1, values.size // 400_000)]
    return float(np.quantile(sample, 1.0 - fraction)) if sample.size else np.inf


def _layout_regions(
    rng: np.random.Generator, config: SlideConfig, concepts: dict[str, float]
) -> _Layout:
    """Place tissue, tumour bed, necrosis and lymphoid aggregates on the slide.

    Tissue is an ellipse warped by noise at three scales, which gives lobulated outlines
    with ragged edges. The tumour bed is the top part of another smooth field, thresholded
    so that viable tumour covers ``tumour_fraction`` of the tissue; necrosis takes the
    bed's core (where that field is highest), as it does in fast-growing tumours.
    """
    shape, um = (config.height, config.width), 1.0 / config.mpp
    y = np.linspace(-1, 1, shape[0], dtype=np.float32)[:, None] - rng.uniform(-0.05, 0.05)
    x = np.linspace(-1, 1, shape[1], dtype=np.float32)[None, :] - rng.uniform(-0.05, 0.05)
    ellipse = 1 - np.sqrt((x / rng.uniform(0.8, 0.95)) ** 2 + (y / rng.uniform(0.8, 0.95)) ** 2)
    outline = (
        ellipse
        + 0.3 * _smooth_noise(rng, shape, 120 * um)
        + 0.08 * _smooth_noise(rng, shape, 20 * um)
        + 0.03 * _smooth_noise(rng, shape, 4 * um)
    )
    coverage = rng.uniform(*config.tissue_coverage)
    tissue = outline > _threshold_for_fraction(outline.ravel(), coverage)

    necrosis_share = rng.uniform(0.15, 0.3) if concepts["necrosis"] else 0.0
    bed_fraction = min(0.97, concepts["tumour_fraction"] / (1 - necrosis_share))
    growth = _smooth_noise(rng, shape, 100 * um) + 0.3 * _smooth_noise(rng, shape, 25 * um)
    bed = tissue & (growth > _threshold_for_fraction(growth[tissue], bed_fraction))
    necrosis = np.zeros(shape, bool)
    if necrosis_share:
        core = growth + 0.5 * _smooth_noise(rng, shape, 30 * um)
        necrosis = bed & (core > _threshold_for_fraction(core[bed], necrosis_share))

    lymphoid = _lymphoid_aggregates(rng, tissue, bed, concepts["lymphocytic_infiltrate"], um)
    return _Layout(tissue, bed, necrosis, lymphoid, um)


def _lymphoid_aggregates(
    rng: np.random.Generator, tissue: np.ndarray, bed: np.ndarray, level: int, um: float
) -> np.ndarray:
    """Round clusters of lymphocytes in the stroma near the tumour, more with a higher level.

    Returns an (H, W) bool mask.
    """
    stroma = tissue & ~bed
    per_mm2 = (0.5, 4.0, 9.0)[int(level)]
    area_mm2 = stroma.sum() / um**2 / 1e6
    count = rng.poisson(per_mm2 * area_mm2 * 1.5)
    # Candidates: stroma within 120 µm of the tumour, found on a coarse grid for speed.
    step = 8
    near = ndi.distance_transform_edt(~bed[::step, ::step]) * step / um < 120
    cy, cx = np.nonzero(near & stroma[::step, ::step])
    if count == 0 or len(cy) == 0:
        return np.zeros(tissue.shape, bool)
    pick = rng.choice(len(cy), size=min(count, len(cy)), replace=False)
    blobs = _Blobs.sample(rng, cy[pick] * step, cx[pick] * step, (18 * um, 45 * um), (1.0, 1.6))
    bumps = _smooth_noise(rng, tissue.shape, 8 * um)
    relative, _ = blobs.paint(tissue.shape, bumps, 0.2)
    return (relative < 1) & stroma
