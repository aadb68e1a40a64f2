"""The patient: tumour type, grade, clinical concepts, survival, genes and report.

The concepts are drawn first and cause everything else: the grade follows from three of
them by a Nottingham-style rule, and they set the hazard of death, the pathway activity
of the genes and the wording of the report. :func:`sample_case` draws all of it from one
seed, without rendering an image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.pathology.genes import _sample_genes, pathway_scores
from medai_edu.data.pathology.report import write_report
from medai_edu.data.pathology.seeding import _child_rngs
from medai_edu.data.pathology.survival import _sample_survival, log_hazard_ratio
from medai_edu.data.pathology.vocabulary import (
    ADENO,
    GRADES,
    SMALL_CELL,
    SQUAMOUS,
    TUMOUR_TYPES,
)


@dataclass(frozen=True)
class PathologyCase:
    """One patient: labels, concepts, report and gene expression, without the image.

    ``concepts["tumour_fraction"]`` here is the fraction the slide is drawn to have;
    :func:`make_slide` replaces it by the fraction measured on the rendered region mask.
    """

    case_id: str
    seed: int
    tumour_type: int
    grade: int
    survival_months: float
    event: int
    concepts: dict[str, float]
    report: str
    genes: np.ndarray  # (G,) float32, log2 expression in GENE_NAMES order

    @property
    def tumour_type_name(self) -> str:
        return TUMOUR_TYPES[self.tumour_type]


def _resolve_tumour_type(tumour_type: int | str | None, rng: np.random.Generator) -> int:
    if tumour_type is None:
        return int(rng.integers(len(TUMOUR_TYPES)))
    if isinstance(tumour_type, str):
        if tumour_type.lower() not in TUMOUR_TYPES:
            raise ValueError(f"unknown tumour type {tumour_type!r}; choose from {TUMOUR_TYPES}")
        return TUMOUR_TYPES.index(tumour_type.lower())
    if isinstance(tumour_type, bool) or int(tumour_type) not in range(len(TUMOUR_TYPES)):
        raise ValueError(
            f"tumour_type must be an index 0-{len(TUMOUR_TYPES) - 1} or one of "
            f"{TUMOUR_TYPES}, got {tumour_type!r}"
        )
    return int(tumour_type)


def _resolve_grade(grade: int | None, rng: np.random.Generator) -> int:
    if grade is None:
        return int(rng.integers(1, 4))
    if isinstance(grade, bool) or grade not in GRADES:
        raise ValueError(f"grade must be 1, 2 or 3, got {grade!r}")
    return int(grade)


def grade_from_concepts(architecture: int, pleomorphism: int, mitoses: int) -> int:
    """Grade a carcinoma from three scores, the way the Nottingham system grades breast cancer.

    Each score is 0, 1 or 2; their sum 0-2 is grade 1, 3-4 grade 2 and 5-6 grade 3.
    """
    total = architecture + pleomorphism + mitoses
    return 1 if total <= 2 else 2 if total <= 4 else 3


def _sample_grading_scores(
    rng: np.random.Generator, tumour_type: int, grade: int
) -> tuple[int, int, int]:
    """Draw (architecture, pleomorphism, mitoses) scores that add up to ``grade``.

    Score triples close to "every score equals grade - 1" are preferred, so a grade-3
    tumour usually scores high on all three. Small cell carcinoma never forms glands or
    pearls, so its architecture score is always 2.
    """
    triples = [
        (a, p, m)
        for a in range(3)
        for p in range(3)
        for m in range(3)
        if grade_from_concepts(a, p, m) == grade and (tumour_type != SMALL_CELL or a == 2)
    ]
    distance = np.array([sum((s - (grade - 1)) ** 2 for s in t) for t in triples], float)
    weights = np.exp(-distance / 1.5)
    return triples[rng.choice(len(triples), p=weights / weights.sum())]


def _sample_concepts(rng: np.random.Generator, tumour_type: int, grade: int) -> dict[str, float]:
    """Draw the clinical concepts of a case of known type and grade."""
    architecture, pleomorphism, mitoses = _sample_grading_scores(rng, tumour_type, grade)
    mitoses_range = {0: (0, 5), 1: (5, 11), 2: (11, 41)}[mitoses]
    # Necrosis comes with fast growth: common at grade 3 and in small cell carcinoma.
    p_necrosis = {1: 0.05, 2: 0.3, 3: 0.75}[grade] + (0.15 if tumour_type == SMALL_CELL else 0.0)
    return {
        "architecture_score": architecture,
        "nuclear_pleomorphism": pleomorphism,
        "mitotic_count": mitoses,
        "mitoses_per_2mm2": int(rng.integers(*mitoses_range)),
        "gland_formation": int(tumour_type == ADENO and architecture < 2),
        "keratinisation": int(tumour_type == SQUAMOUS and architecture < 2),
        "necrosis": int(rng.random() < p_necrosis),
        "lymphocytic_infiltrate": int(rng.choice(3, p=[0.35, 0.4, 0.25])),
        "tumour_fraction": round(float(rng.uniform(0.25, 0.7)), 4),
    }


def sample_case(
    seed: int, tumour_type: int | str | None = None, grade: int | None = None
) -> PathologyCase:
    """Draw one patient (labels, concepts, survival, genes, report) without rendering a slide.

    Fast (well under a millisecond), so survival and gene exercises can use thousands of
    cases. :func:`make_slide` with the same arguments describes the same patient.

    Parameters
    ----------
    seed : int
        Non-negative integer; the same seed gives the same case.
    tumour_type : int or str, optional
        Index into or name from :data:`TUMOUR_TYPES`; drawn uniformly when omitted.
    grade : int, optional
        1, 2 or 3; drawn uniformly when omitted.

    Raises
    ------
    ValueError
        For a negative seed, an unknown tumour type or a grade outside 1-3.
    """
    rngs = _child_rngs(seed)
    tumour_type = _resolve_tumour_type(tumour_type, rngs["labels"])
    grade = _resolve_grade(grade, rngs["labels"])
    concepts = _sample_concepts(rngs["concepts"], tumour_type, grade)
    lp = log_hazard_ratio(tumour_type, grade, concepts)
    months, event = _sample_survival(rngs["survival"], lp)
    genes = _sample_genes(
        rngs["genes"], pathway_scores(rngs["genes"], tumour_type, grade, concepts)
    )
    case_id = f"SYN-{seed:010d}"
    report = write_report(case_id, tumour_type, grade, concepts, seed=seed)
    return PathologyCase(case_id, seed, tumour_type, grade, months, event, concepts, report, genes)
