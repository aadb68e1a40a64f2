"""The entry point for an uploaded breast MRI case, :func:`read_mri_upload`: NIfTI files, or
one zip of NIfTI files or DICOM series, unpacked safely (no zip slip, no zip bomb).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from medai_edu.demos.uploads import limits
from medai_edu.demos.uploads.dicom import read_dicom_files
from medai_edu.demos.uploads.limits import (
    MRI_HELP,
    NIFTI_SUFFIXES,
    UploadError,
    accepted_suffix,
    check_file_size,
    few,
)
from medai_edu.demos.uploads.nifti import read_nifti_files
from medai_edu.demos.uploads.volumes import MRIUpload


def read_mri_upload(paths: Any) -> MRIUpload:
    """Read an uploaded breast MRI case.

    Parameters
    ----------
    paths : list of str or Path
        The uploaded files, as a Gradio File component gives them (the base name is the
        original file name). Either NIfTI files named by sequence (``dce.nii.gz`` 4D x, y, z,
        phase; ``t2.nii.gz`` 3D; ``dwi.nii.gz`` 4D with the low and high b-value images;
        ``adc.nii.gz`` 3D; ``.nii`` too; the name may carry a prefix, ``case7_t2.nii.gz``),
        or one ``.zip`` holding such files or DICOM series (see :func:`write_case_dicom_zip`
        for their names). A single path is accepted too.

    Returns
    -------
    MRIUpload
        Volumes in (P,) Z, Y, X order, float32; any subset of the sequences.

    Raises
    ------
    UploadError
        For anything the demo cannot use; the message says what and what to upload instead.
    """
    if paths is None:  # Gradio gives None when nothing was uploaded
        paths = []
    if isinstance(paths, str | Path):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise UploadError(f"no files were uploaded. {MRI_HELP}")
    for path in paths:
        if not accepted_suffix(path, (*NIFTI_SUFFIXES, ".zip")):
            raise UploadError(
                f"{path.name}: this file type is not accepted; the demo reads NIfTI (.nii, "
                f".nii.gz) and .zip files. {MRI_HELP}"
            )
    zips = [p for p in paths if accepted_suffix(p, (".zip",))]
    if zips and len(paths) > 1:
        raise UploadError(
            f"upload either one .zip file on its own or NIfTI files, not both; got "
            f"{few([p.name for p in paths])}"
        )
    if zips:
        return _read_zip(zips[0])
    return read_nifti_files(paths, [])


def _hidden(relative: PurePosixPath) -> bool:
    """macOS resource forks (``__MACOSX/``, ``._t2.nii.gz``) and other dot files."""
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


def _extract_zip(path: Path, destination: Path) -> None:
    """Extract a zip into ``destination``, refusing paths that would land outside it."""
    corrupt = (
        f"{path.name} looks corrupt or truncated (the upload may have been cut off); zip the "
        f"files again and upload the new archive"
    )
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > limits.MAX_ZIP_MEMBERS:
                raise UploadError(
                    f"{path.name} holds {len(members):,} files; the demo accepts up to "
                    f"{limits.MAX_ZIP_MEMBERS:,}. Zip one case only."
                )
            unzipped = sum(m.file_size for m in members)
            if unzipped > limits.MAX_UNZIPPED_MB * limits.BYTES_PER_MB:
                raise UploadError(
                    f"{path.name} unpacks to {unzipped / limits.BYTES_PER_MB:,.0f} MB; the demo "
                    f"accepts up to {limits.MAX_UNZIPPED_MB:,} MB. Zip one case only."
                )
            root = destination.resolve()
            for member in members:
                name = member.filename.replace("\\", "/")
                target = (root / name).resolve()
                # Zip slip: "../x" or "/etc/x" would write outside the folder.
                if PurePosixPath(name).is_absolute() or not target.is_relative_to(root):
                    raise UploadError(
                        f"{path.name} holds a file whose path points outside the archive "
                        f"({member.filename!r}); the demo refuses such archives. Zip the "
                        f"files again from inside their folder."
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise UploadError(f"{corrupt} ({type(err).__name__}: {err})") from err


def _read_zip(path: Path) -> MRIUpload:
    """Read the NIfTI files, or else the DICOM series, of an uploaded zip."""
    check_file_size(path)
    # Extract into a fresh temporary folder: never next to the upload.
    with tempfile.TemporaryDirectory(prefix="medai_upload_") as temporary:
        unzipped = Path(temporary) / "unzipped"
        unzipped.mkdir()
        _extract_zip(path, unzipped)
        files = sorted(
            p
            for p in unzipped.rglob("*")
            if p.is_file() and not _hidden(PurePosixPath(p.relative_to(unzipped).as_posix()))
        )
        nifti = [p for p in files if accepted_suffix(p, NIFTI_SUFFIXES)]
        others = [p.relative_to(unzipped).as_posix() for p in files if p not in nifti]
        if nifti:
            notes = [f"ignored the other files in {path.name}: {few(others)}"] if others else []
            return read_nifti_files(nifti, notes)
        return read_dicom_files(files, unzipped, path.name, Path(temporary) / "series")
