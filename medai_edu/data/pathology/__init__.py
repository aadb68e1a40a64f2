"""Synthetic whole-slide pathology: H&E slides, reports, gene expression and outcomes.

Every case is drawn from one seed and carries the ground truth that real data never has:

* **clinical concepts** (architecture, nuclear pleomorphism, mitoses, necrosis, lymphocytic
  infiltrate, tumour fraction) that *cause* everything else: each type is graded the way
  pathologists grade it (:mod:`.patient`), they shape the picture, they move the pathways
  of the gene-expression vector and, with the TNM stage (:mod:`.staging`), the hazard of
  the survival time; lineage markers (:mod:`.markers`) at real-world rates;
* **patients and sites**: :func:`make_slide_bags` draws several slides (blocks) for some
  patients and stains and scans each site's slides its own way (:mod:`.sites`);
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

The package is split by concern; dependencies run one way, from the case to the picture
to the cohort:

- :mod:`.vocabulary`, :mod:`.seeding`: shared names and indices, per-part random streams;
- :mod:`.config`: :class:`SlideConfig`, :class:`CaseConfig` (``CaseConfig.original()``
  reproduces the first generator draw for draw);
- :mod:`.markers`, :mod:`.staging`, :mod:`.genes`, :mod:`.survival`, :mod:`.report`,
  :mod:`.patient`: the case without an image (:func:`sample_case`);
- :mod:`.sites`: hospitals' stains and scanners;
- :mod:`.patterns`, :mod:`.blobs`, :mod:`.nuclei`, :mod:`.layout`, :mod:`.tumour`,
  :mod:`.stroma`, :mod:`.host_cells`: morphology, drawn in microns;
- :mod:`.stain`, :mod:`.staining`: the H&E stain model and each compartment's stain uptake;
- :mod:`.slide`: :func:`make_slide`, :func:`write_slide`;
- :mod:`.cohort`, :mod:`.tiles`, :mod:`.bags`: folders of slides, tiles for training, and
  slides as bags of tiles (:class:`SlideBags`).

Names with a leading underscore are internal to the package.
"""

from medai_edu.data.pathology.bags import SlideBags, make_slide_bags
from medai_edu.data.pathology.cohort import MASK_DOWNSAMPLE, SlideCohort, make_slide_cohort
from medai_edu.data.pathology.config import BAG_SLIDE, SMALL_SLIDE, CaseConfig, SlideConfig
from medai_edu.data.pathology.genes import GENE_NAMES, PATHWAYS, pathway_scores
from medai_edu.data.pathology.markers import MARKER_RATES
from medai_edu.data.pathology.nuclei import NUCLEUS_KINDS
from medai_edu.data.pathology.patient import (
    PathologyCase,
    grade_from_concepts,
    sample_case,
    survival_oracle_cindex,
)
from medai_edu.data.pathology.report import write_report
from medai_edu.data.pathology.sites import Site, make_sites
from medai_edu.data.pathology.slide import (
    SyntheticSlide,
    make_slide,
    render_slide_image,
    write_slide,
)
from medai_edu.data.pathology.staging import STAGE_NAMES, STAGES
from medai_edu.data.pathology.stain import REFERENCE_STAIN_MATRIX, lab_stain, stain_to_rgb
from medai_edu.data.pathology.survival import log_hazard_ratio
from medai_edu.data.pathology.tiles import SlideTiles, TileDataset, cut_tiles
from medai_edu.data.pathology.vocabulary import (
    ADENO,
    BACKGROUND,
    CONCEPT_NAMES,
    GRADES,
    LYMPHOCYTES,
    NECROSIS,
    REGION_CLASSES,
    SMALL_CELL,
    SQUAMOUS,
    STROMA,
    TUMOUR,
    TUMOUR_TYPES,
)

__all__ = [
    "BAG_SLIDE",
    "CaseConfig",
    "MARKER_RATES",
    "STAGES",
    "STAGE_NAMES",
    "Site",
    "make_sites",
    "survival_oracle_cindex",
    "SlideBags",
    "make_slide_bags",
    "ADENO",
    "BACKGROUND",
    "CONCEPT_NAMES",
    "GENE_NAMES",
    "GRADES",
    "LYMPHOCYTES",
    "MASK_DOWNSAMPLE",
    "NECROSIS",
    "NUCLEUS_KINDS",
    "PATHWAYS",
    "PathologyCase",
    "REFERENCE_STAIN_MATRIX",
    "REGION_CLASSES",
    "SMALL_CELL",
    "SQUAMOUS",
    "STROMA",
    "SlideCohort",
    "SMALL_SLIDE",
    "SlideConfig",
    "SlideTiles",
    "SyntheticSlide",
    "TUMOUR",
    "TUMOUR_TYPES",
    "TileDataset",
    "cut_tiles",
    "grade_from_concepts",
    "lab_stain",
    "log_hazard_ratio",
    "make_slide",
    "make_slide_cohort",
    "pathway_scores",
    "render_slide_image",
    "sample_case",
    "stain_to_rgb",
    "write_report",
    "write_slide",
]
