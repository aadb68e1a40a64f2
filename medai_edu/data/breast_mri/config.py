"""Parameters of the breast MRI generator."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from medai_edu.data.breast_mri.scanner import DEFAULT_SITES, SHIFTED_SITES, ScannerSite
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

    Realism (the dataset card gives every source; :meth:`original` turns it all off and
    reproduces the first generator draw for draw):

    wash_in_median_min: median wash-in time constant in minutes of a lesion's enhancement
        for each kinetic curve type (persistent, plateau, washout); each lesion draws its
        own, log-normal with spread ``wash_in_log_sd``. The speed follows the kinetic
        concept only, so benign lesions (mostly persistent) are slower on average without
        the images saying more about malignancy than the concepts do. None: every lesion
        washes in with 0.5 min (fast).
    wash_in_log_sd: standard deviation of the wash-in time constant's logarithm.
    look_alikes: a benign lesion borrows the look of a subtype drawn from ``subtype_probs``
        (its size, enhancement strength, and the rim enhancement and necrotic core of
        triple-negative cancers, which fat necrosis and inflamed cysts mimic), so that no
        image feature tells malignancy apart beyond the concepts. False: only cancers have
        a subtype's look.
    dwi_t2_weight: T2 shine-through, in [0, 1]: the share of the lesion's low-b (and so
        every b) DWI signal that follows its T2 signal instead of a fixed 0.65. 0: none.
    pcr_rate_by_subtype: probability of pCR of each subtype at ``pcr_reference_diameter_mm``.
        None: the original logits (-2.5, -1.2, 1.4, 0.9) minus 1 per mm of radius over 9 mm.
    pcr_logit_per_cm: change of the pCR logit per cm of tumour diameter above the reference
        (used only with ``pcr_rate_by_subtype``).
    pcr_reference_diameter_mm: the diameter at which the pCR rates hold, in mm.
    neoadjuvant: a neoadjuvant chemotherapy cohort: every lesion malignant (its concepts
        drawn given malignancy), ``neoadjuvant_diameter_mm`` wide; the label is ``pcr``.
    neoadjuvant_diameter_mm: range of the tumour diameter in mm in a neoadjuvant cohort.
    """

    shape: tuple[int, int, int] = (16, 32, 32)
    spacing_mm: tuple[float, float, float] = (3.0, 2.0, 2.0)
    dce_times_min: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 6.0)
    b_low: float = 0.0
    malignant_fraction: float = 0.5
    label_temperature: float = 0.4
    subtype_probs: tuple[float, float, float, float] = (0.55, 0.18, 0.09, 0.18)
    lesion_radius_mm: tuple[float, float] = (6.0, 11.0)
    sites: tuple[ScannerSite, ...] = SHIFTED_SITES
    site_probs: tuple[float, ...] | None = None
    noise_scale: float = 1.0
    bias_field_scale: float = 1.0
    wash_in_median_min: tuple[float, float, float] | None = (2.0, 1.0, 0.6)
    wash_in_log_sd: float = 0.5
    look_alikes: bool = True
    dwi_t2_weight: float = 0.7
    pcr_rate_by_subtype: tuple[float, float, float, float] | None = (0.075, 0.162, 0.503, 0.336)
    pcr_logit_per_cm: float = -0.2
    pcr_reference_diameter_mm: float = 25.0
    neoadjuvant: bool = False
    neoadjuvant_diameter_mm: tuple[float, float] = (20.0, 30.0)

    @classmethod
    def original(cls, **overrides) -> BreastMRIConfig:
        """The first generator (course round 1), draw for draw: near-deterministic labels
        (oracle AUROC 0.993), one fast wash-in for every lesion, no T2 shine-through, pCR
        rates far from trials, only cancers look like a subtype, and a hospital C whose
        differences per-volume normalisation removes. Kept to reproduce old results;
        ``overrides`` replace any field."""
        first = cls(
            label_temperature=0.15,
            subtype_probs=(0.35, 0.25, 0.15, 0.25),
            sites=DEFAULT_SITES,
            wash_in_median_min=None,
            wash_in_log_sd=0.0,
            look_alikes=False,
            dwi_t2_weight=0.0,
            pcr_rate_by_subtype=None,
            pcr_logit_per_cm=0.0,
        )
        return replace(first, **overrides)

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
        self._check_realism()

    def _check_realism(self):
        if self.wash_in_median_min is not None and (
            len(self.wash_in_median_min) != 3 or min(self.wash_in_median_min) <= 0
        ):
            raise ValueError(
                "wash_in_median_min must be 3 minutes > 0 (persistent, plateau, washout)"
            )
        if self.wash_in_log_sd < 0:
            raise ValueError(f"wash_in_log_sd must be >= 0, got {self.wash_in_log_sd}")
        if not 0 <= self.dwi_t2_weight <= 1:
            raise ValueError(f"dwi_t2_weight must be in [0, 1], got {self.dwi_t2_weight}")
        rates = self.pcr_rate_by_subtype
        if rates is not None and (len(rates) != len(SUBTYPES) or not all(0 < r < 1 for r in rates)):
            raise ValueError(f"pcr_rate_by_subtype must be {len(SUBTYPES)} rates in (0, 1)")
        low, high = self.neoadjuvant_diameter_mm
        if not 0 < low <= high:
            raise ValueError(f"neoadjuvant_diameter_mm must be 0 < low <= high, got {(low, high)}")
