"""Breast MRI cases as NIfTI files, one per sequence, named by it (``dce.nii.gz``,
``case7_t2.nii.gz``, ...): reading them and writing a synthetic case as such files.

NIfTI stores the voxel axes as (x, y, z[, volume]); arrays here are (P,) Z, Y, X, so reading
and writing transpose them. Spacings are (z, y, x) in millimetres.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medai_edu.demos.uploads.limits import (
    NIFTI_SUFFIXES,
    UploadError,
    accepted_suffix,
    check_file_size,
)
from medai_edu.demos.uploads.volumes import (
    MRI_NAMES,
    VOLUME_DESCRIPTION,
    VOLUME_NDIM,
    MRIUpload,
    check_volume,
    check_volume_size,
    finish_upload,
)

if TYPE_CHECKING:
    from medai_edu.data.breast_mri import BreastMRICase


def _modality_of(path: Path) -> str | None:
    """``case7_T2.nii.gz`` -> ``"t2"``: the last ``_``-separated part of the base name."""
    suffix = accepted_suffix(path, NIFTI_SUFFIXES) or ""
    base = path.name[: len(path.name) - len(suffix)].lower()
    last = base.rsplit("_", 1)[-1]
    return last if last in MRI_NAMES else None


def _assign_modalities(paths: list[Path]) -> dict[str, Path]:
    """Map each NIfTI file to its sequence by name; refuse unknown names and duplicates."""
    assigned: dict[str, Path] = {}
    for path in paths:
        name = _modality_of(path)
        if name is None:
            raise UploadError(
                f"{path.name} does not name an MRI sequence; accepted names are "
                f"{', '.join(n + '.nii.gz' for n in MRI_NAMES)} (or .nii, optionally with a "
                f"prefix such as case7_t2.nii.gz)"
            )
        if name in assigned:
            raise UploadError(
                f"two files for {name}: {assigned[name].name} and {path.name}; upload one file "
                f"per sequence"
            )
        assigned[name] = path
    return assigned


def _nifti_errors() -> tuple[type[BaseException], ...]:
    """What nibabel, gzip and zlib raise on a corrupt or truncated file."""
    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError

    return (ImageFileError, HeaderDataError, OSError, EOFError, ValueError, zlib.error)


def _read_nifti(path: Path, name: str) -> tuple[np.ndarray, tuple[float, float, float]]:
    """One NIfTI file as an array in (P,) Z, Y, X order, float32, and its (z, y, x) spacing."""
    import nibabel

    check_file_size(path)
    corrupt = (
        f"{path.name} looks corrupt or truncated (the upload may have been cut off); "
        f"export the NIfTI file again and upload it"
    )
    try:
        image = nibabel.load(path)
    except _nifti_errors() as err:
        raise UploadError(f"{corrupt} ({type(err).__name__}: {err})") from err
    shape = tuple(int(n) for n in image.shape)
    # Tools often save a 3D image as 4D with one volume: (x, y, z, 1).
    while len(shape) > VOLUME_NDIM[name] and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != VOLUME_NDIM[name]:
        raise UploadError(
            f"{name} must be {VOLUME_DESCRIPTION[name]}, got shape {shape} from {path.name}"
        )
    check_volume_size(name, shape, path.name)
    try:  # nibabel reads lazily: force the data here, where truncation can be caught
        data = image.get_fdata(dtype=np.float32).reshape(shape)
    except _nifti_errors() as err:
        raise UploadError(f"{corrupt} ({type(err).__name__}: {err})") from err
    data = np.ascontiguousarray(data.transpose(tuple(reversed(range(data.ndim)))))
    zooms = [float(v) for v in image.header.get_zooms()[:3]]
    zooms += [1.0] * (3 - len(zooms))
    return data, (zooms[2], zooms[1], zooms[0])


def read_nifti_files(paths: list[Path], notes: list[str]) -> MRIUpload:
    """Read NIfTI files named by sequence; ``notes`` say what else the upload held."""
    assigned = _assign_modalities(paths)
    volumes: dict[str, np.ndarray] = {}
    spacing = None
    for name in MRI_NAMES:
        if name in assigned:
            volume, zooms = _read_nifti(assigned[name], name)
            check_volume(name, volume, assigned[name].name)
            volumes[name] = volume
            spacing = spacing or zooms
    return finish_upload(volumes, spacing, "nifti", notes)


def write_case_nifti(case: BreastMRICase, folder: str | Path) -> list[Path]:
    """Write a case as ``dce.nii.gz``, ``t2.nii.gz``, ``dwi.nii.gz`` and ``adc.nii.gz``.

    Parameters
    ----------
    case : BreastMRICase
        From :func:`medai_edu.data.breast_mri.make_breast_mri_case`.
    folder : str or Path
        Created if needed.

    Returns
    -------
    list of Path
        The four files, in the order of :data:`MRI_NAMES`. The voxel axes are stored as
        (x, y, z[, volume]) and the affine is ``diag(x_mm, y_mm, z_mm, 1)``, so
        :func:`read_mri_upload` gives back the case's arrays and spacing exactly.
    """
    import nibabel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    z_mm, y_mm, x_mm = (float(v) for v in case.spacing_mm)
    affine = np.diag([x_mm, y_mm, z_mm, 1.0])
    paths = []
    for name in MRI_NAMES:
        volume = np.asarray(getattr(case, name), dtype=np.float32)
        image = nibabel.Nifti1Image(volume.transpose(tuple(reversed(range(volume.ndim)))), affine)
        image.header.set_xyzt_units("mm", "sec")
        path = folder / f"{name}.nii.gz"
        nibabel.save(image, path)
        paths.append(path)
    return paths
