"""Real scanner files: pydicom's DICOM test objects and nibabel's NIfTI volumes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from medai_edu.data.samples.cache import sample_path

if TYPE_CHECKING:  # heavy imports stay inside the loaders that need them
    import nibabel
    import pydicom


#: Short names accepted by :func:`load_dicom_sample`.
DICOM_SAMPLES: dict[str, str] = {
    "ct": "pydicom-ct",
    "mr": "pydicom-mr",
    "us": "pydicom-us",
    "seg": "pydicom-seg",
    "ecg": "pydicom-ecg",
}


def load_dicom_sample(name: Literal["ct", "mr", "us", "seg", "ecg"]) -> pydicom.Dataset:
    """Read one of pydicom's real test files as a ``pydicom.Dataset``.

    Parameters
    ----------
    name : {"ct", "mr", "us", "seg", "ecg"}
        - ``"ct"``: CT slice, ``pixel_array`` (128, 128) int16 stored values; Hounsfield
          units are ``pixel_array * RescaleSlope + RescaleIntercept`` (slope 1, -1024).
        - ``"mr"``: MR slice, (64, 64) int16, arbitrary units (MR has no absolute scale).
        - ``"us"``: ultrasound frame, (240, 320, 3) uint8 RGB.
        - ``"seg"``: DICOM SEG, one (512, 512) uint8 binary frame (segment "Liver").
        - ``"ecg"``: 12-lead ECG; ``ds.waveform_array(0)`` is (10000, 12) float64 in
          microvolts at 1000 Hz (10 s rhythm), ``waveform_array(1)`` a (1200, 12) median beat.

    Returns
    -------
    pydicom.Dataset
    """
    import pydicom

    try:
        sample_name = DICOM_SAMPLES[name]
    except KeyError:
        raise ValueError(
            f"unknown DICOM sample {name!r}; choose one of {list(DICOM_SAMPLES)}"
        ) from None
    return pydicom.dcmread(sample_path(sample_name))


#: Short names accepted by :func:`load_nifti_sample`.
NIFTI_SAMPLES: dict[str, str] = {
    "anatomical": "nibabel-anatomical",
    "example4d": "nibabel-example4d",
}


def load_nifti_sample(name: Literal["anatomical", "example4d"]) -> nibabel.Nifti1Image:
    """Read one of nibabel's real test volumes.

    Parameters
    ----------
    name : {"anatomical", "example4d"}
        - ``"anatomical"``: 3D, shape (33, 41, 25), 2 mm isotropic voxels, big-endian int16.
        - ``"example4d"``: 4D fMRI, shape (128, 96, 24, 2): x, y, z and two time points;
          voxels 2 x 2 x 2.2 mm.

    Returns
    -------
    nibabel.Nifti1Image
        ``img.get_fdata()`` gives the float64 array; ``img.affine`` maps voxel indices to
        RAS+ millimetres.
    """
    import nibabel

    try:
        sample_name = NIFTI_SAMPLES[name]
    except KeyError:
        raise ValueError(
            f"unknown NIfTI sample {name!r}; choose one of {list(NIFTI_SAMPLES)}"
        ) from None
    return nibabel.load(sample_path(sample_name))
