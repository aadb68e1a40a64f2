"""The renderer: a case's truth becomes DCE, T2-weighted and diffusion images.

Steps, in the order of their random draws (part of every seed's meaning: do not reorder):
the breast (:mod:`.anatomy`), the lesion in it, the ideal signal of each sequence from the
tissue and the concepts, then what the hospital's scanner records (:mod:`.scanner`).
"""

from __future__ import annotations

import numpy as np

from medai_edu.data.breast_mri.anatomy import (
    _breast_anatomy,
    _choose_lesion_centre,
    _lesion_fraction,
    _voxel_centres_mm,
)
from medai_edu.data.breast_mri.causal import CaseTruth
from medai_edu.data.breast_mri.config import BreastMRIConfig
from medai_edu.data.breast_mri.kinetics import kinetic_curve
from medai_edu.data.breast_mri.scanner import ScannerSite, _acquire, _adc_map, _coil_bias_field
from medai_edu.data.breast_mri.vocabulary import NOT_APPLICABLE

# Subtype effect on the image: how strongly each subtype enhances.
_SUBTYPE_ENHANCEMENT = np.array([0.8, 1.0, 1.4, 1.1])

TRIPLE_NEGATIVE = 3  # index in SUBTYPES: rim enhancement and central necrosis


def _render_images(rng, config: BreastMRIConfig, truth: CaseTruth) -> dict:
    """Images of one case: ``dce`` (P, Z, Y, X), ``t2``, ``adc`` (Z, Y, X), ``dwi``
    (2, Z, Y, X), all float32, the bool lesion ``mask`` and the ``b_values`` used."""
    scanner = config.sites[truth.site]
    scene = _scene(rng, config, truth)
    dce = _dce_signal(rng, config, truth, scene, scanner)
    t2 = _t2_signal(truth, scene)
    dwi, b_values = _dwi_signal(rng, config, truth, scene, scanner)

    # The scanner: resolution, coil bias field (shared by all sequences), gain, Rician noise.
    extent = np.asarray(config.shape) * np.asarray(config.spacing_mm, dtype=float)
    strength = config.bias_field_scale * scanner.bias_field
    bias = _coil_bias_field(rng, scene["coords"], extent, strength)
    noise = config.noise_scale * scanner.noise * 0.4
    dce = _acquire(rng, scanner, bias, dce, noise)
    t2 = _acquire(rng, scanner, bias, t2, noise)
    dwi = _acquire(rng, scanner, bias, dwi, 1.5 * noise)
    return {
        "dce": dce.astype(np.float32),
        "t2": t2.astype(np.float32),
        "dwi": dwi.astype(np.float32),
        "adc": _adc_map(dwi[0], dwi[1], b_values),
        "mask": scene["lesion"] > 0.5,
        "b_values": b_values,
    }


def _scene(rng, config: BreastMRIConfig, truth: CaseTruth) -> dict[str, np.ndarray]:
    """Voxel coordinates, tissue fractions (fat, glandular, muscle), the lesion's
    occupancy, its normalised radius rho/R and its necrotic core, each (Z, Y, X)."""
    shape = config.shape
    spacing = np.asarray(config.spacing_mm, dtype=float)
    coords = _voxel_centres_mm(tuple(shape), tuple(config.spacing_mm))
    anatomy = _breast_anatomy(rng, coords, np.asarray(shape) * spacing)
    centre = _choose_lesion_centre(rng, coords, anatomy["glandular"])
    lesion, rel_radius = _lesion_fraction(rng, coords, centre, truth.lesion_radius_mm, truth.margin)
    # triple-negative (or a look-alike): central necrosis
    necrotic = (truth.look == TRIPLE_NEGATIVE) & (rel_radius < 0.45)
    return anatomy | {
        "coords": coords,
        "lesion": lesion,
        "rel_radius": rel_radius,
        "necrotic": necrotic,
    }


def _dce_signal(rng, config, truth: CaseTruth, scene, scanner: ScannerSite) -> np.ndarray:
    """DCE phases, S(t) = S0 (1 + E(t)): lesion kinetics from the concept, the subtype's
    look sets the amplitude, triple-negative cancers (and look-alikes) enhance at the rim."""
    fat, gland, muscle = scene["fat"], scene["glandular"], scene["muscle"]
    lesion, rel_radius, necrotic = scene["lesion"], scene["rel_radius"], scene["necrotic"]
    look, kinetic = truth.look, truth.kinetic
    times = _acquisition_times(config, scanner)
    has_look = look != NOT_APPLICABLE
    amplitude = rng.uniform(1.3, 1.9) * (_SUBTYPE_ENHANCEMENT[look] if has_look else 1.0)
    late = {0: rng.uniform(0.18, 0.35), 1: rng.uniform(-0.05, 0.05), 2: rng.uniform(-0.35, -0.18)}
    tau = _wash_in_tau(rng, config, truth)
    lesion_curve = kinetic_curve(kinetic, times, amplitude, late[kinetic], tau)
    bpe = rng.uniform(0.05, 0.35)  # background parenchymal enhancement
    gland_curve = bpe * times / times[-1]
    muscle_curve = 0.3 * (1 - np.exp(-times / 1.5))
    rim = np.where(look == TRIPLE_NEGATIVE, 0.35 + 0.65 * np.clip(rel_radius, 0, 1), 1.0)
    rim = np.where(necrotic, 0.1, rim)
    dce = np.empty((len(times), *config.shape), dtype=np.float32)
    for k, _t in enumerate(times):
        tissue = (
            0.12 * fat + 0.35 * gland * (1 + gland_curve[k]) + 0.4 * muscle * (1 + muscle_curve[k])
        )
        lesion_signal = 0.35 * (1 + scanner.contrast_gain * lesion_curve[k] * rim)
        dce[k] = (1 - lesion) * tissue + lesion * lesion_signal
    return dce


def _acquisition_times(config: BreastMRIConfig, scanner: ScannerSite) -> np.ndarray:
    """When the DCE phases are acquired, in minutes: the nominal times, post-contrast
    phases delayed by the site's protocol."""
    times = np.asarray(config.dce_times_min)
    if scanner.dce_delay_min:  # only then: on-time sites keep the exact nominal times
        times = np.where(times > 0, times + scanner.dce_delay_min, times)
    return times


def _wash_in_tau(rng, config: BreastMRIConfig, truth: CaseTruth) -> float:
    """The lesion's wash-in time constant in minutes: log-normal around its kinetic curve
    type's median when configured (one extra draw), else 0.5 min and no draw."""
    if config.wash_in_median_min is None:
        return 0.5
    median = config.wash_in_median_min[truth.kinetic]
    return float(median * np.exp(config.wash_in_log_sd * rng.standard_normal()))


def _lesion_t2(truth: CaseTruth, scene) -> np.ndarray:
    """The lesion's T2-weighted signal: bright if hyperintense, brightest where necrotic."""
    lesion_t2 = 0.9 if truth.t2_hyperintense else 0.33
    return np.where(scene["necrotic"], 1.0, lesion_t2)


def _t2_signal(truth: CaseTruth, scene) -> np.ndarray:
    """T2-weighted (no fat saturation): fat bright, glandular intermediate, muscle dark."""
    fat, gland, muscle = scene["fat"], scene["glandular"], scene["muscle"]
    lesion = scene["lesion"]
    return (1 - lesion) * (0.75 * fat + 0.45 * gland + 0.22 * muscle) + lesion * _lesion_t2(
        truth, scene
    )


def _dwi_signal(rng, config, truth: CaseTruth, scene, scanner: ScannerSite):
    """DWI with fat suppression at (b_low, b_high): S_b = S0 exp(-b ADC), ADC in mm^2/s.

    S0 is the T2-weighted signal without diffusion weighting: with ``config.dwi_t2_weight``
    the lesion's share follows its T2 signal (T2 shine-through, which the ADC cancels).
    Returns the (2, Z, Y, X) images and the b-values in s/mm^2.
    """
    fat, gland, muscle = scene["fat"], scene["glandular"], scene["muscle"]
    lesion, background = scene["lesion"], 1 - scene["lesion"]
    adc_lesion = rng.uniform(0.8, 1.05) if truth.diffusion_restricted else rng.uniform(1.5, 1.8)
    adc_true = 1e-3 * (
        background * (0.4 * fat + 1.9 * gland + 1.45 * muscle)
        + lesion * np.where(scene["necrotic"], 2.2, adc_lesion)
    )
    lesion_s0 = 0.65
    if config.dwi_t2_weight > 0:
        w = config.dwi_t2_weight
        lesion_s0 = (1 - w) * 0.65 + w * _lesion_t2(truth, scene)
    s0 = background * (0.08 * fat + 0.6 * gland + 0.4 * muscle) + lesion * lesion_s0
    b_values = (config.b_low, scanner.b_high)
    dwi = np.stack([s0 * np.exp(-b * adc_true) for b in b_values])
    return dwi, b_values
