"""The limits on what the demo accepts, the error it raises, and checks shared by every
kind of upload (file size, file-name endings).

An instructor may change the limits for a server with the environment variables
``MEDAI_EDU_MAX_UPLOAD_MB``, ``MEDAI_EDU_MAX_VOXELS`` and ``MEDAI_EDU_MAX_SLIDE_PIXELS``.
The other modules read them as ``limits.MAX_...`` at call time, so a test may change them.
"""

from __future__ import annotations

import os
from pathlib import Path


class UploadError(ValueError):
    """An upload the demo cannot use; the message says why and what would work."""


MAX_UPLOAD_MB = float(os.environ.get("MEDAI_EDU_MAX_UPLOAD_MB", 200))  # any uploaded file
MAX_VOXELS = int(os.environ.get("MEDAI_EDU_MAX_VOXELS", 256**3))  # per MRI volume (3D frame)
# level-0 width * height of an uploaded slide
MAX_SLIDE_PIXELS = int(os.environ.get("MEDAI_EDU_MAX_SLIDE_PIXELS", 20_000 * 20_000))

BYTES_PER_MB = 1_000_000
FRAMES_PER_FILE = 8  # one file holds at most 8 * MAX_VOXELS voxels: bounds the memory used
MAX_UNZIPPED_MB = 20 * MAX_UPLOAD_MB  # 9 series of 256 slices fit; a zip bomb does not
MAX_ZIP_MEMBERS = 20_000
NIFTI_SUFFIXES = (".nii.gz", ".nii")
SLIDE_SUFFIXES = (".tif", ".tiff", ".svs")
MRI_HELP = (
    "Upload NIfTI files named dce.nii.gz, t2.nii.gz, dwi.nii.gz and adc.nii.gz (or .nii; a "
    "prefix such as case7_t2.nii.gz is fine), or one .zip holding such files or DICOM series."
)


def check_file_size(path: str | Path, limit_mb: float | None = None) -> None:
    """Raise :class:`UploadError` if a file is missing or larger than ``limit_mb``.

    Parameters
    ----------
    path : str or Path
    limit_mb : float, optional
        Largest accepted size in megabytes (10^6 bytes); default :data:`MAX_UPLOAD_MB`.
    """
    path = Path(path)
    limit_mb = MAX_UPLOAD_MB if limit_mb is None else limit_mb
    try:
        size = path.stat().st_size
    except OSError as err:  # Gradio deletes uploads after a while; or a wrong path
        raise UploadError(
            f"the uploaded file {path.name} cannot be found any more; upload it again"
        ) from err
    if size > limit_mb * BYTES_PER_MB:
        raise UploadError(
            f"{path.name} is {size / BYTES_PER_MB:.1f} MB; the demo accepts files up to "
            f"{limit_mb:g} MB. Upload a smaller file (crop or downsample the image first)."
        )


def accepted_suffix(path: Path, accepted: tuple[str, ...]) -> str | None:
    """The accepted ending of a file name (case-insensitive), or None."""
    name = path.name.lower()
    return next((s for s in accepted if name.endswith(s)), None)


def few(names: list[str], limit: int = 8) -> str:
    """The first ``limit`` names, comma-separated, and how many more there are."""
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")
