"""The whole slide: render a case's H&E image and bundle it with every label.

:func:`make_slide` draws the case (:func:`.patient.sample_case`), renders its image
(:func:`render_slide_image`) and measures the tumour fraction on the region mask;
:func:`write_slide` saves the image as a pyramidal TIFF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from medai_edu.data.pathology.config import CaseConfig, SlideConfig
from medai_edu.data.pathology.host_cells import _background_nuclei
from medai_edu.data.pathology.layout import _layout_regions
from medai_edu.data.pathology.nuclei import _add_mitoses, _Nuclei, _render_nuclei
from medai_edu.data.pathology.patient import sample_case
from medai_edu.data.pathology.report import write_report
from medai_edu.data.pathology.seeding import _child_rngs
from medai_edu.data.pathology.sites import Site, _slide_stain
from medai_edu.data.pathology.stain import lab_stain, stain_to_rgb
from medai_edu.data.pathology.staining import _paint_stains
from medai_edu.data.pathology.stroma import _Collagen, _vessels
from medai_edu.data.pathology.tumour import _TUMOUR_PAINTERS
from medai_edu.data.pathology.vocabulary import TUMOUR, TUMOUR_TYPES
from medai_edu.data.pyramid import write_pyramid_tiff


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
    stage : int
        TNM stage 1-4 (0: drawn without staging); not visible on the slide.
    markers : dict of str to float, optional
        Immunohistochemistry (see :mod:`.markers`).
    section : int
        Which block of the patient's tumour the slide was cut from (0 = the first).
    site : int
        The hospital that stained and scanned it (-1: its own laboratory, no site).
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
    stage: int = 0
    markers: dict[str, float] | None = None
    section: int = 0
    site: int = -1

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


def _image_rng(seed: int, section: int) -> np.random.Generator:
    """The image's generator: section 0 is the first generator's, the others their own."""
    if section == 0:
        return _child_rngs(seed)["image"]
    return np.random.default_rng([int(seed), 1000 + int(section)])


def render_slide_image(
    seed: int,
    config: SlideConfig,
    tumour_type: int,
    concepts: dict[str, float],
    section: int = 0,
    site: Site | None = None,
    visible_infiltrate: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the H&E image of a case from its concepts.

    ``section`` picks another block of the same tumour (a different picture of the same
    case); ``site`` stains and scans it the way that hospital does (otherwise each slide
    gets its own laboratory); ``visible_infiltrate`` draws tumour-infiltrating lymphocytes
    as densely as real brisk infiltrates are (the realistic generator).

    Returns
    -------
    image : np.ndarray, shape (height, width, 3), uint8
    region_mask : np.ndarray, shape (height, width), uint8
        Index into :data:`REGION_CLASSES`.
    stain_matrix : np.ndarray, shape (2, 3), float32
        The slide's haematoxylin and eosin optical-density vectors.
    """
    rng = _image_rng(seed, section)
    shape = (config.height, config.width)
    layout = _layout_regions(rng, config, concepts)
    drawing = _TUMOUR_PAINTERS[tumour_type](rng, layout, concepts)
    mitotic_fraction = (0.003, 0.01, 0.025)[int(concepts["mitotic_count"])]
    _add_mitoses(rng, drawing.nuclei, mitotic_fraction)
    collagen = _Collagen.draw(rng, shape, layout.px_per_um)
    vessels, vessel_distance = _vessels(rng, layout)
    others = _background_nuclei(
        rng, layout, drawing, collagen, vessels, vessel_distance, concepts, visible_infiltrate
    )
    nuclei = _Nuclei.concat([drawing.nuclei, *others])
    nuclear = _render_nuclei(rng, nuclei, shape, layout.px_per_um)
    stains = _paint_stains(rng, layout, tumour_type, drawing, collagen, vessel_distance, nuclear)
    # The microscope's optics blur a little (point-spread function of ~0.25 µm).
    blur_um = 0.25 if site is None else site.blur_um
    stains = ndi.gaussian_filter(stains, (blur_um * layout.px_per_um,) * 2 + (0,))
    if site is None:
        matrix, amounts, white = lab_stain(rng, config.stain_variation)
    else:
        matrix, amounts, white = _slide_stain(site, rng)
    rgb = stain_to_rgb(stains * amounts, matrix, white)
    rgb += rng.normal(0.0, 1.5, rgb.shape).astype(np.float32)  # sensor noise
    image = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return image, layout.region_mask(), matrix


def make_slide(
    seed: int,
    config: SlideConfig | None = None,
    tumour_type: int | str | None = None,
    grade: int | None = None,
    cases: CaseConfig | None = None,
    section: int = 0,
    site: Site | None = None,
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
        Request a grade (1-3); random if omitted (small cell carcinoma is always grade 3
        under the default per-type grading).
    cases : CaseConfig, optional
        How the case is drawn (:class:`CaseConfig`); ``CaseConfig.original()`` gives the
        first generator's slides.
    section : int
        Another block of the same patient's tumour: same case, different picture.
    site : Site, optional
        The hospital that stains and scans the slide (:func:`make_sites`).

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
    cases = CaseConfig() if cases is None else cases
    if not isinstance(config, SlideConfig):
        raise ValueError(f"config must be a SlideConfig, got {type(config).__name__}")
    if isinstance(section, bool) or not isinstance(section, int | np.integer) or section < 0:
        raise ValueError(f"section must be a non-negative integer, got {section!r}")
    case = sample_case(seed, tumour_type, grade, cases)
    image, region_mask, stain_matrix = render_slide_image(
        seed,
        config,
        case.tumour_type,
        case.concepts,
        section,
        site,
        visible_infiltrate=not cases.is_original,
    )
    tissue = np.count_nonzero(region_mask)
    concepts = dict(case.concepts)
    viable = np.count_nonzero(region_mask == TUMOUR)
    concepts["tumour_fraction"] = round(float(viable / max(tissue, 1)), 4)
    report = write_report(
        case.case_id, case.tumour_type, case.grade, concepts, seed, cases.report, case.markers
    )
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
        stage=case.stage,
        markers=case.markers,
        section=int(section),
        site=-1 if site is None else site.index,
    )


def write_slide(slide: SyntheticSlide, path: str | Path, tile: int = 256) -> Path:
    """Write the slide's image as a pyramidal tiled TIFF that OpenSlide and tifffile open.

    Only the pixels and the microns per pixel go into the file; labels stay out of it.
    """
    description = f"medai_edu synthetic H&E slide {slide.slide_id}"
    return write_pyramid_tiff(path, slide.image, slide.mpp, tile=tile, description=description)
