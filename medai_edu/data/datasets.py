"""PyTorch datasets over the course's data.

A dataset item is ``(inputs, targets)``, the batch convention of :mod:`medai_edu.train`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from medai_edu.data.breast_mri import CONCEPTS, LABELS, BreastMRICohort
from medai_edu.vocabulary import MRI_SEQUENCES


def _scale(volume: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Divide by the 99th percentile of ``reference``: scanner gain differs between sites."""
    return volume / (np.percentile(reference, 99) + 1e-6)


def relative_enhancement(dce: np.ndarray, body_fraction: float = 0.05) -> np.ndarray:
    """(S_t - S_0) / S_0 of each post-contrast phase, (T-1, Z, Y, X), clipped to [-1, 3].

    What a radiologist reads from subtraction images; 0 outside the body (S_0 below
    ``body_fraction`` of its 99th percentile), where the ratio is only noise.
    """
    pre = dce[0]
    body = pre > body_fraction * np.percentile(pre, 99)
    ratio = dce[1:] / np.maximum(pre, 1e-6) - 1
    return np.where(body, np.clip(ratio, -1, 3), 0).astype(np.float32)


def normalise_volumes(
    dce: np.ndarray | None, t2: np.ndarray | None, dwi: np.ndarray | None, adc: np.ndarray | None
) -> dict[str, np.ndarray]:
    """One case's volumes scaled for a network, each (C, Z, Y, X) float32.

    DCE: the pre-contrast phase scaled by its 99th percentile, then the relative enhancement
    of each post-contrast phase (so kinetics do not have to be learnt as a division); DWI
    images share the b-low scale; ADC (10^-3 mm^2/s) is divided by 3 to land in about [0, 1].

    Parameters
    ----------
    dce : ndarray, shape (P, Z, Y, X), or None
        Pre-contrast then post-contrast phases.
    t2 : ndarray, shape (Z, Y, X), or None
    dwi : ndarray, shape (2, Z, Y, X), or None
        b-low then b-high images.
    adc : ndarray, shape (Z, Y, X), or None
        In 10^-3 mm^2/s.

    Returns
    -------
    dict
        ``"dce"`` (P, Z, Y, X), ``"t2"`` (1, Z, Y, X), ``"dwi"`` (3, Z, Y, X): b-low, b-high,
        ADC. A modality whose volumes are None (for DWI: ``dwi`` or ``adc``) is left out,
        so a case with a missing sequence (an uploaded one) can be normalised too.
    """
    volumes = {}
    if dce is not None:
        volumes["dce"] = np.concatenate([_scale(dce[:1], dce[0]), relative_enhancement(dce)])
    if t2 is not None:
        volumes["t2"] = _scale(t2, t2)[None]
    if dwi is not None and adc is not None:
        volumes["dwi"] = np.concatenate([_scale(dwi, dwi[0]), adc[None] / 3.0])
    return {name: volume.astype(np.float32) for name, volume in volumes.items()}


def normalised_modalities(cohort: BreastMRICohort, i: int) -> dict[str, np.ndarray]:
    """Case ``i``'s volumes scaled for a network, each (C, Z, Y, X) float32.

    See :func:`normalise_volumes`, which holds the arithmetic.
    """
    return normalise_volumes(cohort.dce[i], cohort.t2[i], cohort.dwi[i], cohort.adc[i])


class BreastMRIDataset(Dataset):
    """Synthetic breast mpMRI cases for a network.

    inputs: dict modality -> float tensor (C, Z, Y, X), for the chosen ``modalities``.
    targets: dict of long tensors () for every label (malignant, subtype, pcr; -1 = not
    applicable) and concept (margin, kinetic, diffusion_restricted, t2_hyperintense), plus
    "site" and the lesion "mask" (Z, Y, X) float.

    flip: randomly mirror left-right (the x axis) every time a case is read, an augmentation
        for training that keeps every label true.
    cache: keep each case's normalised volumes after first use, so later epochs skip the
    percentiles (about 0.6 MB per case at the default shape).
    """

    def __init__(
        self, cohort: BreastMRICohort, modalities=MRI_SEQUENCES, flip: bool = False, cache=True
    ):
        unknown = set(modalities) - set(MRI_SEQUENCES)
        if unknown or not modalities:
            raise ValueError(
                f"modalities must be a non-empty subset of {MRI_SEQUENCES}, got {modalities}"
            )
        self.cohort = cohort
        self.modalities = tuple(modalities)
        self.flip = flip
        self._cache: dict[int, dict[str, np.ndarray]] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.cohort)

    def __getitem__(self, i: int):
        if self._cache is None:
            volumes = normalised_modalities(self.cohort, i)
        else:
            if i not in self._cache:
                self._cache[i] = normalised_modalities(self.cohort, i)
            volumes = self._cache[i]
        inputs = {m: torch.from_numpy(volumes[m]) for m in self.modalities}
        targets = {
            name: torch.tensor(int(getattr(self.cohort, name)[i]))
            for name in (*LABELS, *CONCEPTS, "site")
        }
        targets["mask"] = torch.from_numpy(self.cohort.mask[i].astype(np.float32))
        if self.flip and torch.rand(()) < 0.5:  # torch RNG: seeded by fit(seed=...)
            inputs = {m: v.flip(-1) for m, v in inputs.items()}
            targets["mask"] = targets["mask"].flip(-1)
        return inputs, targets
