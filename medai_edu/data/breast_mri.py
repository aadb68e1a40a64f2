"""Synthetic 3D multiparametric breast MRI with lesions whose clinical concepts cause the labels.

Each case is one axial slab through a breast, imaged by three sequences:

* **DCE** (dynamic contrast-enhanced, fat-saturated T1): a pre-contrast phase and several
  post-contrast phases; the lesion's *enhancement kinetics* (persistent, plateau, washout) show
  in the shape of its signal-time curve.
* **T2-weighted**: lesions are T2-hyperintense (cyst- or fibroadenoma-like) or iso/hypointense.
* **DWI** at a low and a high b-value, and the **ADC** map derived from them; malignant-looking
  lesions have *restricted diffusion* (low ADC).

The generative story is causal and explicit, so it can be taught and explanations can be
scored: sample the concepts (margin, kinetic curve type, diffusion restriction, T2 signal);
the malignancy follows from the concepts (:func:`malignancy_probability`); the molecular
subtype and the response to neoadjuvant chemotherapy (pCR) follow for malignant lesions; the
images are rendered from the concepts, and a "hospital" (:class:`ScannerSite`) adds its own
noise, coil bias field, gain, contrast dose, resolution and high b-value.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
from scipy import ndimage, special

MARGINS = ("circumscribed", "irregular", "spiculated")
KINETICS = ("persistent", "plateau", "washout")
SUBTYPES = ("luminal A", "luminal B", "HER2-enriched", "triple-negative")
CONCEPTS = ("margin", "kinetic", "diffusion_restricted", "t2_hyperintense")
LABELS = ("malignant", "subtype", "pcr")
#: Label value for "not applicable" (subtype and pCR of a benign lesion); use as ignore_index.
NOT_APPLICABLE = -1

# Contribution of each concept value to the malignancy score (the structural equation).
_MARGIN_WEIGHT = np.array([0.0, 1.3, 2.0])
_KINETIC_WEIGHT = np.array([0.0, 1.0, 2.0])
_DIFFUSION_WEIGHT = 1.8
_T2_HYPERINTENSE_WEIGHT = -1.0

# Subtype effects on the image (not on the concepts): size, enhancement, rim, necrosis.
_SUBTYPE_SIZE = np.array([0.8, 1.0, 1.05, 1.25])
_SUBTYPE_ENHANCEMENT = np.array([0.8, 1.0, 1.4, 1.1])
_SUBTYPE_PCR_LOGIT = np.array([-2.5, -1.2, 1.4, 0.9])


@dataclass(frozen=True)
class ScannerSite:
    """Acquisition settings of one hospital's scanner.

    noise: Rician noise sigma as a fraction of fibroglandular signal.
    bias_field: amplitude of the smooth multiplicative coil inhomogeneity (0 = none).
    gain: vendor intensity scale (arbitrary units).
    contrast_gain: scales enhancement (contrast dose, injection timing).
    b_high: the high b-value of DWI in s/mm^2.
    blur_voxels: Gaussian point-spread sigma in voxels (lower effective resolution).
    """

    name: str
    field_strength_t: float = 3.0
    noise: float = 0.03
    bias_field: float = 0.1
    gain: float = 1.0
    contrast_gain: float = 1.0
    b_high: float = 800.0
    blur_voxels: float = 0.0


DEFAULT_SITES = (
    ScannerSite("Hospital A (3 T)", 3.0, noise=0.03, bias_field=0.10),
    ScannerSite(
        "Hospital B (1.5 T)",
        1.5,
        noise=0.06,
        bias_field=0.25,
        gain=0.7,
        contrast_gain=0.85,
        b_high=1000.0,
        blur_voxels=0.7,
    ),
    ScannerSite(
        "Hospital C (3 T, other vendor)",
        3.0,
        noise=0.045,
        bias_field=0.35,
        gain=1.4,
        contrast_gain=1.15,
        b_high=800.0,
        blur_voxels=0.35,
    ),
)


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


# --------------------------------------------------------------------------- structural equations


def malignancy_score(margin, kinetic, diffusion_restricted, t2_hyperintense) -> np.ndarray:
    """Concept evidence for malignancy (a weighted sum, higher = more suspicious)."""
    return (
        _MARGIN_WEIGHT[np.asarray(margin)]
        + _KINETIC_WEIGHT[np.asarray(kinetic)]
        + _DIFFUSION_WEIGHT * np.asarray(diffusion_restricted)
        + _T2_HYPERINTENSE_WEIGHT * np.asarray(t2_hyperintense)
    )


def _all_concept_combinations() -> np.ndarray:
    """Every (margin, kinetic, diffusion, t2) combination, shape (36, 4)."""
    grids = np.meshgrid(range(3), range(3), range(2), range(2), indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


@functools.lru_cache(maxsize=32)
def _malignancy_threshold(config: BreastMRIConfig) -> float:
    """Score threshold giving the configured malignant fraction under uniform concepts.

    Concepts are uniform and independent, so the expected malignant fraction is an average
    over the 36 combinations; bisection finds the threshold exactly and deterministically.
    """
    combos = _all_concept_combinations()
    scores = malignancy_score(*combos.T)
    lo, hi = scores.min() - 5, scores.max() + 5
    for _ in range(60):
        mid = (lo + hi) / 2
        frac = _soft_step(scores - mid, config.label_temperature).mean()
        lo, hi = (mid, hi) if frac > config.malignant_fraction else (lo, mid)
    return (lo + hi) / 2


def _soft_step(x: np.ndarray, temperature: float) -> np.ndarray:
    if temperature <= 0:
        return (np.asarray(x) > 0).astype(float)
    return 1 / (1 + np.exp(-np.asarray(x) / temperature))


def malignancy_probability(
    margin, kinetic, diffusion_restricted, t2_hyperintense, config: BreastMRIConfig | None = None
) -> np.ndarray:
    """P(malignant | concepts): the causal mechanism from concepts to diagnosis.

    Concept codes index :data:`MARGINS`, :data:`KINETICS`; the two others are 0/1.
    """
    config = config or BreastMRIConfig()
    score = malignancy_score(margin, kinetic, diffusion_restricted, t2_hyperintense)
    return _soft_step(score - _malignancy_threshold(config), config.label_temperature)


def kinetic_curve(
    kinetic: int, times_min, amplitude: float = 1.5, late_change: float | None = None
) -> np.ndarray:
    """Relative enhancement (S(t) - S0) / S0 of a lesion at ``times_min`` minutes.

    Fast wash-in to an early peak at 2 min, then a delayed phase that keeps rising
    (persistent, type I), stays flat (plateau, type II) or falls (washout, type III); the
    BI-RADS cut-off between them is a 10 % change from the early peak.
    """
    if late_change is None:
        late_change = (0.25, 0.0, -0.25)[kinetic]
    t = np.asarray(times_min, dtype=float)
    wash_in = 1 - np.exp(-t / 0.5)
    early = 1 - np.exp(-2.0 / 0.5)
    late = early * (1 + late_change * np.clip(t - 2.0, 0, None) / 4.0)
    return amplitude * np.where(t <= 2.0, wash_in, late)


# --------------------------------------------------------------------------- the case record


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


# --------------------------------------------------------------------------- rendering


def _sample_concepts(rng: np.random.Generator, fixed: dict | None) -> dict[str, int]:
    concepts = {
        "margin": int(rng.integers(3)),
        "kinetic": int(rng.integers(3)),
        "diffusion_restricted": int(rng.integers(2)),
        "t2_hyperintense": int(rng.integers(2)),
    }
    for name, value in (fixed or {}).items():
        if name not in CONCEPTS:
            raise ValueError(f"unknown concept {name!r}; concepts are {CONCEPTS}")
        upper = 3 if name in ("margin", "kinetic") else 2
        if not 0 <= int(value) < upper:
            raise ValueError(f"concept {name}={value} out of range 0..{upper - 1}")
        concepts[name] = int(value)
    return concepts


def _smooth_field(rng, shape, sigma) -> np.ndarray:
    """Zero-mean, unit-variance smooth random field (texture, bias, lobulation)."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-8)


def _lesion_fraction(rng, coords_mm, centre_mm, radius_mm, margin) -> tuple[np.ndarray, np.ndarray]:
    """Partial-volume lesion occupancy in [0, 1] and the normalised radius rho/R.

    The boundary radius R(u) along direction u is smooth for a circumscribed lesion,
    lobulated for an irregular one, and has tapering spicules for a spiculated one. The edge
    is sharp for a circumscribed lesion and blurred (infiltrative, "indistinct") for the
    others, so the margin is visible even where a 2 mm voxel cannot resolve a spicule.
    Only a box around the lesion is computed (spicules reach < 3 radii); outside it the
    occupancy is 0 and rho/R is large.
    """
    spacing = coords_mm[:, 1, 1, 1] - coords_mm[:, 0, 0, 0]
    centre_vox = np.floor(centre_mm / spacing).astype(int)
    reach = np.ceil(3 * radius_mm / spacing).astype(int)
    box = tuple(
        slice(max(c - r, 0), min(c + r + 1, n))
        for c, r, n in zip(centre_vox, reach, coords_mm.shape[1:], strict=True)
    )
    fraction = np.zeros(coords_mm.shape[1:], dtype=np.float32)
    rel_radius = np.full(coords_mm.shape[1:], 10.0, dtype=np.float32)
    d = coords_mm[(slice(None), *box)] - centre_mm[:, None, None, None]  # (3, z, y, x)
    axes = np.array([rng.uniform(0.8, 1.0), 1.0, rng.uniform(0.75, 1.0)], dtype=np.float32)
    d = d / axes[:, None, None, None]
    dist = np.sqrt((d**2).sum(0)) + 1e-6
    u = d / dist
    wave = np.zeros_like(dist)
    for _ in range(4):
        k = rng.standard_normal(3)
        k /= np.linalg.norm(k)
        wave += np.cos(rng.integers(2, 5) * np.pi * np.tensordot(k, u, 1) + rng.uniform(0, 6.3))
    boundary = 1 + (0.04, 0.25, 0.08)[margin] * wave
    if margin == 2:
        for _ in range(rng.integers(7, 11)):
            v = rng.standard_normal(3)
            v /= np.linalg.norm(v)
            closeness = (np.tensordot(v, u, 1) - 0.93) / 0.07  # 1 on the axis, 0 at ~22 deg
            boundary += rng.uniform(0.9, 1.6) * np.clip(closeness, 0, 1) ** 2
    rho = dist / radius_mm
    edge_mm = (0.4, 1.6, 1.1)[margin]
    fraction[box] = special.expit((boundary - rho) * radius_mm / edge_mm)
    rel_radius[box] = rho / boundary
    return fraction, rel_radius


def _coil_bias_field(rng, coords_mm, extent_mm, strength) -> np.ndarray:
    """Smooth multiplicative receive-coil inhomogeneity: exp(strength * random quadratic)."""
    r = coords_mm / np.asarray(extent_mm, dtype=np.float32)[:, None, None, None] - 0.5
    g, q = rng.standard_normal(3), rng.standard_normal(3)
    field = np.tensordot(g, r, 1) + 2 * np.tensordot(q, r**2 - 1 / 12, 1)
    return np.exp(strength * field / (np.abs(field).max() + 1e-6)).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _voxel_centres_mm(shape, spacing_mm) -> np.ndarray:
    """Coordinates of voxel centres in mm, shape (3, Z, Y, X); shared, read-only."""
    grid = np.indices(shape, dtype=np.float32)
    coords = (grid + 0.5) * np.asarray(spacing_mm, dtype=np.float32)[:, None, None, None]
    coords.flags.writeable = False
    return coords


def _breast_anatomy(rng, coords_mm, extent_mm) -> dict[str, np.ndarray]:
    """Masks of air, fat, fibroglandular tissue and pectoral muscle, each (Z, Y, X) float."""
    _, y, x = coords_mm
    ez, ey, ex = extent_mm
    wall = ey * rng.uniform(0.78, 0.86)  # chest wall depth (posterior = high y)
    half_width = ex * rng.uniform(0.44, 0.5)
    depth = wall * rng.uniform(0.85, 0.97)
    inside = ((x - ex / 2) / half_width) ** 2 + ((y - wall) / depth) ** 2 < 1
    breast = (inside & (y < wall)).astype(np.float32)
    muscle = ((y >= wall) & (y < wall + ey * 0.12)).astype(np.float32)
    density = rng.uniform(0.25, 0.6)  # fibroglandular fraction (BI-RADS density a-d)
    texture = _smooth_field(rng, breast.shape, (0.8, 1.5, 1.5))
    glandular = breast * (texture > np.quantile(texture, 1 - density)).astype(np.float32)
    glandular = ndimage.gaussian_filter(glandular, 0.6)
    fat = np.clip(breast - glandular, 0, 1)
    return {"fat": fat, "glandular": glandular, "muscle": muscle, "body": breast + muscle}


def _rician(rng, signal, sigma) -> np.ndarray:
    """Magnitude of a complex signal with Gaussian noise: MRI's Rician noise."""
    noise = sigma * rng.standard_normal((2, *signal.shape), dtype=np.float32)
    return np.sqrt((signal + noise[0]) ** 2 + noise[1] ** 2)


def _choose_lesion_centre(rng, coords_mm, glandular):
    """A centre inside fibroglandular tissue, far enough from the volume's edges."""
    shape = np.array(glandular.shape)
    margin_vox = np.minimum(np.maximum(2, shape // 4), shape // 2 - 1)
    candidates = np.argwhere(glandular > 0.5)
    inner = np.all((candidates >= margin_vox) & (candidates < shape - margin_vox), axis=1)
    candidates = candidates[inner]
    if len(candidates) == 0:
        idx = shape // 2
    else:
        idx = candidates[rng.integers(len(candidates))]
    return coords_mm[(slice(None), *idx)]


def _render_case(rng, config: BreastMRIConfig, fixed_concepts, fixed_site) -> BreastMRICase:
    concepts = _sample_concepts(rng, fixed_concepts)
    p_malignant = malignancy_probability(**concepts, config=config)
    malignant = int(rng.random() < p_malignant)
    subtype = pcr = NOT_APPLICABLE
    size = 1.0
    radius = rng.uniform(*config.lesion_radius_mm)
    if malignant:
        subtype = int(rng.choice(len(SUBTYPES), p=config.subtype_probs))
        size = _SUBTYPE_SIZE[subtype]
        radius *= size
        logit = _SUBTYPE_PCR_LOGIT[subtype] - (radius - 9.0) / 1.0  # small tumours respond
        pcr = int(rng.random() < 1 / (1 + np.exp(-logit)))
    n_sites = len(config.sites)
    site = fixed_site if fixed_site is not None else int(rng.choice(n_sites, p=config.site_probs))
    scanner = config.sites[site]

    shape = config.shape
    spacing = np.asarray(config.spacing_mm, dtype=float)
    coords = _voxel_centres_mm(tuple(shape), tuple(config.spacing_mm))
    anatomy = _breast_anatomy(rng, coords, np.asarray(shape) * spacing)
    centre = _choose_lesion_centre(rng, coords, anatomy["glandular"])
    lesion, rel_radius = _lesion_fraction(rng, coords, centre, radius, concepts["margin"])
    necrotic = (subtype == 3) & (rel_radius < 0.45)  # triple-negative: central necrosis

    fat, gland, muscle = anatomy["fat"], anatomy["glandular"], anatomy["muscle"]
    background = 1 - lesion

    # DCE: S(t) = S0 (1 + E(t)); lesion kinetics from the concept, subtype sets amplitude,
    # triple-negative cancers enhance at the rim.
    times = np.asarray(config.dce_times_min)
    amplitude = rng.uniform(1.3, 1.9) * (_SUBTYPE_ENHANCEMENT[subtype] if malignant else 1.0)
    late = {0: rng.uniform(0.18, 0.35), 1: rng.uniform(-0.05, 0.05), 2: rng.uniform(-0.35, -0.18)}
    lesion_curve = kinetic_curve(concepts["kinetic"], times, amplitude, late[concepts["kinetic"]])
    bpe = rng.uniform(0.05, 0.35)  # background parenchymal enhancement
    gland_curve = bpe * times / times[-1]
    muscle_curve = 0.3 * (1 - np.exp(-times / 1.5))
    rim = np.where(subtype == 3, 0.35 + 0.65 * np.clip(rel_radius, 0, 1), 1.0)
    rim = np.where(necrotic, 0.1, rim)
    dce = np.empty((len(times), *shape), dtype=np.float32)
    for k, _t in enumerate(times):
        tissue = (
            0.12 * fat + 0.35 * gland * (1 + gland_curve[k]) + 0.4 * muscle * (1 + muscle_curve[k])
        )
        lesion_signal = 0.35 * (1 + scanner.contrast_gain * lesion_curve[k] * rim)
        dce[k] = background * tissue + lesion * lesion_signal

    # T2-weighted (no fat saturation): fat bright, glandular intermediate, muscle dark.
    lesion_t2 = 0.9 if concepts["t2_hyperintense"] else 0.33
    t2 = background * (0.75 * fat + 0.45 * gland + 0.22 * muscle) + lesion * np.where(
        necrotic, 1.0, lesion_t2
    )

    # DWI with fat suppression: S_b = S0 exp(-b ADC), ADC in mm^2/s.
    adc_lesion = (
        rng.uniform(0.8, 1.05) if concepts["diffusion_restricted"] else rng.uniform(1.5, 1.8)
    )
    adc_true = 1e-3 * (
        background * (0.4 * fat + 1.9 * gland + 1.45 * muscle)
        + lesion * np.where(necrotic, 2.2, adc_lesion)
    )
    s0 = background * (0.08 * fat + 0.6 * gland + 0.4 * muscle) + lesion * 0.65
    b_values = (config.b_low, scanner.b_high)
    dwi = np.stack([s0 * np.exp(-b * adc_true) for b in b_values])

    # The scanner: resolution, coil bias field (shared by all sequences), gain, Rician noise.
    strength = config.bias_field_scale * scanner.bias_field
    bias = _coil_bias_field(rng, coords, np.asarray(shape) * spacing, strength)
    noise = config.noise_scale * scanner.noise * 0.4

    def acquire(volumes, noise_sigma):  # (..., Z, Y, X): blur only within each volume
        volumes = np.asarray(volumes, dtype=np.float32)
        if scanner.blur_voxels > 0:
            sigma = (0,) * (volumes.ndim - 3) + (scanner.blur_voxels,) * 3
            volumes = ndimage.gaussian_filter(volumes, sigma)
        return _rician(rng, scanner.gain * bias * volumes, scanner.gain * noise_sigma)

    dce = acquire(dce, noise)
    t2 = acquire(t2, noise)
    dwi = acquire(dwi, 1.5 * noise)
    adc = _adc_map(dwi[0], dwi[1], b_values)

    return BreastMRICase(
        dce=dce.astype(np.float32),
        t2=t2.astype(np.float32),
        dwi=dwi.astype(np.float32),
        adc=adc,
        mask=lesion > 0.5,
        malignant=malignant,
        subtype=subtype,
        pcr=pcr,
        site=site,
        lesion_radius_mm=float(radius),
        b_values=b_values,
        spacing_mm=tuple(config.spacing_mm),
        dce_times_min=tuple(config.dce_times_min),
        **concepts,
    )


def _adc_map(s_low, s_high, b_values) -> np.ndarray:
    """ADC = ln(S_low / S_high) / (b_high - b_low), in 10^-3 mm^2/s; 0 outside the body.

    Derived from the noisy images, as a scanner does, so the coil bias field cancels.
    """
    body = s_low > 0.1 * np.percentile(s_low, 99)
    ratio = np.log(np.maximum(s_low, 1e-6) / np.maximum(s_high, 1e-6))
    adc = 1e3 * ratio / (b_values[1] - b_values[0])
    return np.where(body, np.clip(adc, 0, 3.5), 0).astype(np.float32)


# --------------------------------------------------------------------------- the cohort

_ARRAY_FIELDS = ("dce", "t2", "dwi", "adc", "mask")
_SCALAR_FIELDS = (
    "malignant",
    "subtype",
    "pcr",
    "margin",
    "kinetic",
    "diffusion_restricted",
    "t2_hyperintense",
    "site",
    "lesion_radius_mm",
)


@dataclass
class BreastMRICohort:
    """A stack of cases: image arrays with a leading case axis N, and per-case labels.

    dce (N, P, Z, Y, X), t2 (N, Z, Y, X), dwi (N, 2, Z, Y, X), adc (N, Z, Y, X),
    mask (N, Z, Y, X) bool, and (N,) integer arrays for every label, concept and site.
    ``b_values`` holds each case's (b_low, b_high), shape (N, 2), in s/mm^2.
    """

    dce: np.ndarray
    t2: np.ndarray
    dwi: np.ndarray
    adc: np.ndarray
    mask: np.ndarray
    malignant: np.ndarray
    subtype: np.ndarray
    pcr: np.ndarray
    margin: np.ndarray
    kinetic: np.ndarray
    diffusion_restricted: np.ndarray
    t2_hyperintense: np.ndarray
    site: np.ndarray
    lesion_radius_mm: np.ndarray
    b_values: np.ndarray
    seed: int = 0
    config: BreastMRIConfig = field(default_factory=BreastMRIConfig)

    def __len__(self) -> int:
        return len(self.malignant)

    def labels(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in LABELS}

    def concepts(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in CONCEPTS}

    def case(self, i: int) -> BreastMRICase:
        values = {name: getattr(self, name)[i] for name in _ARRAY_FIELDS}
        values |= {name: getattr(self, name)[i].item() for name in _SCALAR_FIELDS}
        return BreastMRICase(
            **values,
            b_values=tuple(float(b) for b in self.b_values[i]),
            spacing_mm=self.config.spacing_mm,
            dce_times_min=self.config.dce_times_min,
        )

    def subset(self, index) -> BreastMRICohort:
        """Cases selected by an integer index array or a boolean mask."""
        index = np.asarray(index)
        arrays = {f.name: getattr(self, f.name)[index] for f in fields(self) if _is_per_case(f)}
        return replace(self, **arrays)

    def save(self, path: str | Path) -> Path:
        """Write a compressed ``.npz``; reload with :meth:`load`."""
        path = Path(path)
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if _is_per_case(f)}
        np.savez_compressed(path, seed=self.seed, **arrays)
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path, config: BreastMRIConfig | None = None) -> BreastMRICohort:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no breast MRI cohort at {path}")
        try:
            with np.load(path) as data:
                arrays = {name: data[name] for name in data.files}
        except Exception as err:  # zip or pickle errors: say which file
            raise ValueError(f"{path} is not a readable breast MRI cohort (.npz): {err}") from err
        expected = {f.name for f in fields(cls) if _is_per_case(f)}
        if missing := expected - set(arrays):
            raise ValueError(f"{path} lacks fields {sorted(missing)}; was it made by medai-edu?")
        seed = int(arrays.pop("seed", 0))
        return cls(**arrays, seed=seed, config=config or BreastMRIConfig())


def _is_per_case(f) -> bool:
    return f.name not in ("seed", "config")


def make_breast_mri_cohort(
    n: int,
    seed: int = 0,
    config: BreastMRIConfig | None = None,
    *,
    concepts: dict[str, int] | None = None,
    site: int | None = None,
    progress: bool = False,
) -> BreastMRICohort:
    """Generate ``n`` cases, deterministically from ``seed``.

    Case ``i`` depends only on (seed, i), so the first k cases of a cohort of n equal a
    cohort of k. ``concepts`` fixes some concepts for every case (an intervention, e.g.
    ``{"kinetic": 2}``); ``site`` puts every case in one hospital (external validation).
    """
    config = config or BreastMRIConfig()
    if n < 1:
        raise ValueError(f"n must be a positive number of cases, got {n}")
    if site is not None and not 0 <= site < len(config.sites):
        raise ValueError(f"site must be in 0..{len(config.sites) - 1}, got {site}")
    children = np.random.SeedSequence(seed).spawn(n)
    indices = range(n)
    if progress:
        from tqdm.auto import tqdm

        indices = tqdm(indices, desc="breast MRI cases", unit="case")
    cases = [
        _render_case(np.random.default_rng(children[i]), config, concepts, site) for i in indices
    ]
    stacked = {name: np.stack([getattr(c, name) for c in cases]) for name in _ARRAY_FIELDS}
    scalars = {name: np.array([getattr(c, name) for c in cases]) for name in _SCALAR_FIELDS}
    b_values = np.array([c.b_values for c in cases], dtype=np.float32)
    return BreastMRICohort(**stacked, **scalars, b_values=b_values, seed=seed, config=config)


def make_breast_mri_case(seed: int = 0, config: BreastMRIConfig | None = None, **kwargs):
    """A single case (the first of the cohort with this seed)."""
    return make_breast_mri_cohort(1, seed, config, **kwargs).case(0)
