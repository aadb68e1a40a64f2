"""One synthetic breast MRI case: its images and its ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.breast_mri.vocabulary import CONCEPTS, KINETICS, MARGINS, SUBTYPES


@dataclass
class BreastMRICase:
    """One synthetic case. Volumes are float32 of shape ``config.shape`` = (Z, Y, X).

    dce: (P, Z, Y, X) pre-contrast then post-contrast phases (arbitrary units).
    t2: (Z, Y, X). dwi: (2, Z, Y, X) at b_values. adc: (Z, Y, X) in 10^-3 mm^2/s.
    mask: (Z, Y, X) bool ground-truth lesion mask.
    """

    dce: np.ndarray
    t2: np.ndarray
    dwi: np.ndarray
    adc: np.ndarray
    mask: np.ndarray
    malignant: int
    subtype: int
    pcr: int
    margin: int
    kinetic: int
    diffusion_restricted: int
    t2_hyperintense: int
    site: int
    lesion_radius_mm: float
    b_values: tuple[float, float]
    spacing_mm: tuple[float, float, float]
    dce_times_min: tuple[float, ...]

    @property
    def concepts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in CONCEPTS}

    def describe(self) -> str:
        """A one-line radiology-style summary of the ground truth."""
        dx = "malignant" if self.malignant else "benign"
        if self.malignant:
            dx += f", {SUBTYPES[self.subtype]}, {'pCR' if self.pcr else 'no pCR'}"
        return (
            f"{dx}: {MARGINS[self.margin]} margin, {KINETICS[self.kinetic]} kinetics, "
            f"{'restricted' if self.diffusion_restricted else 'no restricted'} diffusion, "
            f"T2 {'hyper' if self.t2_hyperintense else 'iso/hypo'}intense, "
            f"{2 * self.lesion_radius_mm:.0f} mm"
        )
