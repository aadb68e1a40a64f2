"""Synthetic whole-slide pathology: H&E slides, reports, gene expression and outcomes.

Every case is drawn from one seed and carries the ground truth that real data never has:

* **clinical concepts** (architecture, nuclear pleomorphism, mitoses, necrosis, lymphocytic
  infiltrate, tumour fraction) that *cause* everything else: the grade is computed from
  them by a Nottingham-style rule, they shape the picture, they move the pathways of the
  gene-expression vector and the hazard of the survival time;
* a **region mask** per pixel (background, stroma, tumour, necrosis, lymphocytes);
* a **pathology report** written from the same concepts.

The three tumour types are the three commonest lung carcinomas and look different under the
microscope: adenocarcinoma forms glands with open lumina; squamous cell carcinoma forms nests
of large pink cells with keratin pearls; small cell carcinoma forms sheets of small, dark,
moulded nuclei with scant cytoplasm.

The image is painted as two stain concentration maps (haematoxylin: blue-purple, binds
nuclei; eosin: pink, binds cytoplasm and collagen) and turned into RGB with the
Beer-Lambert law and reference stain vectors, perturbed per slide to imitate different
laboratories; ``skimage.color.rgb2hed`` separates the stains again. Everything random
comes from ``np.random.default_rng`` generators derived from the seed; there is no global
random state.

Main entry points: :func:`make_slide`, :func:`write_slide`, :func:`make_slide_cohort`,
:class:`SlideCohort`, :func:`sample_case`, :func:`cut_tiles`, :class:`TileDataset`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage as ndi
from tqdm.auto import tqdm

from medai_edu.data.pyramid import write_pyramid_tiff

# ----------------------------------------------------------------------------------------
# Vocabulary
# ----------------------------------------------------------------------------------------

TUMOUR_TYPES = ("adenocarcinoma", "squamous cell carcinoma", "small cell carcinoma")
ADENO, SQUAMOUS, SMALL_CELL = 0, 1, 2
GRADES = (1, 2, 3)
REGION_CLASSES = ("background", "stroma", "tumour", "necrosis", "lymphocytes")
BACKGROUND, STROMA, TUMOUR, NECROSIS, LYMPHOCYTES = range(5)

#: Concepts stored with every case (all numeric, so a concept-bottleneck model can predict
#: them). Scores 0-2 read "low / intermediate / high"; flags are 0/1.
CONCEPT_NAMES = (
    "architecture_score",  # 0 mostly glands or keratin pearls, 1 partly, 2 solid sheets
    "nuclear_pleomorphism",  # 0 mild, 1 moderate, 2 marked
    "mitotic_count",  # 0 low, 1 intermediate, 2 high
    "mitoses_per_2mm2",  # the count a pathologist would write down
    "gland_formation",  # 1 if glands with lumina are seen (adenocarcinoma only)
    "keratinisation",  # 1 if keratin pearls are seen (squamous cell carcinoma only)
    "necrosis",  # 1 if tumour necrosis is present
    "lymphocytic_infiltrate",  # 0 minimal, 1 moderate, 2 marked
    "tumour_fraction",  # viable tumour area / tissue area, measured on the region mask
)

#: Gene symbols grouped by the biological programme that drives them.
PATHWAYS: dict[str, tuple[str, ...]] = {
    "proliferation": ("MKI67", "TOP2A", "CCNB1", "CDK1", "BIRC5", "AURKA", "MCM2", "PCNA", "BUB1"),
    "glandular": ("NKX2-1", "NAPSA", "SFTPB", "SFTPC", "MUC1", "KRT7", "CLDN18"),
    "squamous": ("KRT5", "KRT6A", "TP63", "SOX2", "DSG3", "KRT14", "SPRR1B", "PKP1"),
    "neuroendocrine": ("CHGA", "SYP", "INSM1", "ASCL1", "NCAM1", "ENO2", "DLL3"),
    "immune": ("PTPRC", "CD3E", "CD8A", "GZMB", "PRF1", "MS4A1", "CXCL13"),
    "hypoxia": ("CA9", "VEGFA", "SLC2A1", "LDHA", "PGK1", "ADM", "NDRG1"),
    "housekeeping": ("ACTB", "GAPDH", "RPLP0", "TBP", "HPRT1", "PPIA"),
}
GENE_NAMES: tuple[str, ...] = tuple(g for genes in PATHWAYS.values() for g in genes)
_PATHWAY_OF_GENE = np.array(
    [list(PATHWAYS).index(p) for p, genes in PATHWAYS.items() for _ in genes]
)

# Fixed per-gene constants (the same for every case): baseline log2 expression and how
# strongly each gene follows its pathway. Housekeeping genes are high and flat.
_GENE_CONSTANTS = np.random.default_rng(20260101)
_GENE_BASELINE = np.where(
    _PATHWAY_OF_GENE == list(PATHWAYS).index("housekeeping"),
    _GENE_CONSTANTS.uniform(9.0, 12.0, len(GENE_NAMES)),
    _GENE_CONSTANTS.uniform(2.5, 6.0, len(GENE_NAMES)),
).astype(np.float32)
_GENE_LOADING = _GENE_CONSTANTS.uniform(0.7, 1.3, len(GENE_NAMES)).astype(np.float32)
del _GENE_CONSTANTS


# ----------------------------------------------------------------------------------------
# Data classes
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlideConfig:
    """How a slide image is rendered (the case itself depends only on the seed).

    Attributes
    ----------
    width, height : int
        Level-0 size in pixels. The default, 2048 x 1536 at 0.5 µm/px, is a 1.0 x 0.8 mm
        field, about the size of a core biopsy fragment.
    mpp : float
        Microns per pixel at level 0 (0.5 = a "20x" scan). Morphology is specified in
        microns, so a finer mpp draws the same tissue with more pixels.
    stain_variation : float
        0 gives every slide the same stain; 1 varies stain vectors, stain amounts and the
        scanner's white point as much as between typical laboratories.
    tissue_coverage : tuple of float
        Range of the fraction of the slide covered by tissue.
    """

    width: int = 2048
    height: int = 1536
    mpp: float = 0.5
    stain_variation: float = 1.0
    tissue_coverage: tuple[float, float] = (0.55, 0.75)

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 64:
                raise ValueError(f"SlideConfig.{name} must be an integer >= 64, got {value!r}")
        if not 0.1 <= self.mpp <= 4.0:
            raise ValueError(f"SlideConfig.mpp must be in [0.1, 4] µm/px, got {self.mpp!r}")
        if not 0.0 <= self.stain_variation <= 3.0:
            raise ValueError(
                f"SlideConfig.stain_variation must be in [0, 3], got {self.stain_variation!r}"
            )
        low, high = self.tissue_coverage
        if not 0.05 <= low <= high <= 0.95:
            raise ValueError(
                f"SlideConfig.tissue_coverage must satisfy 0.05 <= low <= high <= 0.95, "
                f"got {self.tissue_coverage!r}"
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


@dataclass
class SyntheticSlide:
    """A rendered slide with every label and all of its ground truth.

    Attributes
    ----------
    slide_id : str
    seed : int
    image : np.ndarray, shape (H, W, 3), uint8
        Level-0 RGB pixels.
    region_mask : np.ndarray, shape (H, W), uint8
        Index into :data:`REGION_CLASSES` for every level-0 pixel.
    tumour_type : int
        Index into :data:`TUMOUR_TYPES`.
    grade : int
        1, 2 or 3, computed from the concepts by :func:`grade_from_concepts`.
    survival_months : float
        Time to death (``event == 1``) or to the last follow-up (``event == 0``, censored).
    event : int
    concepts : dict of str to float
        See :data:`CONCEPT_NAMES`.
    report : str
        The pathology report.
    genes : np.ndarray, shape (G,), float32
        log2 expression, in :data:`GENE_NAMES` order.
    mpp : float
        Microns per pixel at level 0.
    stain_matrix : np.ndarray, shape (2, 3), float32
        This slide's unit optical-density vectors of haematoxylin and eosin (rows), the
        ground truth for stain-separation and normalisation exercises.
    """

    slide_id: str
    seed: int
    image: np.ndarray
    region_mask: np.ndarray
    tumour_type: int
    grade: int
    survival_months: float
    event: int
    concepts: dict[str, float]
    report: str
    genes: np.ndarray
    mpp: float
    stain_matrix: np.ndarray = field(repr=False)

    @property
    def tumour_type_name(self) -> str:
        return TUMOUR_TYPES[self.tumour_type]

    @property
    def labels(self) -> dict[str, float]:
        """The prediction targets as one dictionary."""
        return {
            "tumour_type": self.tumour_type,
            "grade": self.grade,
            "survival_months": self.survival_months,
            "event": self.event,
        }


# ----------------------------------------------------------------------------------------
# The case: concepts -> grade, survival, genes, report
# ----------------------------------------------------------------------------------------


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


# Weibull proportional-hazards model of overall survival, in months.
_WEIBULL_SHAPE = 1.3
_MEDIAN_SURVIVAL_MONTHS = 48.0  # for a grade-2 adenocarcinoma without risk factors
_TYPE_LOG_HAZARD = (0.0, 0.2, 0.8)  # adenocarcinoma, squamous, small cell
_FOLLOW_UP_MONTHS = (12.0, 96.0)  # administrative censoring: end of study


def log_hazard_ratio(tumour_type: int, grade: int, concepts: dict[str, float]) -> float:
    """The true linear predictor of the survival model (higher = dies sooner).

    ``0.7 per grade step + type effect + 0.45 if necrosis - 0.35 per infiltrate step``: a
    brisk lymphocytic infiltrate is protective, as in many real carcinomas.
    """
    return (
        0.7 * (grade - 2)
        + _TYPE_LOG_HAZARD[tumour_type]
        + 0.45 * concepts["necrosis"]
        - 0.35 * (concepts["lymphocytic_infiltrate"] - 1)
    )


def _sample_survival(rng: np.random.Generator, log_hazard: float) -> tuple[float, int]:
    """Draw (months, event) from the Weibull model, censored at the end of follow-up.

    Inverting the Weibull survival function S(t) = exp(-(t / scale)^k * exp(lp)) at a
    uniform U gives t = scale * (-ln U / exp(lp))^(1 / k).
    """
    scale = _MEDIAN_SURVIVAL_MONTHS / np.log(2.0) ** (1.0 / _WEIBULL_SHAPE)
    death = scale * (-np.log(rng.random()) / np.exp(log_hazard)) ** (1.0 / _WEIBULL_SHAPE)
    follow_up = rng.uniform(*_FOLLOW_UP_MONTHS)
    months = max(0.1, round(float(min(death, follow_up)), 1))
    return months, int(death <= follow_up)


def pathway_scores(
    rng: np.random.Generator, tumour_type: int, grade: int, concepts: dict[str, float]
) -> dict[str, float]:
    """Latent activity of each pathway (log2 units above baseline) for one tumour.

    Proliferation follows mitoses and pleomorphism; each type switches on its lineage
    programme (poor differentiation dims it); the immune programme follows the lymphocytic
    infiltrate seen in the slide; hypoxia follows necrosis.
    """
    differentiation_loss = 0.3 * concepts["architecture_score"]
    noise = rng.normal(0.0, 0.35, len(PATHWAYS))
    return {
        "proliferation": 0.8 * concepts["mitotic_count"]
        + 0.4 * concepts["nuclear_pleomorphism"]
        + 0.4 * (tumour_type == SMALL_CELL)
        + noise[0],
        "glandular": (2.5 - differentiation_loss) * (tumour_type == ADENO) + noise[1],
        "squamous": (2.5 - differentiation_loss) * (tumour_type == SQUAMOUS) + noise[2],
        "neuroendocrine": 2.5 * (tumour_type == SMALL_CELL) + noise[3],
        "immune": 1.1 * concepts["lymphocytic_infiltrate"] + noise[4],
        "hypoxia": 1.3 * concepts["necrosis"] + 0.2 * (grade - 1) + noise[5],
        "housekeeping": 0.0,
    }


def _sample_genes(rng: np.random.Generator, scores: dict[str, float]) -> np.ndarray:
    """log2 expression = baseline + loading * pathway score + sample offset + gene noise.

    Returns an array of shape (G,) float32 in :data:`GENE_NAMES` order. The sample offset
    (library size, RNA quality) moves every gene, housekeeping genes included, which is why
    real pipelines normalise to housekeeping genes.
    """
    score = np.array([scores[p] for p in PATHWAYS], np.float32)[_PATHWAY_OF_GENE]
    offset = rng.normal(0.0, 0.2)
    gene_noise = rng.normal(0.0, 0.35, len(GENE_NAMES))
    expression = _GENE_BASELINE + _GENE_LOADING * score + offset + gene_noise
    return np.clip(expression, 0.0, None).astype(np.float32)


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


def _child_rngs(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per part of a case, so e.g. changing the image size never
    changes the report."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    parts = ("labels", "concepts", "survival", "genes", "report", "image")
    children = np.random.SeedSequence(int(seed)).spawn(len(parts))
    return {part: np.random.default_rng(child) for part, child in zip(parts, children, strict=True)}


# ----------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------

_SITES = (
    "right upper lobe",
    "right middle lobe",
    "right lower lobe",
    "left upper lobe",
    "left lower lobe",
)
_PROCEDURES = ("core needle biopsy", "transbronchial biopsy", "wedge resection")
_HISTORIES = (
    "Lung mass on CT; rule out malignancy.",
    "Smoker with a spiculated pulmonary nodule.",
    "PET-avid lung lesion.",
    "Enlarging pulmonary mass.",
)
_DIFFERENTIATION = {
    1: "well differentiated",
    2: "moderately differentiated",
    3: "poorly differentiated",
}
_PLEOMORPHISM_WORDS = (("mild",), ("moderate",), ("marked", "severe"))
_INFILTRATE_WORDS = (("minimal", "sparse"), ("moderate",), ("marked", "dense", "brisk"))
_ARCHITECTURE = {
    ADENO: (
        "well-formed malignant glands with open lumina in a desmoplastic stroma",
        "malignant glands admixed with solid nests of tumour cells",
        "solid sheets of tumour cells without gland formation",
    ),
    SQUAMOUS: (
        "nests of large polygonal cells with eosinophilic cytoplasm, intercellular bridges "
        "and abundant keratin pearls",
        "nests of polygonal cells with eosinophilic cytoplasm and focal keratin pearl formation",
        "solid sheets of polygonal cells without keratinisation",
    ),
    SMALL_CELL: (
        "",
        "",
        "sheets of small round to oval cells with scant cytoplasm, finely granular "
        "('salt and pepper') chromatin, inconspicuous nucleoli and nuclear moulding",
    ),
}
_IMMUNOHISTOCHEMISTRY = {
    ADENO: "Tumour cells are positive for TTF-1 and napsin A and negative for p40.",
    SQUAMOUS: "Tumour cells are positive for p40 and CK5/6 and negative for TTF-1.",
    SMALL_CELL: "Tumour cells are positive for synaptophysin, chromogranin and INSM1; "
    "Ki-67 labels most tumour nuclei.",
}


def _diagnosis_line(tumour_type: int, grade: int) -> str:
    if tumour_type == SMALL_CELL:
        # Real small cell carcinoma is high grade by definition; this teaching set grades
        # it anyway (see the dataset card), and calls it a nuclear grade.
        return f"Small cell carcinoma, nuclear grade {grade} of 3"
    name = "Invasive adenocarcinoma" if tumour_type == ADENO else "Squamous cell carcinoma"
    return f"{name}, {_DIFFERENTIATION[grade]} (grade {grade})"


def write_report(
    case_id: str, tumour_type: int, grade: int, concepts: dict[str, float], seed: int
) -> str:
    """Write a brief surgical pathology report that states the case's concepts.

    The wording (synonyms, order of the microscopic findings, optional immunohistochemistry
    line) varies with ``seed``; the facts never do.

    Returns
    -------
    str
        Several lines: header, specimen, clinical history, microscopic description, diagnosis.
    """
    rng = _child_rngs(seed)["report"]

    def pick(options):
        return options[int(rng.integers(len(options)))]

    site, procedure = pick(_SITES), pick(_PROCEDURES)
    pleo = pick(_PLEOMORPHISM_WORDS[int(concepts["nuclear_pleomorphism"])])
    infiltrate = pick(_INFILTRATE_WORDS[int(concepts["lymphocytic_infiltrate"])])
    percent = int(5 * round(100 * concepts["tumour_fraction"] / 5))
    mitoses = int(concepts["mitoses_per_2mm2"])
    architecture = _ARCHITECTURE[tumour_type][int(concepts["architecture_score"])]
    findings = [
        f"Nuclei show {pleo} pleomorphism.",
        pick((f"Mitotic count: {mitoses} per 2 mm².", f"There are {mitoses} mitoses per 2 mm².")),
        pick(("Tumour necrosis is present.", "Foci of tumour necrosis are seen."))
        if concepts["necrosis"]
        else pick(("No tumour necrosis is identified.", "Necrosis is absent.")),
        f"There is a {infiltrate} lymphocytic infiltrate"
        + pick((" at the tumour-stroma interface.", " around and within the tumour.")),
        pick(
            (
                f"Viable tumour occupies approximately {percent}% of the tissue.",
                f"Tumour cellularity is estimated at {percent}% of the tissue.",
            )
        ),
    ]
    order = rng.permutation(len(findings))
    lines = [
        pick(("SURGICAL PATHOLOGY REPORT", "PATHOLOGY REPORT", "HISTOPATHOLOGY REPORT")),
        f"Case: {case_id}",
        f"Specimen: Lung, {site}, {procedure}.",
        f"Clinical history: {pick(_HISTORIES)}",
        "",
        "Microscopic description:",
        pick(("Sections show an infiltrating carcinoma composed of ", "The tumour consists of "))
        + architecture
        + ". "
        + " ".join(findings[i] for i in order),
    ]
    if rng.random() < 0.5:
        lines.append(_IMMUNOHISTOCHEMISTRY[tumour_type])
    lines += [
        "",
        "Diagnosis:",
        f"Lung, {site}, {procedure}: {_diagnosis_line(tumour_type, grade)}.",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# Rendering helpers: smooth random fields, point patterns, blobs
# ----------------------------------------------------------------------------------------


def _upsample_linear(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a 2-D array to ``shape``, one axis at a time."""
    for axis, n_out in enumerate(shape):
        n_in = image.shape[axis]
        position = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(position).astype(np.intp)
        high = np.minimum(low + 1, n_in - 1)
        weight = (position - low).astype(np.float32)
        weight = weight[:, None] if axis == 0 else weight[None, :]
        first, second = np.take(image, low, axis=axis), np.take(image, high, axis=axis)
        image = first + weight * (second - first)
    return image


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian-filtered white noise, rescaled to mean 0 and standard deviation 1.

    Blurring at full resolution with a wide kernel is slow, so a field that varies over
    many pixels is made on a coarser grid and linearly interpolated up. Returns an array of
    ``shape``, float32.
    """
    height, width = shape
    factor = max(1, min(int(sigma_px / 2), min(shape) // 8))
    coarse = (-(-height // factor), -(-width // factor))
    noise = ndi.gaussian_filter(rng.standard_normal(coarse, dtype=np.float32), sigma_px / factor)
    noise = (noise - noise.mean()) / (noise.std() + 1e-6)
    return _upsample_linear(noise, shape) if factor > 1 else noise


def _scatter(
    rng: np.random.Generator, mask: np.ndarray, spacing_px: float, keep: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Centres of cells packed in a jittered hexagonal lattice inside ``mask``.

    A lattice with random jitter spaces cells evenly without overlap, which is how cells in
    a sheet sit; ``keep`` < 1 thins it at random (sparse fibroblasts, scattered lymphocytes).

    Returns
    -------
    y, x : np.ndarray of intp, shape (N,)
        Pixel coordinates of the kept centres.
    """
    height, width = mask.shape
    row_step = spacing_px * np.sqrt(3) / 2
    rows = np.arange(rng.uniform(0, row_step), height, row_step)
    cols = np.arange(rng.uniform(-spacing_px, 0), width, spacing_px)
    yy, xx = np.meshgrid(rows, cols, indexing="ij")
    xx = xx + (np.arange(len(rows))[:, None] % 2) * spacing_px / 2  # offset every other row
    jitter = rng.uniform(-0.3, 0.3, (2, *yy.shape)) * spacing_px
    y = np.rint(yy + jitter[0]).astype(np.intp).ravel()
    x = np.rint(xx + jitter[1]).astype(np.intp).ravel()
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    y, x = y[inside], x[inside]
    chosen = mask[y, x] & (rng.random(len(y)) < keep)
    return y[chosen], x[chosen]


def _per_pixel(values: np.ndarray, owner: np.ndarray, default: float = 0.0) -> np.ndarray:
    """Look up a per-blob value for every pixel; ``default`` where ``owner`` is -1."""
    table = np.append(np.asarray(values, np.float32), np.float32(default))
    return table[owner]  # owner -1 picks the appended default


@dataclass
class _Blobs:
    """Elliptical structures (glands, keratin pearls, vessels, lymphoid aggregates).

    ``radius`` is the semi-axis across the ellipse in pixels; along ``angle`` it is
    ``radius * elongation``.
    """

    y: np.ndarray
    x: np.ndarray
    radius: np.ndarray
    elongation: np.ndarray
    angle: np.ndarray

    @classmethod
    def sample(cls, rng, y, x, radius_px: tuple[float, float], elongation=(1.0, 1.5)) -> _Blobs:
        n = len(y)
        return cls(
            y.astype(np.float32),
            x.astype(np.float32),
            rng.uniform(*radius_px, n).astype(np.float32),
            rng.uniform(*elongation, n).astype(np.float32),
            rng.uniform(0, np.pi, n).astype(np.float32),
        )

    def without_overlaps(self, margin_px: float = 0.0) -> _Blobs:
        """Drop blobs that would overlap an earlier one (greedy, in order).

        Overlapping glands would merge into one lumen lined on one side only.
        """
        reach = self.radius * (1 + self.elongation) / 2 + margin_px  # mean semi-axis
        kept: list[int] = []
        for i in range(len(self.y)):
            if kept:
                gap = np.hypot(self.y[kept] - self.y[i], self.x[kept] - self.x[i])
                if np.any(gap < reach[kept] + reach[i]):
                    continue
            kept.append(i)
        return _Blobs(*(getattr(self, f.name)[kept] for f in dataclasses.fields(self)))

    def paint(
        self, shape: tuple[int, int], bumps: np.ndarray | None = None, bumpiness: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance of every pixel to its nearest blob, in units of that blob's radius.

        Returns ``relative`` (H, W) float32 (< 1 inside a blob; ``inf`` far from all) and
        ``owner`` (H, W) int32 (index of the nearest blob, -1 far from all). ``bumps``, a
        smooth noise field, makes outlines irregular. A loop over blobs, each drawn in its
        own bounding box, is fast because blobs are few and small.
        """
        relative = np.full(shape, np.inf, np.float32)
        owner = np.full(shape, -1, np.int32)
        for i in range(len(self.y)):
            reach = self.radius[i] * self.elongation[i] * 1.6 * (1 + bumpiness) + 2
            y0, y1 = max(0, int(self.y[i] - reach)), min(shape[0], int(self.y[i] + reach) + 1)
            x0, x1 = max(0, int(self.x[i] - reach)), min(shape[1], int(self.x[i] + reach) + 1)
            if y0 >= y1 or x0 >= x1:
                continue
            dy = np.arange(y0, y1, dtype=np.float32)[:, None] - self.y[i]
            dx = np.arange(x0, x1, dtype=np.float32)[None, :] - self.x[i]
            cos, sin = np.cos(self.angle[i]), np.sin(self.angle[i])
            along, across = dx * cos + dy * sin, -dx * sin + dy * cos
            d = np.sqrt((along / self.elongation[i]) ** 2 + across**2) / self.radius[i]
            if bumps is not None:
                d = d * (1 + bumpiness * bumps[y0:y1, x0:x1])
            window = (slice(y0, y1), slice(x0, x1))
            closer = d < relative[window]
            relative[window][closer] = d[closer]
            owner[window][closer] = i
        return relative, owner

    def ring_points(
        self, rng: np.random.Generator, scale: np.ndarray, spacing_px: float, jitter_px: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points evenly spaced around each blob's outline scaled by ``scale`` (per blob).

        Used for the nuclei lining a gland or a vessel. Returns ``y``, ``x`` (float32, (N,))
        and ``outward`` (N,), the angle pointing away from the blob's centre.
        """
        across = self.radius * scale
        perimeter = np.pi * across * (1 + self.elongation)  # ellipse, roughly
        counts = np.maximum(3, np.rint(perimeter / spacing_px)).astype(np.intp)
        blob = np.repeat(np.arange(len(counts)), counts)
        position = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        start = rng.uniform(0, 2 * np.pi, len(counts))[blob]
        theta = 2 * np.pi * (position + rng.uniform(-0.2, 0.2, len(blob))) / counts[blob] + start
        r = across[blob] + rng.normal(0, jitter_px, len(blob))
        along_r, across_r = r * self.elongation[blob] * np.cos(theta), r * np.sin(theta)
        cos, sin = np.cos(self.angle[blob]), np.sin(self.angle[blob])
        x = self.x[blob] + along_r * cos - across_r * sin
        y = self.y[blob] + along_r * sin + across_r * cos
        outward = np.arctan2(y - self.y[blob], x - self.x[blob])
        return y.astype(np.float32), x.astype(np.float32), outward.astype(np.float32)


# ----------------------------------------------------------------------------------------
# Nuclei
# ----------------------------------------------------------------------------------------

NUCLEUS_KINDS = ("tumour", "fibroblast", "lymphocyte", "debris", "endothelium")
_TUMOUR_CELL, _FIBROBLAST, _LYMPHOCYTE, _DEBRIS, _ENDOTHELIUM = range(5)


@dataclass
class _Nuclei:
    """One row per nucleus; lengths in pixels, angles in radians, darkness in OD units."""

    y: np.ndarray
    x: np.ndarray
    a: np.ndarray  # semi-axis along `angle`
    b: np.ndarray  # semi-axis across
    angle: np.ndarray
    darkness: np.ndarray  # haematoxylin optical density of the chromatin
    texture: np.ndarray  # chromatin granularity: 0 smooth, 0.5 "salt and pepper"
    irregularity: np.ndarray  # contour bumpiness (pleomorphism)
    vesicular: np.ndarray  # 0 evenly dark, 1 chromatin cleared to the rim
    nucleolus: np.ndarray  # bool
    kind: np.ndarray  # index into NUCLEUS_KINDS

    @classmethod
    def concat(cls, parts: list[_Nuclei]) -> _Nuclei:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(*[np.concatenate([getattr(p, n) for p in parts]) for n in names])

    def __len__(self) -> int:
        return len(self.y)


def _nuclei(
    rng: np.random.Generator,
    y: np.ndarray,
    x: np.ndarray,
    kind: int,
    radius_px: float,
    *,
    elongation: float = 1.2,
    angle: np.ndarray | None = None,
    size_cv: float = 0.08,
    darkness: float = 0.8,
    texture: float = 0.2,
    irregularity: float = 0.03,
    vesicular: float = 0.0,
    nucleolus_prob: float = 0.0,
) -> _Nuclei:
    """Nuclei of one kind at the given centres, with random size, shape and darkness.

    ``radius_px`` is the mean radius of a circle of the same area; ``size_cv`` its
    coefficient of variation (anisonucleosis, part of pleomorphism).
    """
    n = len(y)
    size = radius_px * rng.lognormal(0.0, size_cv, n)
    stretch = np.sqrt(elongation * rng.lognormal(0.0, 0.1, n))
    angle = rng.uniform(0, np.pi, n) if angle is None else np.broadcast_to(angle, (n,))
    return _Nuclei(
        y=np.asarray(y, np.float32),
        x=np.asarray(x, np.float32),
        a=(size * stretch).astype(np.float32),
        b=(size / stretch).astype(np.float32),
        angle=np.asarray(angle, np.float32),
        darkness=(darkness * rng.lognormal(0.0, 0.1 + size_cv / 2, n)).astype(np.float32),
        texture=np.full(n, texture, np.float32),
        irregularity=np.full(n, irregularity, np.float32),
        vesicular=np.full(n, vesicular, np.float32),
        nucleolus=rng.random(n) < nucleolus_prob,
        kind=np.full(n, kind, np.int8),
    )


def _add_mitoses(rng: np.random.Generator, nuclei: _Nuclei, fraction: float) -> int:
    """Turn a random ``fraction`` of tumour nuclei into mitotic figures, in place.

    A mitotic figure has no nuclear membrane: a dark, ragged clump of condensed chromosomes,
    here flattened like a metaphase plate. Returns the number of figures drawn.
    """
    chosen = (nuclei.kind == _TUMOUR_CELL) & (rng.random(len(nuclei)) < fraction)
    nuclei.darkness[chosen] = 1.6 * np.maximum(nuclei.darkness[chosen], 0.8)
    nuclei.a[chosen] *= 1.1
    nuclei.b[chosen] *= 0.5
    nuclei.texture[chosen] = 0.6
    nuclei.irregularity[chosen] = 0.35
    nuclei.vesicular[chosen] = 0.0
    nuclei.nucleolus[chosen] = False
    return int(chosen.sum())


def _render_nuclei(
    rng: np.random.Generator, nuclei: _Nuclei, shape: tuple[int, int], px_per_um: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint all nuclei at once.

    One Euclidean distance transform gives every pixel its nearest nucleus centre (a
    Voronoi partition: the cell each pixel belongs to). Each pixel is then inside that
    nucleus if its distance, in the nucleus's own elliptical coordinates, is below 1.
    Crowded nuclei are clipped at the Voronoi border, which is what nuclear moulding in
    small cell carcinoma looks like.

    Returns
    -------
    haematoxylin, eosin : np.ndarray, shape (H, W), float32
        Stain concentrations (OD) contributed by nuclei and nucleoli.
    owner : np.ndarray, shape (H, W), int32
        Index of the cell (nearest nucleus) of every pixel, -1 if there are none.
    """
    height, width = shape
    if len(nuclei) == 0:
        return (
            np.zeros(shape, np.float32),
            np.zeros(shape, np.float32),
            np.full(shape, -1, np.int32),
        )
    yi = np.clip(np.rint(nuclei.y).astype(np.intp), 0, height - 1)
    xi = np.clip(np.rint(nuclei.x).astype(np.intp), 0, width - 1)
    markers = np.zeros(shape, np.int32)
    markers[yi, xi] = np.arange(1, len(nuclei) + 1)  # a nucleus on a taken pixel is dropped
    iy, ix = ndi.distance_transform_edt(markers == 0, return_distances=False, return_indices=True)
    owner = markers[iy, ix] - 1
    dy = (np.arange(height, dtype=np.int32)[:, None] - iy).astype(np.float32)
    dx = (np.arange(width, dtype=np.int32)[None, :] - ix).astype(np.float32)
    del iy, ix
    cos, sin = np.cos(nuclei.angle)[owner], np.sin(nuclei.angle)[owner]
    a, b = nuclei.a[owner], nuclei.b[owner]
    rho = np.sqrt(((dx * cos + dy * sin) / a) ** 2 + ((dy * cos - dx * sin) / b) ** 2)
    rho *= 1 + nuclei.irregularity[owner] * _smooth_noise(rng, shape, 1.5 * px_per_um)
    inside = np.clip((1 - rho) * b + 0.5, 0, 1)  # soft edge about one pixel wide
    grain = ndi.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), 0.35 * px_per_um)
    grain /= grain.std() + 1e-6
    chromatin = nuclei.darkness[owner] * np.clip(1 + nuclei.texture[owner] * grain, 0.2, None)
    # Vesicular nuclei: chromatin pushed to the nuclear membrane, pale centre.
    vesicular = nuclei.vesicular[owner]
    chromatin *= 1 - vesicular * (1 - np.clip((rho - 0.35) / 0.5, 0, 1)) * 0.65
    nucleolus = nuclei.nucleolus[owner] * np.clip((0.22 - rho) * 8, 0, 1) * inside
    haematoxylin = inside * chromatin + 0.35 * nucleolus
    eosin = 0.05 * inside + 0.3 * nucleolus  # nucleoli are amphophilic (pink-purple)
    return haematoxylin, eosin, owner


# ----------------------------------------------------------------------------------------
# Slide layout: where tissue, tumour, necrosis and lymphoid aggregates are
# ----------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------
# Tumour morphology, one function per type
# ----------------------------------------------------------------------------------------


@dataclass
class _TumourDrawing:
    """What a tumour-type painter returns; all maps are (H, W)."""

    epithelium: np.ndarray  # bool: tumour cells (cytoplasm colour goes here)
    lumen: np.ndarray  # bool: gland lumina
    keratin: np.ndarray | None  # float32 lamellae of keratin pearls (0 outside pearls)
    nuclei: _Nuclei


def _draw_adenocarcinoma(
    rng: np.random.Generator, layout: _Layout, concepts: dict[str, float]
) -> _TumourDrawing:
    """Glands where the architecture allows them, solid nests of tumour cells elsewhere.

    Architecture score 0 puts glands everywhere, 1 in about two thirds of the tumour, 2
    nowhere (a solid, poorly differentiated adenocarcinoma).
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    arch, pleo = int(concepts["architecture_score"]), int(concepts["nuclear_pleomorphism"])
    zone = _smooth_noise(rng, shape, 80 * um)
    gland_zone = viable & (zone > (-np.inf, -0.5, np.inf)[arch])
    lumen, lining, gland_nuclei = _draw_glands(rng, layout, gland_zone, pleo)

    solid = viable & ~gland_zone & (_smooth_noise(rng, shape, 25 * um) > -0.6)
    sy, sx = _scatter(rng, solid, 13 * um * (1 - 0.05 * pleo))
    solid_nuclei = _tumour_nuclei(rng, sy, sx, pleo, um, 3.8, 1.3)
    nuclei = _Nuclei.concat([gland_nuclei, solid_nuclei])
    return _TumourDrawing(lining | solid, lumen, None, nuclei)


def _draw_glands(
    rng: np.random.Generator, layout: _Layout, zone: np.ndarray, pleo: int
) -> tuple[np.ndarray, np.ndarray, _Nuclei]:
    """Glands: a lumen lined by one layer of columnar cells whose nuclei sit at the base.

    Pleomorphism enlarges the nuclei and loses their polarity (they drift off the basal
    line and tilt). Returns the lumen and lining masks (H, W) bool and the lining nuclei.
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    height = 15 * um  # of a columnar cell
    outer_radius = (8 * um + height, 22 * um + height)
    cy, cx = _scatter(rng, zone, 1.5 * np.mean(outer_radius))  # dense: overlaps dropped next
    glands = _Blobs.sample(rng, cy, cx, outer_radius, (1.0, 1.4))
    glands = glands.without_overlaps(margin_px=2 * um)
    relative, owner = glands.paint(shape, _smooth_noise(rng, shape, 6 * um), 0.05 + 0.04 * pleo)
    lumen_fraction = _per_pixel(1 - height / glands.radius, owner)
    lumen = (relative < lumen_fraction) & viable
    lining = (relative < 1) & ~lumen & viable

    basal = 1 - 0.38 * height / glands.radius  # nuclei in the basal third of the cell
    y, x, outward = glands.ring_points(rng, basal, 7.5 * um, (0.4 + 1.2 * pleo) * um)
    yi = np.clip(np.rint(y).astype(np.intp), 0, shape[0] - 1)
    xi = np.clip(np.rint(x).astype(np.intp), 0, shape[1] - 1)
    keep = lining[yi, xi]
    polarity = outward[keep] + rng.normal(0, 0.15 + 0.35 * pleo, keep.sum())
    nuclei = _tumour_nuclei(rng, y[keep], x[keep], pleo, um, 3.8, 2.0 - 0.3 * pleo, polarity)
    return lumen, lining, nuclei


def _tumour_nuclei(
    rng, y, x, pleo: int, um: float, radius_um: float, elongation: float, angle=None
) -> _Nuclei:
    """Carcinoma nuclei whose size, variability, contour, darkness and nucleoli follow the
    pleomorphism score (0-2)."""
    return _nuclei(
        rng,
        y,
        x,
        _TUMOUR_CELL,
        radius_um * um * (1 + 0.2 * pleo),
        elongation=elongation,
        angle=angle,
        size_cv=0.07 + 0.09 * pleo,
        darkness=0.65 + 0.12 * pleo,
        texture=0.25,
        irregularity=0.03 + 0.06 * pleo,
        vesicular=0.25 + 0.25 * pleo,
        nucleolus_prob=(0.05, 0.3, 0.75)[pleo],
    )


def _draw_squamous(
    rng: np.random.Generator, layout: _Layout, concepts: dict[str, float]
) -> _TumourDrawing:
    """Nests of large polygonal cells with pink cytoplasm, and keratin pearls.

    A keratin pearl is a whorl of concentric keratin lamellae; the cells around it are
    flattened along its rim. Architecture 0 has many pearls, 1 a few, 2 none.
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    arch, pleo = int(concepts["architecture_score"]), int(concepts["nuclear_pleomorphism"])
    nests = viable & (_smooth_noise(rng, shape, 45 * um) > (-0.8, -1.0, -1.3)[arch])

    keratin = np.zeros(shape, np.float32)
    pearl = np.zeros(shape, bool)
    near_pearl = np.zeros(0, bool)
    if arch < 2:
        py, px = _scatter(rng, nests, (110 * um, 220 * um)[arch])
        pearls = _Blobs.sample(rng, py, px, (14 * um, 32 * um), (1.0, 1.4))
        relative, owner = pearls.paint(shape, _smooth_noise(rng, shape, 5 * um), 0.08)
        pearl = (relative < 1) & nests
        depth = relative[pearl] * pearls.radius[owner[pearl]] / um  # µm from the centre
        wobble = _smooth_noise(rng, shape, 3 * um)[pearl]
        keratin[pearl] = 0.5 + 0.5 * np.sin(2 * np.pi * depth / 4.0 + wobble)  # 4 µm lamellae

    cy, cx = _scatter(rng, nests & ~pearl, 18 * um * (1 - 0.05 * pleo))
    nuclei = _tumour_nuclei(rng, cy, cx, pleo, um, 4.0, 1.3)
    if arch < 2 and len(cy):
        # Cells at a pearl's rim are flattened around it and their nuclei shrink (pyknosis).
        near_pearl = relative[cy, cx] < 1.5
        centre = owner[cy, cx][near_pearl]
        tangent = np.arctan2(cy[near_pearl] - pearls.y[centre], cx[near_pearl] - pearls.x[centre])
        nuclei.angle[near_pearl] = tangent + np.pi / 2
        nuclei.a[near_pearl] *= 1.2
        nuclei.b[near_pearl] *= 0.5
        nuclei.darkness[near_pearl] *= 1.3
    return _TumourDrawing(nests & ~pearl, np.zeros(shape, bool), keratin, nuclei)


def _draw_small_cell(
    rng: np.random.Generator, layout: _Layout, concepts: dict[str, float]
) -> _TumourDrawing:
    """Sheets of small cells: crowded, moulded, finely granular dark nuclei, scant cytoplasm.

    The nuclei are placed closer together than their own diameter, so the Voronoi clipping
    in :func:`_render_nuclei` moulds neighbours against each other.
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    pleo = int(concepts["nuclear_pleomorphism"])
    sheets = viable & (_smooth_noise(rng, shape, 60 * um) > -1.0)
    cy, cx = _scatter(rng, sheets, 7.5 * um * (1 - 0.04 * pleo))
    nuclei = _nuclei(
        rng,
        cy,
        cx,
        _TUMOUR_CELL,
        3.9 * um * (1 + 0.12 * pleo),
        elongation=1.5,
        size_cv=0.06 + 0.05 * pleo,
        darkness=0.9 + 0.08 * pleo,
        texture=0.5,  # "salt and pepper" chromatin
        irregularity=0.05 + 0.04 * pleo,
    )
    return _TumourDrawing(sheets, np.zeros(shape, bool), None, nuclei)


_TUMOUR_PAINTERS = {
    ADENO: _draw_adenocarcinoma,
    SQUAMOUS: _draw_squamous,
    SMALL_CELL: _draw_small_cell,
}
# Cytoplasm stain (haematoxylin, eosin) in OD: amphophilic glands, glassy pink squamous
# cells, a thin bluish rim around small cells.
_CYTOPLASM_STAIN = {ADENO: (0.15, 0.22), SQUAMOUS: (0.04, 0.5), SMALL_CELL: (0.15, 0.06)}


# ----------------------------------------------------------------------------------------
# Stroma: collagen fibres and small vessels
# ----------------------------------------------------------------------------------------


@dataclass
class _Collagen:
    """Dense collagen: pink bundles parted by thin pale clefts that follow wavy lines.

    The clefts are the crests of a plane wave whose phase is warped by smooth noise (the
    "wood grain" trick); two fibre directions alternate in patches.
    """

    clefts: np.ndarray  # (H, W) float32 in [0, 1], 1 in a cleft between bundles
    bands: np.ndarray  # (H, W) float32 in [-1, 1], denser and looser bundles
    phases: tuple[np.ndarray, np.ndarray]
    blend: np.ndarray  # (H, W) weight of the first fibre direction

    @classmethod
    def draw(cls, rng: np.random.Generator, shape: tuple[int, int], um: float) -> _Collagen:
        y = np.arange(shape[0], dtype=np.float32)[:, None]
        x = np.arange(shape[1], dtype=np.float32)[None, :]
        wavenumber = 2 * np.pi / (rng.uniform(4.0, 7.0) * um)  # a bundle every 4-7 µm
        first = rng.uniform(0, np.pi)
        phases, crests = [], []
        for direction in (first, first + rng.uniform(0.6, 1.2)):
            warp = 25 * _smooth_noise(rng, shape, 45 * um) + 4 * _smooth_noise(rng, shape, 6 * um)
            phase = wavenumber * (x * np.cos(direction) + y * np.sin(direction)) + warp
            phases.append(phase)
            crests.append(np.exp((np.sin(phase) - 1) / 0.12))  # narrow peaks, ~1 µm wide
        blend = 1 / (1 + np.exp(-8 * _smooth_noise(rng, shape, 120 * um)))
        # Clefts are short: a patchy envelope breaks them into fibre-length pieces.
        envelope = np.clip(0.3 + 0.7 * _smooth_noise(rng, shape, 4 * um), 0, 1)
        clefts = envelope * (blend * crests[0] + (1 - blend) * crests[1])
        # Neighbouring bundles differ in density: a slower wave along the same lines.
        bands = np.sin(0.3 * np.where(blend > 0.5, phases[0], phases[1]))
        return cls(clefts, bands, tuple(phases), blend)

    def direction_at(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Angle (radians) along which fibres run at pixels (y, x): across the phase gradient."""
        height, width = self.blend.shape
        y0, y1 = np.clip(y - 1, 0, height - 1), np.clip(y + 1, 0, height - 1)
        x0, x1 = np.clip(x - 1, 0, width - 1), np.clip(x + 1, 0, width - 1)
        phase = np.where(self.blend[y, x] > 0.5, 0, 1)
        gy = np.choose(phase, [p[y1, x] - p[y0, x] for p in self.phases])
        gx = np.choose(phase, [p[y, x1] - p[y, x0] for p in self.phases])
        return np.arctan2(gy, gx) + np.pi / 2


def _vessels(rng: np.random.Generator, layout: _Layout) -> tuple[_Blobs, np.ndarray]:
    """Small vessels (capillaries, venules) in the stroma outside the tumour.

    Returns the vessels and ``relative`` (H, W): distance to the nearest vessel centre in
    units of its lumen radius (< 1 in the lumen, 1-1.4 the wall).
    """
    um, shape = layout.px_per_um, layout.tissue.shape
    stroma = layout.tissue & ~layout.bed & ~layout.lymphoid
    vy, vx = _scatter(rng, stroma, 140 * um, keep=0.6)
    vessels = _Blobs.sample(rng, vy, vx, (4 * um, 11 * um), (1.0, 2.2))
    relative, _ = vessels.paint(shape)
    return vessels, relative


# ----------------------------------------------------------------------------------------
# Stains: concentrations -> RGB
# ----------------------------------------------------------------------------------------


# Reference H&E optical-density vectors (rows: haematoxylin, eosin; columns: R, G, B) as
# estimated from real slides by Macenko et al. (2009) and used by stain normalisers.
# scikit-image's Ruifrok-Johnston vectors (``skimage.color.rgb_from_hed``) give a more
# magenta eosin; ``skimage.color.rgb2hed`` still separates these slides well.
_MACENKO_REFERENCE = np.array([[0.5626, 0.7201, 0.4062], [0.2159, 0.8012, 0.5581]], np.float32)
REFERENCE_STAIN_MATRIX = _MACENKO_REFERENCE / np.linalg.norm(
    _MACENKO_REFERENCE, axis=1, keepdims=True
)  # unit rows


def lab_stain(
    rng: np.random.Generator, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One laboratory's staining and scanner: stain vectors, stain amounts, white point.

    Perturbs :data:`REFERENCE_STAIN_MATRIX`; ``strength = 0`` returns it unchanged.

    Returns
    -------
    stain_matrix : np.ndarray, shape (2, 3), float32
        Unit optical-density vectors (rows: haematoxylin, eosin; columns: R, G, B).
    amounts : np.ndarray, shape (2,), float32
        Multipliers of the haematoxylin and eosin concentrations (staining time, dye batch).
    white : np.ndarray, shape (3,), float32
        RGB of clear glass (the scanner's white balance), 0-255.
    """
    matrix = REFERENCE_STAIN_MATRIX + rng.normal(0, 0.04 * strength, (2, 3))
    matrix = np.clip(matrix, 0.02, None)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    amounts = np.clip(1 + rng.normal(0, 0.12 * strength, 2), 0.5, 1.6)
    white = 252 - np.abs(rng.normal(0, 4 * strength, 3))
    return matrix.astype(np.float32), amounts.astype(np.float32), white.astype(np.float32)


def stain_to_rgb(
    concentrations: np.ndarray, stain_matrix: np.ndarray, white: np.ndarray | float = 255.0
) -> np.ndarray:
    """Beer-Lambert law: light through stained tissue, ``I = I0 * 10 ** -(c @ M)``.

    Parameters
    ----------
    concentrations : np.ndarray, shape (H, W, S), float
        Optical density of each of the S stains.
    stain_matrix : np.ndarray, shape (S, 3)
        Unit optical-density vector of each stain (how much it absorbs R, G, B).
    white : float or np.ndarray of shape (3,)
        Intensity of the light through clear glass.

    Returns
    -------
    np.ndarray, shape (H, W, 3), float32 in [0, 255]
    """
    optical_density = concentrations @ np.asarray(stain_matrix, np.float32)
    return np.asarray(white, np.float32) * np.power(np.float32(10.0), -optical_density)


def _paint_stains(
    rng: np.random.Generator,
    layout: _Layout,
    tumour_type: int,
    drawing: _TumourDrawing,
    collagen: _Collagen,
    vessel_distance: np.ndarray,
    nuclear: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Haematoxylin and eosin concentration of every pixel, (H, W, 2) float32 in OD units.

    Compartment by compartment: glass, collagen, tumour stroma, cytoplasm, lumina, keratin,
    necrosis, lymphoid aggregates, vessels; then nuclei on top.
    """
    shape, um = layout.tissue.shape, layout.px_per_um
    haem, eos = _glass_and_stroma_stains(rng, layout, drawing, collagen)
    texture = 1 + 0.15 * _smooth_noise(rng, shape, 1.0 * um)
    cyto_h, cyto_e = _CYTOPLASM_STAIN[tumour_type]
    haem[drawing.epithelium] = cyto_h * texture[drawing.epithelium]
    eos[drawing.epithelium] = cyto_e * texture[drawing.epithelium]
    haem[drawing.lumen], eos[drawing.lumen] = 0.02, 0.03
    if drawing.keratin is not None:
        pearl = drawing.keratin > 0
        haem[pearl] = 0.02
        eos[pearl] = 0.45 + 0.3 * drawing.keratin[pearl]
    # Necrosis: granular pink-purple debris without cell outlines ("dirty necrosis").
    necrosis = layout.necrosis
    eos[necrosis] = (0.3 * (1 + 0.3 * _smooth_noise(rng, shape, 6 * um)))[necrosis]
    haem[necrosis] = np.clip(0.1 * (1 + 0.6 * _smooth_noise(rng, shape, 3 * um)), 0, None)[necrosis]
    haem[layout.lymphoid], eos[layout.lymphoid] = 0.07, 0.1
    _paint_vessels(rng, haem, eos, vessel_distance, um)
    # Cell borders of squamous cells: a dense pink line with gaps (intercellular bridges).
    nuclear_haem, nuclear_eos, owner = nuclear
    if tumour_type == SQUAMOUS:
        border = (owner != np.roll(owner, 1, axis=0)) | (owner != np.roll(owner, 1, axis=1))
        border &= drawing.epithelium & (_smooth_noise(rng, shape, 0.8 * um) > -0.4)
        eos[border] += 0.14
        haem[border] += 0.03
    # Section thickness varies a little across the slide: all stain scales with it.
    thickness = 1 + 0.08 * _smooth_noise(rng, shape, 250 * um)
    haem = (haem + nuclear_haem) * thickness
    eos = (eos + nuclear_eos) * thickness
    return np.stack([haem, eos], axis=-1)


def _glass_and_stroma_stains(
    rng: np.random.Generator, layout: _Layout, drawing: _TumourDrawing, collagen: _Collagen
) -> tuple[np.ndarray, np.ndarray]:
    """Haematoxylin and eosin (H, W) float32 of bare glass and of connective tissue."""
    shape, um = layout.tissue.shape, layout.px_per_um
    haem = np.full(shape, 0.008, np.float32)
    eos = np.full(shape, 0.012, np.float32) + 0.004 * _smooth_noise(rng, shape, 30 * um)
    # Collagen: pink bundles with pale clefts, and loose oedematous patches that are paler.
    loose = np.clip(_smooth_noise(rng, shape, 35 * um) - 0.5, 0, 1)
    density = 0.3 + 0.04 * _smooth_noise(rng, shape, 15 * um) + 0.05 * collagen.bands
    stroma_eos = density * (1 - 0.6 * collagen.clefts) * (1 - 0.5 * loose)
    haem[layout.tissue], eos[layout.tissue] = 0.035, stroma_eos[layout.tissue]
    # Desmoplastic stroma around tumour cells is paler and faintly blue (myxoid).
    tumour_stroma = layout.viable & ~drawing.epithelium
    haem[tumour_stroma] += 0.03
    eos[tumour_stroma] *= 0.8
    return haem, eos


def _paint_vessels(rng, haem: np.ndarray, eos: np.ndarray, distance: np.ndarray, um: float):
    """Vessel walls (pink) and lumina packed with red blood cells (bright eosin), in place."""
    lumen, wall = distance < 1, (distance >= 1) & (distance < 1.4)
    haem[wall], eos[wall] = 0.05, 0.38
    red_cells = lumen & (_smooth_noise(rng, haem.shape, 1.5 * um) > -0.3)
    haem[lumen], eos[lumen] = 0.01, 0.04
    haem[red_cells], eos[red_cells] = 0.01, 0.6


# ----------------------------------------------------------------------------------------
# The whole slide
# ----------------------------------------------------------------------------------------


def _background_nuclei(
    rng: np.random.Generator,
    layout: _Layout,
    drawing: _TumourDrawing,
    collagen: _Collagen,
    vessels: _Blobs,
    vessel_distance: np.ndarray,
    concepts: dict[str, float],
) -> list[_Nuclei]:
    """Non-tumour nuclei: fibroblasts, lymphocytes, necrotic debris, endothelium."""
    um = layout.px_per_um
    level = int(concepts["lymphocytic_infiltrate"])
    stroma = layout.tissue & ~layout.bed & ~layout.lymphoid & (vessel_distance >= 1.4)
    connective = (stroma | (layout.viable & ~drawing.epithelium & ~drawing.lumen)) & (
        vessel_distance >= 1.4
    )
    fy, fx = _scatter(rng, connective, 20 * um, keep=0.45)
    # Fibroblasts are spindle-shaped and lie along the collagen fibres.
    fibroblasts = _nuclei(
        rng,
        fy,
        fx,
        _FIBROBLAST,
        2.8 * um,
        elongation=7.0,
        angle=collagen.direction_at(fy, fx),
        darkness=0.75,
        texture=0.1,
    )
    ly = [_scatter(rng, layout.lymphoid, 6.8 * um, keep=0.92)]
    ly.append(_scatter(rng, stroma, 16 * um, keep=(0.04, 0.12, 0.25)[level]))
    ly.append(_scatter(rng, drawing.epithelium, 18 * um, keep=(0.0, 0.05, 0.18)[level]))
    lymphocytes = _nuclei(
        rng,
        np.concatenate([p[0] for p in ly]),
        np.concatenate([p[1] for p in ly]),
        _LYMPHOCYTE,
        3.1 * um,
        elongation=1.05,
        size_cv=0.06,
        darkness=1.05,
        texture=0.15,
    )
    dy, dx = _scatter(rng, layout.necrosis, 7 * um, keep=0.55)
    debris = _nuclei(
        rng,
        dy,
        dx,
        _DEBRIS,
        1.3 * um,
        size_cv=0.35,
        darkness=0.9,
        texture=0.3,
        irregularity=0.4,
    )
    ey, ex, outward = vessels.ring_points(rng, np.full(len(vessels.y), 1.15), 12 * um, 0.3 * um)
    endothelium = _nuclei(
        rng,
        ey,
        ex,
        _ENDOTHELIUM,
        2.2 * um,
        elongation=5.0,
        angle=outward + np.pi / 2,
        darkness=0.8,
        texture=0.1,
    )
    return [fibroblasts, lymphocytes, debris, endothelium]


def render_slide_image(
    seed: int, config: SlideConfig, tumour_type: int, concepts: dict[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the H&E image of a case from its concepts.

    Returns
    -------
    image : np.ndarray, shape (height, width, 3), uint8
    region_mask : np.ndarray, shape (height, width), uint8
        Index into :data:`REGION_CLASSES`.
    stain_matrix : np.ndarray, shape (2, 3), float32
        The slide's haematoxylin and eosin optical-density vectors.
    """
    rng = _child_rngs(seed)["image"]
    shape = (config.height, config.width)
    layout = _layout_regions(rng, config, concepts)
    drawing = _TUMOUR_PAINTERS[tumour_type](rng, layout, concepts)
    mitotic_fraction = (0.003, 0.01, 0.025)[int(concepts["mitotic_count"])]
    _add_mitoses(rng, drawing.nuclei, mitotic_fraction)
    collagen = _Collagen.draw(rng, shape, layout.px_per_um)
    vessels, vessel_distance = _vessels(rng, layout)
    others = _background_nuclei(rng, layout, drawing, collagen, vessels, vessel_distance, concepts)
    nuclei = _Nuclei.concat([drawing.nuclei, *others])
    nuclear = _render_nuclei(rng, nuclei, shape, layout.px_per_um)
    stains = _paint_stains(rng, layout, tumour_type, drawing, collagen, vessel_distance, nuclear)
    # The microscope's optics blur a little (point-spread function of ~0.25 µm).
    stains = ndi.gaussian_filter(stains, (0.25 * layout.px_per_um,) * 2 + (0,))
    matrix, amounts, white = lab_stain(rng, config.stain_variation)
    rgb = stain_to_rgb(stains * amounts, matrix, white)
    rgb += rng.normal(0.0, 1.5, rgb.shape).astype(np.float32)  # sensor noise
    image = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return image, layout.region_mask(), matrix


def make_slide(
    seed: int,
    config: SlideConfig | None = None,
    tumour_type: int | str | None = None,
    grade: int | None = None,
) -> SyntheticSlide:
    """Generate one synthetic H&E whole slide with its report, genes and outcome.

    Parameters
    ----------
    seed : int
        Non-negative integer. The same arguments always give identical arrays and text.
    config : SlideConfig, optional
        Image size, resolution and stain variation; defaults to ``SlideConfig()``.
    tumour_type : int or str, optional
        Request a type (index or name from :data:`TUMOUR_TYPES`); random if omitted.
    grade : int, optional
        Request a grade (1-3); random if omitted.

    Returns
    -------
    SyntheticSlide
        ``concepts["tumour_fraction"]`` is measured on the returned region mask, and the
        report quotes that value.

    Raises
    ------
    ValueError
        For a bad seed, tumour type, grade or config.
    """
    config = SlideConfig() if config is None else config
    if not isinstance(config, SlideConfig):
        raise ValueError(f"config must be a SlideConfig, got {type(config).__name__}")
    case = sample_case(seed, tumour_type, grade)
    image, region_mask, stain_matrix = render_slide_image(
        seed, config, case.tumour_type, case.concepts
    )
    tissue = np.count_nonzero(region_mask)
    concepts = dict(case.concepts)
    viable = np.count_nonzero(region_mask == TUMOUR)
    concepts["tumour_fraction"] = round(float(viable / max(tissue, 1)), 4)
    report = write_report(case.case_id, case.tumour_type, case.grade, concepts, seed)
    return SyntheticSlide(
        slide_id=case.case_id,
        seed=int(seed),
        image=image,
        region_mask=region_mask,
        tumour_type=case.tumour_type,
        grade=case.grade,
        survival_months=case.survival_months,
        event=case.event,
        concepts=concepts,
        report=report,
        genes=case.genes,
        mpp=config.mpp,
        stain_matrix=stain_matrix,
    )


def write_slide(slide: SyntheticSlide, path: str | Path, tile: int = 256) -> Path:
    """Write the slide's image as a pyramidal tiled TIFF that OpenSlide and tifffile open.

    Only the pixels and the microns per pixel go into the file; labels stay out of it.
    """
    description = f"medai_edu synthetic H&E slide {slide.slide_id}"
    return write_pyramid_tiff(path, slide.image, slide.mpp, tile=tile, description=description)


# ----------------------------------------------------------------------------------------
# Cohorts on disk
# ----------------------------------------------------------------------------------------

MASK_DOWNSAMPLE = 4  # region masks are stored on disk at 1/4 of level-0 resolution
_LABEL_COLUMNS = ("tumour_type", "tumour_type_name", "grade", "survival_months", "event")


@dataclass
class SlideCohort:
    """A folder of synthetic slides with labels, concepts, reports, genes and region masks.

    Files under ``root``::

        slides/<slide_id>.tiff  pyramidal tiled TIFF (OpenSlide, tifffile)
        manifest.csv            one row per slide: slide_id, file, seed, labels, concepts,
                                report (multi-line, quoted)
        genes.npz               genes (N, G) float32, gene_names (G,), slide_ids (N,)
        masks.npz               region masks at 1 / mask_downsample resolution, by slide_id
        cohort.json             how the cohort was made (seed, config, class names)

    Per-slide arrays are indexed like ``slide_ids``.
    """

    root: Path
    slide_ids: list[str]
    files: list[Path]  # absolute paths of the TIFFs
    seeds: np.ndarray  # (N,) int64
    tumour_type: np.ndarray  # (N,) int64, index into TUMOUR_TYPES
    grade: np.ndarray  # (N,) int64
    survival_months: np.ndarray  # (N,) float64
    event: np.ndarray  # (N,) int64, 1 = death observed, 0 = censored
    concepts: dict[str, np.ndarray]  # name -> (N,) array
    reports: list[str]
    genes: np.ndarray  # (N, G) float32
    gene_names: tuple[str, ...]
    mpp: float
    mask_downsample: int

    def __len__(self) -> int:
        return len(self.slide_ids)

    @classmethod
    def load(cls, root: str | Path) -> SlideCohort:
        """Read a cohort written by :func:`make_slide_cohort`.

        Raises
        ------
        FileNotFoundError
            If ``root`` lacks ``manifest.csv``, ``genes.npz`` or ``cohort.json``.
        """
        root = Path(root)
        for name in ("manifest.csv", "genes.npz", "cohort.json"):
            if not (root / name).is_file():
                raise FileNotFoundError(f"{root} is not a slide cohort: {name} is missing")
        with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        info = json.loads((root / "cohort.json").read_text(encoding="utf-8"))
        genes = np.load(root / "genes.npz")

        def column(name, dtype):
            return np.array([dtype(float(row[name])) for row in rows])

        return cls(
            root=root,
            slide_ids=[row["slide_id"] for row in rows],
            files=[root / row["file"] for row in rows],
            seeds=column("seed", int),
            tumour_type=column("tumour_type", int),
            grade=column("grade", int),
            survival_months=column("survival_months", float),
            event=column("event", int),
            concepts={
                name: column(name, float if name == "tumour_fraction" else int)
                for name in CONCEPT_NAMES
            },
            reports=[row["report"] for row in rows],
            genes=genes["genes"],
            gene_names=tuple(str(g) for g in genes["gene_names"]),
            mpp=float(info["config"]["mpp"]),
            mask_downsample=int(info["mask_downsample"]),
        )

    def region_mask(self, index: int) -> np.ndarray:
        """Region mask of slide ``index``, shape about (H / d, W / d) with d = mask_downsample."""
        with np.load(self.root / "masks.npz") as masks:
            return masks[self.slide_ids[index]]

    def read_image(self, index: int, level: int = 0) -> np.ndarray:
        """RGB pixels (H_level, W_level, 3) uint8 of one pyramid level, read with tifffile."""
        import tifffile

        return tifffile.imread(self.files[index], series=0, level=level)

    def open_slide(self, index: int):
        """The slide as an ``openslide.OpenSlide`` (close it, or use it in a ``with``)."""
        import openslide

        return openslide.OpenSlide(self.files[index])


def _balanced_labels(n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(tumour type, grade) pairs: every block of 9 slides holds each pair once, shuffled."""
    pairs = [(t, g) for t in range(len(TUMOUR_TYPES)) for g in GRADES]
    blocks = [pairs[i] for _ in range(-(-n // len(pairs))) for i in rng.permutation(len(pairs))]
    return blocks[:n]


def _slide_seeds(n: int, seed: int) -> list[int]:
    """``n`` distinct 32-bit seeds derived from the cohort's seed."""
    seeds: list[int] = []
    for value in np.random.SeedSequence(seed).generate_state(n):
        value = int(value)
        while value in seeds:  # a 32-bit collision is rare, but ids must be unique
            value = (value + 1) % 2**32
        seeds.append(value)
    return seeds


def _manifest_row(slide: SyntheticSlide, file: Path) -> dict[str, object]:
    row: dict[str, object] = {"slide_id": slide.slide_id, "file": file.as_posix()}
    row.update(seed=slide.seed, tumour_type=slide.tumour_type)
    row.update(tumour_type_name=slide.tumour_type_name, grade=slide.grade)
    row.update(survival_months=slide.survival_months, event=slide.event)
    row.update({name: slide.concepts[name] for name in CONCEPT_NAMES})
    row["report"] = slide.report
    return row


def make_slide_cohort(
    n: int,
    out_dir: str | Path,
    seed: int = 0,
    config: SlideConfig | None = None,
    progress: bool = True,
) -> SlideCohort:
    """Generate ``n`` slides into ``out_dir`` and return the cohort, reloaded from disk.

    Tumour types and grades are balanced: each block of 9 consecutive slides holds every
    (type, grade) pair once, in a shuffled order. The same ``seed`` and ``config`` give
    identical files. See :class:`SlideCohort` for the folder layout.

    Parameters
    ----------
    n : int
        Number of slides, >= 1.
    out_dir : str or Path
        Folder to write into (created; existing cohort files are overwritten).
    seed : int
        Cohort seed; slide seeds are derived from it.
    config : SlideConfig, optional
        Rendering settings for every slide.
    progress : bool
        Show a tqdm progress bar.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    config = SlideConfig() if config is None else config
    out_dir = Path(out_dir)
    (out_dir / "slides").mkdir(parents=True, exist_ok=True)
    labels = _balanced_labels(n, np.random.default_rng(seed))
    rows, genes, masks = [], [], {}
    seeds = _slide_seeds(n, seed)
    for slide_seed, (tumour_type, grade) in tqdm(
        list(zip(seeds, labels, strict=True)), desc="slides", unit="slide", disable=not progress
    ):
        slide = make_slide(slide_seed, config, tumour_type=tumour_type, grade=grade)
        file = Path("slides") / f"{slide.slide_id}.tiff"
        write_slide(slide, out_dir / file)
        rows.append(_manifest_row(slide, file))
        genes.append(slide.genes)
        half = MASK_DOWNSAMPLE // 2  # sample each block's centre pixel
        masks[slide.slide_id] = slide.region_mask[half::MASK_DOWNSAMPLE, half::MASK_DOWNSAMPLE]

    with open(out_dir / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ids = np.array([row["slide_id"] for row in rows])
    np.savez_compressed(
        out_dir / "genes.npz", genes=np.stack(genes), gene_names=np.array(GENE_NAMES), slide_ids=ids
    )
    np.savez_compressed(out_dir / "masks.npz", **masks)
    info = {
        "generator": "medai_edu.data.pathology",
        "seed": int(seed),
        "n": int(n),
        "config": dataclasses.asdict(config),
        "mask_downsample": MASK_DOWNSAMPLE,
        "region_classes": list(REGION_CLASSES),
        "tumour_types": list(TUMOUR_TYPES),
        "concepts": list(CONCEPT_NAMES),
    }
    (out_dir / "cohort.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return SlideCohort.load(out_dir)


# ----------------------------------------------------------------------------------------
# Tiles
# ----------------------------------------------------------------------------------------


class SlideTiles(NamedTuple):
    """Tiles cut from one slide; unpack as ``tiles, coords, labels, tissue = cut_tiles(...)``."""

    tiles: np.ndarray  # (N, t, t, 3) uint8
    coords: np.ndarray  # (N, 2) int64, level-0 (x, y) of each tile's top-left corner
    labels: np.ndarray  # (N,) uint8, majority tissue region (index into REGION_CLASSES)
    tissue_fraction: np.ndarray  # (N,) float32, share of the tile that is not background


def _region_counts(mask: np.ndarray, ys: np.ndarray, xs: np.ndarray, size: int) -> np.ndarray:
    """Pixels of each region class in every tile, (len(ys), len(xs), n_classes) int64.

    Uses a summed-area table per class: four lookups per tile, whatever the stride.
    """
    counts = np.empty((len(ys), len(xs), len(REGION_CLASSES)), np.int64)
    for c in range(len(REGION_CLASSES)):
        table = np.pad((mask == c).cumsum(0, dtype=np.int64).cumsum(1), ((1, 0), (1, 0)))
        y0, y1, x0, x1 = ys[:, None], ys[:, None] + size, xs[None, :], xs[None, :] + size
        counts[..., c] = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    return counts


def cut_tiles(
    slide: SyntheticSlide, tile_size: int = 224, stride: int | None = None, min_tissue: float = 0.5
) -> SlideTiles:
    """Cut a slide into square tiles on a regular grid and keep those with enough tissue.

    Parameters
    ----------
    slide : SyntheticSlide
    tile_size : int
        Tile side in level-0 pixels (224 px at 0.5 µm/px is 112 µm).
    stride : int, optional
        Step between tiles; defaults to ``tile_size`` (no overlap).
    min_tissue : float
        Keep tiles whose non-background share is at least this (0-1).

    Returns
    -------
    SlideTiles
        A tile's label is its most common tissue region (background does not count), so a
        tile that is 60 % glass and 40 % tumour is a tumour tile if it is kept at all.
    """
    height, width = slide.region_mask.shape
    stride = tile_size if stride is None else stride
    if not 0 < tile_size <= min(height, width):
        raise ValueError(f"tile_size must be in 1..{min(height, width)}, got {tile_size!r}")
    if stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    if not 0.0 <= min_tissue <= 1.0:
        raise ValueError(f"min_tissue must be in [0, 1], got {min_tissue!r}")
    ys = np.arange(0, height - tile_size + 1, stride)
    xs = np.arange(0, width - tile_size + 1, stride)
    counts = _region_counts(slide.region_mask, ys, xs, tile_size)
    tissue = 1.0 - counts[..., BACKGROUND] / tile_size**2
    iy, ix = np.nonzero((tissue >= min_tissue) & (tissue > 0))
    coords = np.stack([xs[ix], ys[iy]], axis=1).astype(np.int64)
    tiles = np.zeros((len(coords), tile_size, tile_size, 3), np.uint8)
    for k, (x, y) in enumerate(coords):
        tiles[k] = slide.image[y : y + tile_size, x : x + tile_size]
    labels = (counts[iy, ix, 1:].argmax(axis=1) + 1).astype(np.uint8)
    return SlideTiles(tiles, coords, labels, tissue[iy, ix].astype(np.float32))


class TileDataset(torch.utils.data.Dataset):
    """Tiles as a PyTorch dataset: ``(image, label)`` with image (3, t, t) float32 in [0, 1].

    Parameters
    ----------
    tiles : np.ndarray, shape (N, t, t, 3), uint8
    labels : np.ndarray, shape (N,), int
    transform : callable, optional
        Applied to each image tensor (augmentation, normalisation).
    """

    def __init__(self, tiles: np.ndarray, labels: np.ndarray, transform=None) -> None:
        tiles, labels = np.asarray(tiles), np.asarray(labels)
        if tiles.ndim != 4 or tiles.shape[-1] != 3 or tiles.dtype != np.uint8:
            raise ValueError(f"tiles must be (N, t, t, 3) uint8, got {tiles.shape} {tiles.dtype}")
        if len(labels) != len(tiles):
            raise ValueError(f"{len(tiles)} tiles but {len(labels)} labels")
        self.tiles, self.labels, self.transform = tiles, labels.astype(np.int64), transform
        self.slide_index = np.zeros(len(tiles), np.int64)  # which slide each tile came from

    @classmethod
    def from_slides(
        cls,
        slides: list[SyntheticSlide],
        tile_size: int = 224,
        stride: int | None = None,
        min_tissue: float = 0.5,
        label: str = "region",
        transform=None,
    ) -> TileDataset:
        """Tiles of several slides, labelled by ``label``: ``"region"`` (the tile's region
        class), or a slide label, ``"tumour_type"`` or ``"grade"`` (every tile of a slide
        gets it). ``slide_index`` records each tile's slide, for splitting by slide."""
        if label not in ("region", "tumour_type", "grade"):
            raise ValueError(f"label must be 'region', 'tumour_type' or 'grade', got {label!r}")
        parts = [cut_tiles(s, tile_size, stride, min_tissue) for s in slides]
        tiles = np.concatenate([p.tiles for p in parts])
        labels = np.concatenate(
            [
                p.labels if label == "region" else np.full(len(p.labels), getattr(s, label))
                for p, s in zip(parts, slides, strict=True)
            ]
        )
        dataset = cls(tiles, labels, transform)
        dataset.slide_index = np.repeat(np.arange(len(slides)), [len(p.labels) for p in parts])
        return dataset

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = torch.from_numpy(self.tiles[index]).permute(2, 0, 1).float().div_(255.0)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])
