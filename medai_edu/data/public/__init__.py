"""Loaders for the formats of the public datasets a real course uses.

The course ships none of these datasets; students download them. The loaders are real and
strict, so that a wrong file fails here, with a message that says what is wrong, instead of
deep inside a training loop. One module per format:

- :mod:`.medmnist`: MedMNIST ``.npz`` archives (:func:`load_medmnist`,
  :class:`MedMNISTDataset`);
- :mod:`.slide_folder`: a folder of whole-slide images with an optional ``slide_id,label``
  CSV, as CAMELYON or a TCGA download looks (:class:`SlideFolder`);
- :mod:`.dicom_series`: a folder holding one DICOM series, one slice per file, as a CT or
  MR scanner exports it (:func:`load_dicom_series`).
"""

from medai_edu.data.public.dicom_series import DicomSeriesError, DicomVolume, load_dicom_series
from medai_edu.data.public.medmnist import (
    MEDMNIST_SPLITS,
    MedMNISTDataset,
    MedMNISTFormatError,
    load_medmnist,
)
from medai_edu.data.public.slide_folder import (
    SLIDE_EXTENSIONS,
    SlideFolder,
    SlideFolderError,
    SlideRecord,
)

__all__ = [
    # MedMNIST
    "MEDMNIST_SPLITS",
    "MedMNISTDataset",
    "MedMNISTFormatError",
    "load_medmnist",
    # whole-slide folders
    "SLIDE_EXTENSIONS",
    "SlideFolder",
    "SlideFolderError",
    "SlideRecord",
    # DICOM series
    "DicomSeriesError",
    "DicomVolume",
    "load_dicom_series",
]
