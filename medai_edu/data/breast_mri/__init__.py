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

The package is split like :mod:`medai_edu.data.pathology`, from the truth to the picture
to the cohort:

- :mod:`.vocabulary`: concept values, subtypes, labels;
- :mod:`.scanner`, :mod:`.config`: :class:`ScannerSite`, :class:`BreastMRIConfig`;
- :mod:`.causal`: the truth of a case, before any image (:func:`malignancy_probability`,
  :func:`pcr_probability`, :func:`oracle_auroc`);
- :mod:`.kinetics`: :func:`kinetic_curve`, the enhancement over time;
- :mod:`.anatomy`, :mod:`.render`: the renderer (breast, lesion, sequences, scanner);
- :mod:`.case`, :mod:`.cohort`: :class:`BreastMRICase`, :class:`BreastMRICohort`,
  :func:`make_breast_mri_cohort`.

Names with a leading underscore are internal to the package.
"""

from medai_edu.data.breast_mri.case import BreastMRICase
from medai_edu.data.breast_mri.causal import (
    malignancy_probability,
    malignancy_score,
    oracle_auroc,
    pcr_oracle_auroc,
    pcr_probability,
)
from medai_edu.data.breast_mri.cohort import (
    BreastMRICohort,
    make_breast_mri_case,
    make_breast_mri_cohort,
)
from medai_edu.data.breast_mri.config import BreastMRIConfig
from medai_edu.data.breast_mri.kinetics import kinetic_curve
from medai_edu.data.breast_mri.scanner import DEFAULT_SITES, SHIFTED_SITES, ScannerSite
from medai_edu.data.breast_mri.vocabulary import (
    CONCEPTS,
    KINETICS,
    LABELS,
    MARGINS,
    NOT_APPLICABLE,
    SUBTYPES,
)

__all__ = [
    # vocabulary
    "CONCEPTS",
    "KINETICS",
    "LABELS",
    "MARGINS",
    "NOT_APPLICABLE",
    "SUBTYPES",
    # configuration
    "DEFAULT_SITES",
    "SHIFTED_SITES",
    "BreastMRIConfig",
    "ScannerSite",
    # the causal story
    "kinetic_curve",
    "malignancy_probability",
    "malignancy_score",
    "oracle_auroc",
    "pcr_oracle_auroc",
    "pcr_probability",
    # cases and cohorts
    "BreastMRICase",
    "BreastMRICohort",
    "make_breast_mri_case",
    "make_breast_mri_cohort",
]
