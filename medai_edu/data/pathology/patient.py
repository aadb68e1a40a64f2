"""The patient: tumour type, grade, clinical concepts, stage, markers, survival, genes, report.

By default (:class:`CaseConfig`) each tumour type is graded the way pathologists grade it:

* adenocarcinoma by its predominant growth pattern, IASLC style (Moreira et al., J Thorac
  Oncol 2020;15:1599): lepidic or well-formed glands grade 1, acinar and papillary with
  some solid nests grade 2, a solid (high-grade) pattern grade 3. The painter draws the
  lepidic pattern as well-formed open glands, a simplification;
* squamous cell carcinoma by keratinisation (WHO 2021): abundant keratin pearls well,
  focal keratinisation moderately, none poorly differentiated;
* small cell carcinoma is high grade by definition (WHO 2021): grade 3, more than 10
  mitoses per 2 mm² (median about 60), Ki-67 in most nuclei.

Pleomorphism and mitoses follow the grade loosely; necrosis is commoner at high grade.
The lymphocytic infiltrate is drawn independently of grade and the TNM stage (size,
nodes, metastasis) from size and grade, so both carry prognosis that the grade does not.
:meth:`CaseConfig.original` keeps the first generator (a Nottingham-style sum of three
scores for every type). :func:`sample_case` draws all of it from one seed, without
rendering an image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.pathology.config import CaseConfig
from medai_edu.data.pathology.genes import _sample_genes, pathway_scores
from medai_edu.data.pathology.markers import _sample_markers
from medai_edu.data.pathology.report import write_report
from medai_edu.data.pathology.seeding import _child_rngs
from medai_edu.data.pathology.staging import _sample_stage
from medai_edu.data.pathology.survival import (
    _STAGE_LOG_HAZARD,
    _sample_survival,
    log_hazard_ratio,
)
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
    ``stage`` is 1-4 (0 when the case was drawn without staging); ``staging`` holds the
    tumour size in cm, the nodal category N0-N3 and metastasis M0/M1; ``markers`` the
    immunohistochemistry (1 positive, 0 negative; ``"Ki-67"`` the labelled fraction).
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
    stage: int = 0
    staging: dict[str, float] | None = None
    markers: dict[str, float] | None = None

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


def _resolve_grade(
    grade: int | None, rng: np.random.Generator, tumour_type: int, per_type: bool
) -> int:
    if grade is None:
        drawn = int(rng.integers(1, 4))
        return 3 if per_type and tumour_type == SMALL_CELL else drawn
    if isinstance(grade, bool) or grade not in GRADES:
        raise ValueError(f"grade must be 1, 2 or 3, got {grade!r}")
    if per_type and tumour_type == SMALL_CELL and grade != 3:
        raise ValueError(
            f"small cell carcinoma is high grade by definition: grade must be 3, got {grade!r} "
            "(CaseConfig.original() grades it like the other types)"
        )
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


def _score_near(rng: np.random.Generator, centre: float, spread: float = 0.8) -> int:
    """A 0-2 score, most likely the one nearest ``centre``."""
    weights = np.exp(-((np.arange(3) - centre) ** 2) / spread)
    return int(rng.choice(3, p=weights / weights.sum()))


def _sample_concepts_per_type(
    rng: np.random.Generator, tumour_type: int, grade: int, small_foci_share: float
) -> dict[str, float]:
    """Draw the concepts of a case graded the way its type is graded (module docstring)."""
    if tumour_type == SMALL_CELL:
        architecture, pleomorphism, mitotic = 2, _score_near(rng, 1.0), 2
        per_2mm2 = int(rng.integers(30, 121))
        p_necrosis = 0.8
    else:
        # The pattern (adenocarcinoma) or keratinisation (squamous) is the grade.
        architecture = grade - 1
        pleomorphism, mitotic = _score_near(rng, grade - 1), _score_near(rng, grade - 1)
        per_2mm2 = int(rng.integers(*{0: (0, 5), 1: (5, 11), 2: (11, 41)}[mitotic]))
        p_necrosis = {1: 0.05, 2: 0.25, 3: 0.6}[grade]
    small_focus = rng.random() < small_foci_share
    fraction = rng.uniform(0.01, 0.04) if small_focus else rng.uniform(0.15, 0.7)
    return {
        "architecture_score": architecture,
        "nuclear_pleomorphism": pleomorphism,
        "mitotic_count": mitotic,
        "mitoses_per_2mm2": per_2mm2,
        "gland_formation": int(tumour_type == ADENO and architecture < 2),
        "keratinisation": int(tumour_type == SQUAMOUS and architecture < 2),
        "necrosis": int(rng.random() < p_necrosis),
        "lymphocytic_infiltrate": int(rng.choice(3, p=[0.35, 0.4, 0.25])),
        "tumour_fraction": round(float(fraction), 4),
    }


def sample_case(
    seed: int,
    tumour_type: int | str | None = None,
    grade: int | None = None,
    cases: CaseConfig | None = None,
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
        1, 2 or 3; drawn uniformly when omitted (small cell carcinoma: always 3, unless
        ``cases`` is :meth:`CaseConfig.original`).
    cases : CaseConfig, optional
        How the case is drawn; the realistic default when omitted.

    Raises
    ------
    ValueError
        For a negative seed, an unknown tumour type, a grade outside 1-3, or a small cell
        carcinoma of grade 1 or 2 under per-type grading.
    """
    cases = CaseConfig() if cases is None else cases
    if not isinstance(cases, CaseConfig):
        raise ValueError(f"cases must be a CaseConfig, got {type(cases).__name__}")
    rngs = _child_rngs(seed)
    per_type = cases.grading == "per_type"
    tumour_type = _resolve_tumour_type(tumour_type, rngs["labels"])
    grade = _resolve_grade(grade, rngs["labels"], tumour_type, per_type)
    if per_type:
        concepts = _sample_concepts_per_type(
            rngs["concepts"], tumour_type, grade, cases.small_foci_share
        )
    else:
        concepts = _sample_concepts(rngs["concepts"], tumour_type, grade)
    staging = _sample_stage(rngs["stage"], tumour_type, grade) if cases.staging else None
    stage = int(staging["stage"]) if staging else 0
    lp = log_hazard_ratio(tumour_type, grade, concepts, stage or None)
    months, event = _sample_survival(rngs["survival"], lp, staged=bool(stage))
    markers = None
    if cases.markers == "lineage":
        markers = _sample_markers(rngs["markers"], tumour_type, concepts)
    genes = _sample_genes(
        rngs["genes"], pathway_scores(rngs["genes"], tumour_type, grade, concepts), markers
    )
    case_id = f"SYN-{seed:010d}"
    report = write_report(
        case_id, tumour_type, grade, concepts, seed=seed, style=cases.report, markers=markers
    )
    return PathologyCase(
        case_id,
        seed,
        tumour_type,
        grade,
        months,
        event,
        concepts,
        report,
        genes,
        stage,
        staging,
        markers,
    )


def survival_oracle_cindex(
    n: int = 4000, seed: int = 0, cases: CaseConfig | None = None
) -> dict[str, float]:
    """The ceiling a survival model can reach on these data: Harrell's C of the true
    linear predictor on ``n`` cases drawn with ``sample_case`` (and of its parts).

    Returns {"oracle": C of the whole linear predictor, "stage_only": C of the stage term
    alone, "slide_only": C of everything but the stage (what a slide can show at best)}.
    """
    # Imported here: the grader hides medai_edu.metrics from some assignments' runs, and
    # their set-up cells import medai_edu.data.
    from medai_edu import metrics

    drawn = [sample_case(seed * 1_000_003 + i, cases=cases) for i in range(n)]
    months = np.array([c.survival_months for c in drawn])
    event = np.array([c.event for c in drawn])
    full = np.array([log_hazard_ratio(c.tumour_type, c.grade, c.concepts, c.stage or None)
                     for c in drawn])  # fmt: skip
    stage = np.array([_STAGE_LOG_HAZARD[c.stage - 1] if c.stage else 0.0 for c in drawn])
    out = {"oracle": metrics.concordance_index(full, event, months)}
    if stage.any():
        out["stage_only"] = metrics.concordance_index(stage, event, months)
        out["slide_only"] = metrics.concordance_index(full - stage, event, months)
    return out
