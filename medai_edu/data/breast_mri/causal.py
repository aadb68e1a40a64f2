"""The causal story of a case, before any image: concepts, then diagnosis, subtype and pCR.

The concepts (margin, kinetic curve type, diffusion restriction, T2 signal) are sampled
first; the malignancy follows from them by a structural equation
(:func:`malignancy_probability`); the molecular subtype, the lesion size and the response
to neoadjuvant chemotherapy (pCR) follow for malignant lesions; the hospital is drawn last.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from medai_edu.data.breast_mri.config import BreastMRIConfig
from medai_edu.data.breast_mri.vocabulary import CONCEPTS, NOT_APPLICABLE, SUBTYPES

# Contribution of each concept value to the malignancy score (the structural equation).
_MARGIN_WEIGHT = np.array([0.0, 1.3, 2.0])
_KINETIC_WEIGHT = np.array([0.0, 1.0, 2.0])
_DIFFUSION_WEIGHT = 1.8
_T2_HYPERINTENSE_WEIGHT = -1.0

# Subtype effects on the case: the lesion's size and the chance of pCR (the subtype's
# effects on the image are in the renderer).
_SUBTYPE_SIZE = np.array([0.8, 1.0, 1.05, 1.25])
_SUBTYPE_PCR_LOGIT = np.array([-2.5, -1.2, 1.4, 0.9])


@dataclass(frozen=True)
class CaseTruth:
    """The ground truth of one case, which the renderer turns into images.

    Concept codes index :data:`MARGINS` and :data:`KINETICS`, the two others are 0/1;
    ``subtype`` and ``pcr`` are :data:`NOT_APPLICABLE` for a benign lesion. ``look`` is the
    subtype whose look the lesion has in the images: its own for a cancer, a borrowed one
    for a benign look-alike, :data:`NOT_APPLICABLE` for a benign lesion without one. The
    radius is kept exactly as drawn (a float or a numpy float64), so the images stay
    bit-identical.
    """

    margin: int
    kinetic: int
    diffusion_restricted: int
    t2_hyperintense: int
    malignant: int
    subtype: int
    pcr: int
    site: int
    lesion_radius_mm: float
    look: int = NOT_APPLICABLE

    @property
    def concepts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in CONCEPTS}


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


def pcr_probability(subtype, radius_mm, config: BreastMRIConfig | None = None) -> np.ndarray:
    """P(pCR | subtype, tumour radius in mm) after neoadjuvant chemotherapy.

    With ``config.pcr_rate_by_subtype`` the subtype's rate holds at the reference diameter
    and the logit changes by ``pcr_logit_per_cm`` per cm of diameter; without it, the
    original logits fall by 1 per mm of radius over 9 mm (small tumours respond).
    """
    config = config or BreastMRIConfig()
    subtype, radius_mm = np.asarray(subtype), np.asarray(radius_mm)
    if config.pcr_rate_by_subtype is None:
        logit = _SUBTYPE_PCR_LOGIT[subtype] - (radius_mm - 9.0) / 1.0
    else:
        rate = np.asarray(config.pcr_rate_by_subtype)[subtype]
        size_cm = (2 * radius_mm - config.pcr_reference_diameter_mm) / 10
        logit = np.log(rate / (1 - rate)) + config.pcr_logit_per_cm * size_cm
    return 1 / (1 + np.exp(-logit))


def oracle_auroc(config: BreastMRIConfig | None = None) -> float:
    """The best AUROC for malignancy any model can reach: that of
    :func:`malignancy_probability` on the true concepts, exact (no sampling).

    The concepts are uniform over their 36 combinations; combination i is a malignant case
    with weight p_i and a benign one with weight 1 - p_i. AUROC is the weighted chance that
    a malignant case scores above a benign one, ties counting one half.
    """
    config = config or BreastMRIConfig()
    p = malignancy_probability(*_all_concept_combinations().T, config=config)
    score = np.round(p, 12)  # equal probabilities are ties, whatever the float noise
    above = (score[:, None] > score[None, :]) + 0.5 * (score[:, None] == score[None, :])
    positive, negative = p, 1 - p
    return float(positive @ above @ negative / (positive.sum() * negative.sum()))


def pcr_oracle_auroc(config: BreastMRIConfig | None = None, n: int = 200_000, seed: int = 0):
    """The best pCR AUROC any model can reach in the neoadjuvant cohort: that of
    :func:`pcr_probability` on the true subtype and size, estimated on ``n`` sampled
    tumours (subtype from ``config.subtype_probs``, diameter uniform in
    ``config.neoadjuvant_diameter_mm``); the estimate's standard error is about 0.002."""
    from medai_edu import metrics

    config = config or BreastMRIConfig()
    rng = np.random.default_rng(seed)
    subtype = rng.choice(len(SUBTYPES), size=n, p=config.subtype_probs)
    radius = rng.uniform(*config.neoadjuvant_diameter_mm, size=n) / 2
    p = pcr_probability(subtype, radius, config)
    return float(metrics.auroc((rng.random(n) < p).astype(int), p))


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


def _sample_truth(
    rng: np.random.Generator, config: BreastMRIConfig, fixed_concepts, fixed_site
) -> CaseTruth:
    """Draw one case's truth, in the order of the causal story (the order of the draws
    is part of every seed's meaning: do not change it)."""
    if config.neoadjuvant:
        return _sample_neoadjuvant_truth(rng, config, fixed_concepts, fixed_site)
    concepts = _sample_concepts(rng, fixed_concepts)
    p_malignant = malignancy_probability(**concepts, config=config)
    malignant = int(rng.random() < p_malignant)
    subtype = pcr = look = NOT_APPLICABLE
    radius = rng.uniform(*config.lesion_radius_mm)
    if malignant:
        subtype = look = int(rng.choice(len(SUBTYPES), p=config.subtype_probs))
        radius *= _SUBTYPE_SIZE[subtype]
        pcr = int(rng.random() < pcr_probability(subtype, radius, config))
    elif config.look_alikes:  # the same looks and sizes as the cancers, by the same draw
        look = int(rng.choice(len(SUBTYPES), p=config.subtype_probs))
        radius *= _SUBTYPE_SIZE[look]
    n_sites = len(config.sites)
    site = fixed_site if fixed_site is not None else int(rng.choice(n_sites, p=config.site_probs))
    return CaseTruth(
        **concepts,
        malignant=malignant,
        subtype=subtype,
        pcr=pcr,
        site=site,
        lesion_radius_mm=radius,
        look=look,
    )


def _sample_neoadjuvant_truth(
    rng: np.random.Generator, config: BreastMRIConfig, fixed_concepts, fixed_site
) -> CaseTruth:
    """A malignant tumour treated by neoadjuvant chemotherapy: concepts drawn given
    malignancy (rejection), diameter in ``config.neoadjuvant_diameter_mm``, then subtype,
    pCR and hospital."""
    for _ in range(10_000):
        concepts = _sample_concepts(rng, fixed_concepts)
        if rng.random() < malignancy_probability(**concepts, config=config):
            break
    else:
        raise ValueError(f"concepts {fixed_concepts} are (almost) never malignant")
    radius = rng.uniform(*config.neoadjuvant_diameter_mm) / 2
    subtype = int(rng.choice(len(SUBTYPES), p=config.subtype_probs))
    pcr = int(rng.random() < pcr_probability(subtype, radius, config))
    n_sites = len(config.sites)
    site = fixed_site if fixed_site is not None else int(rng.choice(n_sites, p=config.site_probs))
    return CaseTruth(
        **concepts,
        malignant=1,
        subtype=subtype,
        pcr=pcr,
        site=site,
        lesion_radius_mm=radius,
        look=subtype,
    )
