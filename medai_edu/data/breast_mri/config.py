"""Parameters of the breast MRI generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.breast_mri.scanner import DEFAULT_SITES, ScannerSite
from medai_edu.data.breast_mri.vocabulary import SUBTYPES


@dataclass(frozen=True)
class BreastMRIConfig:
    """Parameters of the generator.

    shape: volume size (slices, rows, columns); every modality has this shape.
    spacing_mm: voxel size (slice, row, column) in mm.
    dce_times_min: acquisition times of the DCE phases in minutes; the first must be 0
        (pre-contrast).
    b_low: the low b-value of DWI in s/mm^2 (the high one is a site setting).
    malignant_fraction: expected fraction of malignant cases.
    label_temperature: softness of concepts -> malignancy (0 makes it deterministic).
    subtype_probs: probabilities of :data:`SUBTYPES` among malignant cases.
    lesion_radius_mm: range of the lesion's mean radius before the subtype's size effect.
    sites: the hospitals; site_probs their probabilities (uniform if None).
    noise_scale, bias_field_scale: multiply every site's noise and bias field (0 turns off).
    """

    shape: tuple[int, int, int] = (16, 32, 32)
    spacing_mm: tuple[float, float, float] = (3.0, 2.0, 2.0)
    dce_times_min: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 6.0)
    b_low: float = 0.0
    malignant_fraction: float = 0.5
    label_temperature: float = 0.15
    subtype_probs: tuple[float, float, float, float] = (0.35, 0.25, 0.15, 0.25)
    lesion_radius_mm: tuple[float, float] = (6.0, 11.0)
    sites: tuple[ScannerSite, ...] = DEFAULT_SITES
    site_probs: tuple[float, ...] | None = None
    noise_scale: float = 1.0
    bias_field_scale: float = 1.0

    def __post_init__(self):
        if len(self.shape) != 3 or min(self.shape) < 8:
            raise ValueError(
                f"shape must be 3 sizes (slices, rows, columns) >= 8, got {self.shape}"
            )
        if len(self.dce_times_min) < 3 or self.dce_times_min[0] != 0:
            raise ValueError("dce_times_min needs a pre-contrast phase at 0 and >= 2 post-contrast")
        if not 0 < self.malignant_fraction < 1:
            raise ValueError(f"malignant_fraction must be in (0, 1), got {self.malignant_fraction}")
        if len(self.subtype_probs) != len(SUBTYPES) or not np.isclose(sum(self.subtype_probs), 1):
            raise ValueError(f"subtype_probs must be {len(SUBTYPES)} probabilities summing to 1")
        if not self.sites:
            raise ValueError("at least one scanner site is needed")
        if self.site_probs is not None and len(self.site_probs) != len(self.sites):
            raise ValueError("site_probs must have one probability per site")
