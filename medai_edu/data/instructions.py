"""Diagnosis-guided bootstrapping: instruction data for MedDr-mini from images and labels.

MedDr (He et al., arXiv 2404.15127) has few image-report pairs but many images with a
diagnosis label. It bootstraps instruction data from them: templates turn each label into
a visual question and its answer, a multiple-choice question over the diagnoses and a short
report, so the model learns to talk about what the label says. Here every image also has
ground-truth *concepts* (margin, kinetics, gland formation, stain intensity, ...), so the
templates write them as findings, and a report the model generates can be parsed back into
findings: a finding the case does not have is a hallucination, which can be counted.

Three modalities of 2D images, each (3, 32, 32) float32 in [0, 1]: ``"breast-mri"``
(synthetic mpMRI, :mod:`medai_edu.data.breast_mri`), ``"pathology"`` (synthetic lung H&E,
:mod:`medai_edu.data.pathology`) and ``"ihc"`` (crops of a real DAB immunostain).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
from skimage.transform import resize

from medai_edu.data.breast_mri import KINETICS, MARGINS, make_breast_mri_cohort
from medai_edu.data.pathology import (
    SMALL_SLIDE,
    TUMOUR,
    TUMOUR_TYPES,
    CaseConfig,
    cut_tiles,
    make_slide,
)

MODALITIES = ("breast-mri", "pathology", "ihc")
IMAGE_SIZE = 32

#: Names of the diagnosis classes of each modality (``ImageCases.diagnosis`` indexes them).
DIAGNOSES: dict[str, tuple[str, ...]] = {
    "breast-mri": ("benign", "malignant"),
    "pathology": TUMOUR_TYPES,
    "ihc": ("DAB negative", "DAB positive"),
}

#: Names of the values of each concept of each modality.
CONCEPT_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "breast-mri": {
        "margin": MARGINS,
        "kinetic": KINETICS,
        "diffusion": ("not restricted", "restricted"),
    },
    "pathology": {
        "glands": ("absent", "present"),
        "keratin": ("absent", "present"),
        "pleomorphism": ("mild", "moderate", "marked"),
    },
    "ihc": {"intensity": ("weak", "moderate", "strong"), "nuclei": ("sparse", "dense")},
}

# --- breast MRI: fixed intensity windows, so a case's image never depends on its cohort.
#: (low, high) mapped to [0, 1] for each channel: early subtraction and T2 in the generator's
#: arbitrary units (site gains 0.7-1.4 put lesions below ~1.4), ADC in 10^-3 mm^2/s.
MRI_RANGES = {"subtraction": (0.0, 1.5), "t2": (0.0, 1.5), "adc": (0.0, 3.0)}
#: The crop is this many times the lesion's extent in its central slice ...
MRI_CROP_FACTOR = 2.5
#: ... and at least this many voxels wide (2 mm voxels).
MRI_MIN_CROP = 8
#: The DCE phase closest to this time (minutes) is the "early" post-contrast phase.
MRI_EARLY_PHASE_MIN = 2.0

# --- pathology
#: Tile side in level-0 pixels: 64 px at 0.5 um/px (32 um, the tiles of mSTAR-mini's bags),
#: averaged over 2 x 2 blocks to 32 px at 1 um/px.
PATHOLOGY_TILE = 64

# --- IHC: thresholds in scikit-image's stain units (optical density / 6), chosen on this
# image: stroma lies below ~0.02 DAB, the stained glands mostly above 0.05.
#: A pixel is DAB-stained above this concentration.
IHC_DAB_THRESHOLD = 0.05
#: A crop is "DAB positive" when at least this share of its pixels is DAB-stained; near the
#: median over random crops, so the two classes are balanced (~50 % each).
IHC_POSITIVE_FRACTION = 0.65
#: Mean DAB concentration of a crop: below the first is weak, below the second moderate,
#: else strong (about the tertiles over random crops).
IHC_INTENSITY_CUTOFFS = (0.035, 0.08)
#: A pixel is haematoxylin-stained (nuclear) above this concentration ...
IHC_HAEMATOXYLIN_THRESHOLD = 0.04
#: ... and a crop has "dense" nuclei when at least this share of its pixels is (the median).
IHC_DENSE_FRACTION = 0.07


@dataclass
class ImageCases:
    """Small 2D images of one modality with their diagnosis and ground-truth concepts.

    Attributes
    ----------
    modality : str
        One of :data:`MODALITIES`.
    images : np.ndarray, shape (N, 3, 32, 32), float32 in [0, 1]
    diagnosis : np.ndarray, shape (N,), int64
        Index into ``diagnoses``.
    diagnoses : tuple of str
        Names of the diagnosis classes.
    concepts : dict of str to np.ndarray
        Concept name -> (N,) int64 index into ``concept_values[name]``.
    concept_values : dict of str to tuple of str
        Concept name -> names of its values.
    case_ids : list of str
    """

    modality: str
    images: np.ndarray
    diagnosis: np.ndarray
    diagnoses: tuple[str, ...]
    concepts: dict[str, np.ndarray]
    concept_values: dict[str, tuple[str, ...]]
    case_ids: list[str]

    def __post_init__(self):
        n = len(self.images)
        lengths = [len(self.diagnosis), len(self.case_ids), *map(len, self.concepts.values())]
        if any(length != n for length in lengths):
            raise ValueError(f"{n} images but per-case fields of lengths {lengths}")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> ImageCases:
        """Cases selected by an integer index array or a boolean mask."""
        index = np.arange(len(self))[np.asarray(index)]
        return ImageCases(
            modality=self.modality,
            images=self.images[index],
            diagnosis=self.diagnosis[index],
            diagnoses=self.diagnoses,
            concepts={name: values[index] for name, values in self.concepts.items()},
            concept_values=self.concept_values,
            case_ids=[self.case_ids[k] for k in index],
        )

    def concepts_of(self, i: int) -> dict[str, str]:
        """``{concept: value name}`` of case ``i``."""
        return {name: self.concept_values[name][int(v[i])] for name, v in self.concepts.items()}


# --------------------------------------------------------------------------- images


def make_image_cases(modality: str, n: int, seed: int = 0) -> ImageCases:
    """``n`` images of one modality with diagnoses and concepts, deterministic in ``seed``.

    Case ``i`` depends only on (modality, seed, i): the first k cases of n equal k cases.

    Raises
    ------
    ValueError
        For an unknown modality or ``n < 1``.
    """
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive number of cases, got {n!r}")
    maker = {"breast-mri": _breast_mri, "pathology": _pathology, "ihc": _ihc}[modality]
    images, diagnosis, concepts = maker(int(n), seed)
    return ImageCases(
        modality=modality,
        images=np.asarray(images, np.float32),
        diagnosis=np.asarray(diagnosis, np.int64),
        diagnoses=DIAGNOSES[modality],
        concepts={k: np.asarray(v, np.int64) for k, v in concepts.items()},
        concept_values=dict(CONCEPT_VALUES[modality]),
        case_ids=[f"{modality}-{seed}-{i:04d}" for i in range(int(n))],
    )


def make_instruction_cases(n_per_modality: int, seed: int = 0) -> dict[str, ImageCases]:
    """:func:`make_image_cases` for every modality in :data:`MODALITIES`."""
    return {m: make_image_cases(m, n_per_modality, seed) for m in MODALITIES}


def _to_image(channels_last: np.ndarray) -> np.ndarray:
    """(h, w, 3) float in [0, 1] -> (3, 32, 32) float32, bilinear (anti-aliased if shrunk)."""
    out = resize(channels_last, (IMAGE_SIZE, IMAGE_SIZE), order=1)
    return np.clip(out, 0, 1).astype(np.float32).transpose(2, 0, 1)


def _window(values: np.ndarray, low_high: tuple[float, float]) -> np.ndarray:
    low, high = low_high
    return np.clip((values - low) / (high - low), 0, 1)


def _lesion_square(mask: np.ndarray) -> tuple[int, slice, slice]:
    """Central slice of a (Z, Y, X) lesion mask and a square (rows, cols) around the lesion.

    The slice with the largest lesion area; the square is centred on the lesion's centroid,
    :data:`MRI_CROP_FACTOR` times its extent, and shifted (not cut) to stay inside the slice.
    """
    _, height, width = mask.shape
    z = int(mask.sum(axis=(1, 2)).argmax())
    rows, cols = np.nonzero(mask[z])
    if len(rows) == 0:  # no lesion voxel (should not happen): the whole slice
        rows, cols = np.array([0, height - 1]), np.array([0, width - 1])
    extent = max(np.ptp(rows), np.ptp(cols)) + 1
    side = int(np.clip(round(MRI_CROP_FACTOR * extent), MRI_MIN_CROP, min(height, width)))
    top = int(np.clip(round(rows.mean() - side / 2), 0, height - side))
    left = int(np.clip(round(cols.mean() - side / 2), 0, width - side))
    return z, slice(top, top + side), slice(left, left + side)


def _breast_mri(n: int, seed: int):
    """Central lesion slice: R early subtraction, G T2, B ADC, each in a fixed window."""
    cohort = make_breast_mri_cohort(n, seed=seed)
    times = np.asarray(cohort.config.dce_times_min)
    early = int(np.abs(times - MRI_EARLY_PHASE_MIN).argmin())
    images = np.empty((n, 3, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for i in range(n):
        z, rows, cols = _lesion_square(cohort.mask[i])
        subtraction = cohort.dce[i, early, z] - cohort.dce[i, 0, z]
        channels = [
            _window(subtraction, MRI_RANGES["subtraction"]),
            _window(cohort.t2[i, z], MRI_RANGES["t2"]),
            _window(cohort.adc[i, z], MRI_RANGES["adc"]),
        ]
        images[i] = _to_image(np.stack(channels, axis=-1)[rows, cols])
    concepts = {
        "margin": cohort.margin,
        "kinetic": cohort.kinetic,
        "diffusion": cohort.diffusion_restricted,
    }
    return images, cohort.malignant, concepts


def _pathology(n: int, seed: int):
    """One random tumour tile per small synthetic slide (slide seed ``seed * 100_000 + i``).

    The slides keep the first pathology generator (``CaseConfig.original()``): the shipped
    MedDr-mini was trained on them; moving it to the realistic cases is MedDr's to do."""
    images = np.empty((n, 3, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    diagnosis = np.empty(n, np.int64)
    concepts = {name: np.empty(n, np.int64) for name in CONCEPT_VALUES["pathology"]}
    for i in range(n):
        slide_seed = seed * 100_000 + i
        slide = make_slide(slide_seed, SMALL_SLIDE, cases=CaseConfig.original())
        cut = cut_tiles(slide, PATHOLOGY_TILE, min_tissue=0.5)
        candidates = np.flatnonzero(cut.labels == TUMOUR)
        if len(candidates) == 0:  # a slide without a tumour tile: any tissue tile
            candidates = np.arange(len(cut.labels))
        tile = cut.tiles[np.random.default_rng(slide_seed).choice(candidates)]
        factor = PATHOLOGY_TILE // IMAGE_SIZE  # block means: exact, no interpolation
        blocks = tile.reshape(IMAGE_SIZE, factor, IMAGE_SIZE, factor, 3) / 255.0
        images[i] = blocks.mean(axis=(1, 3)).transpose(2, 0, 1)
        diagnosis[i] = slide.tumour_type
        concepts["glands"][i] = slide.concepts["gland_formation"]
        concepts["keratin"][i] = slide.concepts["keratinisation"]
        concepts["pleomorphism"][i] = slide.concepts["nuclear_pleomorphism"]
    return images, diagnosis, concepts


@functools.lru_cache(maxsize=1)
def _ihc_image() -> tuple[np.ndarray, np.ndarray]:
    """The real IHC image as (H, W, 3) RGB in [0, 1] and its (H, W, 3) H, E, DAB stains."""
    from medai_edu.data.samples import load_ihc
    from medai_edu.wsi import separate_stains

    rgb = load_ihc()
    return rgb / 255.0, separate_stains(rgb)


def _ihc_labels(stains: np.ndarray) -> tuple[int, int, int]:
    """Diagnosis, intensity and nuclei codes of a (h, w, 3) H, E, DAB concentration crop."""
    dab, haematoxylin = stains[..., 2], stains[..., 0]
    positive = int((dab > IHC_DAB_THRESHOLD).mean() >= IHC_POSITIVE_FRACTION)
    intensity = int(np.searchsorted(IHC_INTENSITY_CUTOFFS, dab.mean(), side="right"))
    dense = int((haematoxylin > IHC_HAEMATOXYLIN_THRESHOLD).mean() >= IHC_DENSE_FRACTION)
    return positive, intensity, dense


def _ihc(n: int, seed: int):
    """32 px crops of the real IHC image at random positions, randomly flipped and rotated."""
    rgb, stains = _ihc_image()
    height, width, _ = rgb.shape
    images = np.empty((n, 3, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    labels = np.empty((n, 3), np.int64)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        rng = np.random.default_rng(child)
        y = rng.integers(height - IMAGE_SIZE + 1)
        x = rng.integers(width - IMAGE_SIZE + 1)
        window = (slice(y, y + IMAGE_SIZE), slice(x, x + IMAGE_SIZE))
        crop = np.rot90(rgb[window], k=rng.integers(4))
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        images[i] = crop.transpose(2, 0, 1)
        labels[i] = _ihc_labels(stains[window])  # the labels do not depend on the orientation
    return images, labels[:, 0], {"intensity": labels[:, 1], "nuclei": labels[:, 2]}


# --------------------------------------------------------------------------- templates

#: What the image is called in a question.
IMAGE_NOUNS = {"breast-mri": "breast mri", "pathology": "lung pathology image", "ihc": "ihc image"}

#: One question per concept, and its answer with ``{}`` for the value name.
VQA_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "breast-mri": {
        "margin": ("what is the margin of the lesion?", "the margin is {}."),
        "kinetic": ("what is the enhancement curve of the lesion?", "the kinetic curve is {}."),
        "diffusion": ("is diffusion restricted in the lesion?", "diffusion is {}."),
    },
    "pathology": {
        "glands": ("does the tumour form glands?", "glands are {}."),
        "keratin": ("is keratin seen in the tumour?", "keratin is {}."),
        "pleomorphism": ("how pleomorphic are the tumour nuclei?", "nuclear pleomorphism is {}."),
    },
    "ihc": {
        "intensity": ("how strong is the dab staining?", "the dab staining is {}."),
        "nuclei": ("how dense are the nuclei?", "the nuclei are {}."),
    },
}

#: The words a report uses for every value of every concept: ``[modality][concept][value]``.
#: :func:`report_findings` inverts it, matching the longest phrase first, so a negation
#: ("no restricted diffusion") is never read as the finding it contains.
FINDING_PHRASES: dict[str, dict[str, dict[str, str]]] = {
    "breast-mri": {
        "margin": {v: f"{v} margin" for v in MARGINS},
        "kinetic": {v: f"{v} kinetics" for v in KINETICS},
        "diffusion": {
            "not restricted": "no restricted diffusion",
            "restricted": "restricted diffusion",
        },
    },
    "pathology": {
        "glands": {"absent": "no gland formation", "present": "gland formation"},
        "keratin": {"absent": "no keratinisation", "present": "keratinisation"},
        "pleomorphism": {
            v: f"{v} nuclear pleomorphism" for v in CONCEPT_VALUES["pathology"]["pleomorphism"]
        },
    },
    "ihc": {
        "intensity": {v: f"{v} dab staining" for v in CONCEPT_VALUES["ihc"]["intensity"]},
        "nuclei": {v: f"{v} nuclei" for v in CONCEPT_VALUES["ihc"]["nuclei"]},
    },
}

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def vqa_pairs(cases: ImageCases, i: int) -> list[tuple[str, str]]:
    """One (question, answer) per concept of case ``i``, e.g.
    ``("what is the margin of the lesion?", "the margin is spiculated.")``."""
    templates = VQA_TEMPLATES[cases.modality]
    return [
        (templates[name][0], templates[name][1].format(value))
        for name, value in cases.concepts_of(i).items()
    ]


def multiple_choice(
    cases: ImageCases, i: int, rng: np.random.Generator | None = None
) -> tuple[str, str]:
    """Every diagnosis as a lettered option, in an order shuffled by ``rng`` (or in the
    order of ``cases.diagnoses`` without one); the answer is the true one, e.g.
    ``"(a) malignant."``.

    MedDr-mini trains and is tested with the fixed order: a model learning from scratch in
    minutes does not learn to read shuffled option letters (it answers one letter always).
    """
    n = len(cases.diagnoses)
    order = np.arange(n) if rng is None else rng.permutation(n)
    names = [cases.diagnoses[k].lower() for k in order]
    options = " ".join(f"({_LETTERS[j]}) {name}" for j, name in enumerate(names))
    question = f"which diagnosis fits this {IMAGE_NOUNS[cases.modality]}? options: {options}."
    j = int(np.flatnonzero(order == cases.diagnosis[i])[0])
    return question, f"({_LETTERS[j]}) {names[j]}."


def report(cases: ImageCases, i: int) -> tuple[str, str]:
    """``("write a short report.", "findings: <phrase>, <phrase>. impression: <diagnosis>.")``
    with the phrases of :data:`FINDING_PHRASES` in concept order."""
    phrases = FINDING_PHRASES[cases.modality]
    findings = ", ".join(phrases[name][value] for name, value in cases.concepts_of(i).items())
    impression = cases.diagnoses[int(cases.diagnosis[i])].lower()
    return "write a short report.", f"findings: {findings}. impression: {impression}."


def case_instructions(cases: ImageCases, i: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """Every instruction of case ``i``: the VQA pairs, one multiple choice, the report."""
    return [*vqa_pairs(cases, i), multiple_choice(cases, i, rng), report(cases, i)]


# --------------------------------------------------------------------------- parsing


def _mentions(text: str, phrases: list[str]) -> list[tuple[int, int]]:
    """(position, index into ``phrases``) of each phrase in ``text``, in reading order.

    Case-insensitive, whole words only; longer phrases claim their words first, and a
    shorter phrase inside a claimed span is not counted ("no gland formation" is not also
    "gland formation").
    """
    text = text.lower()
    claimed = bytearray(len(text))
    found = []
    for k in sorted(range(len(phrases)), key=lambda k: -len(phrases[k])):
        for match in re.finditer(rf"(?<!\w){re.escape(phrases[k].lower())}(?!\w)", text):
            if not any(claimed[match.start() : match.end()]):
                claimed[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
                found.append((match.start(), k))
    return sorted(found)


def parse_choice(answer: str, options: list[str]) -> int | None:
    """Index into ``options`` of the diagnosis an answer names, by letter ``"(b)"`` or name.

    None if it names no option, or several different ones (a letter and a name that
    disagree count as two).
    """
    letters = {_LETTERS.index(c) for c in re.findall(r"\(([a-z])\)", answer.lower())}
    named = {k for _, k in _mentions(answer, list(options))}
    chosen = {k for k in letters if k < len(options)} | named
    return chosen.pop() if len(chosen) == 1 else None


def _finding_mentions(text: str, modality: str) -> list[tuple[str, str]]:
    """Every (concept, value) a text names, in reading order."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
    table = [
        (concept, value, phrase)
        for concept, values in FINDING_PHRASES[modality].items()
        for value, phrase in values.items()
    ]
    return [table[k][:2] for _, k in _mentions(text, [row[2] for row in table])]


def report_findings(text: str, modality: str) -> dict[str, str]:
    """Concept -> value named in a report, by :data:`FINDING_PHRASES`.

    A concept not mentioned is absent; one mentioned twice keeps its first mention (all
    mentions count in :func:`hallucinated_findings`).
    """
    findings: dict[str, str] = {}
    for concept, value in _finding_mentions(text, modality):
        findings.setdefault(concept, value)
    return findings


def hallucinated_findings(text: str, cases: ImageCases, i: int) -> list[str]:
    """Findings a text names that case ``i`` does not have, as ``"concept: value"``.

    A wrong value of a concept is a hallucination; a concept left out is not (that is an
    omission). Each distinct wrong finding is listed once, in reading order.
    """
    truth = cases.concepts_of(i)
    wrong = [
        f"{concept}: {value}"
        for concept, value in _finding_mentions(text, cases.modality)
        if truth[concept] != value
    ]
    return list(dict.fromkeys(wrong))
