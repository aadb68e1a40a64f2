"""Read what a student uploads into the demo app, and say clearly what is wrong with it.

Two kinds of upload:

- a breast MRI case for MOME-mini: NIfTI files named by sequence (``dce.nii.gz``,
  ``t2.nii.gz``, ``dwi.nii.gz``, ``adc.nii.gz``), or one ``.zip`` of such files or of DICOM
  series (:func:`read_mri_upload`, then :func:`model_inputs`);
- a whole-slide image for mSTAR-mini: ``.tif``, ``.tiff`` or ``.svs``
  (:func:`read_slide_upload`, then :func:`slide_tiles`).

Every problem raises :class:`UploadError`, whose message is shown to the student in the web
page: it says what was wrong and what to upload instead. :func:`write_case_nifti` and
:func:`write_case_dicom_zip` write a synthetic case in the accepted formats, as examples to
upload and for the tests.

Axis conventions: arrays are (Z, Y, X) as in :mod:`medai_edu.data.breast_mri`, with the
phases or b-values first for 4D volumes, (P, Z, Y, X). NIfTI files store the voxel axes the
other way round, (x, y, z[, volume]), so reading transposes them. Spacings are (z, y, x) in
millimetres. This module does not import gradio.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    import pydicom

    from medai_edu.data.breast_mri import BreastMRICase
    from medai_edu.wsi import Slide

__all__ = [
    "MAX_SLIDE_PIXELS",
    "MAX_UPLOAD_MB",
    "MAX_VOXELS",
    "MODEL_MODALITIES",
    "MRI_NAMES",
    "MRIUpload",
    "SlideTiles",
    "UploadError",
    "check_file_size",
    "model_inputs",
    "read_mri_upload",
    "read_slide_upload",
    "slide_tiles",
    "write_case_dicom_zip",
    "write_case_nifti",
]


class UploadError(ValueError):
    """An upload the demo cannot use; the message says why and what would work."""


# The limits; an instructor may change them for a server with the environment variables
# MEDAI_EDU_MAX_UPLOAD_MB, MEDAI_EDU_MAX_VOXELS and MEDAI_EDU_MAX_SLIDE_PIXELS.
MAX_UPLOAD_MB = float(os.environ.get("MEDAI_EDU_MAX_UPLOAD_MB", 200))  # any uploaded file
MAX_VOXELS = int(os.environ.get("MEDAI_EDU_MAX_VOXELS", 256**3))  # per MRI volume (3D frame)
# level-0 width * height of an uploaded slide
MAX_SLIDE_PIXELS = int(os.environ.get("MEDAI_EDU_MAX_SLIDE_PIXELS", 20_000 * 20_000))
MRI_NAMES = ("dce", "t2", "dwi", "adc")

#: MOME-mini's three inputs, in the order of its ``present`` mask.
MODEL_MODALITIES = ("dce", "t2", "dwi")

_BYTES_PER_MB = 1_000_000
_FRAMES_PER_FILE = 8  # one file holds at most 8 * MAX_VOXELS voxels: bounds the memory used
_MAX_UNZIPPED_MB = 20 * MAX_UPLOAD_MB  # 9 series of 256 slices fit; a zip bomb does not
_MAX_ZIP_MEMBERS = 20_000
_NIFTI_SUFFIXES = (".nii.gz", ".nii")
_SLIDE_SUFFIXES = (".tif", ".tiff", ".svs")
_NDIM = {"dce": 4, "t2": 3, "dwi": 4, "adc": 3}
_WHAT = {
    "dce": "a 4D volume (x, y, z, phase): one pre-contrast phase, then the post-contrast ones",
    "t2": "a 3D volume",
    "dwi": "a 4D volume (x, y, z, 2): the low and then the high b-value image",
    "adc": "a 3D volume, in 10^-3 mm^2/s",
}
_MRI_HELP = (
    "Upload NIfTI files named dce.nii.gz, t2.nii.gz, dwi.nii.gz and adc.nii.gz (or .nii; a "
    "prefix such as case7_t2.nii.gz is fine), or one .zip holding such files or DICOM series."
)
_DICOM_HELP = (
    "Name the DICOM series (SeriesDescription) 'DCE phase 0', 'DCE phase 1', ..., 'T2', "
    "'DWI b=<b-value>' (two series) and 'ADC'."
)


# ======================================================================================
# File checks shared by both kinds of upload
# ======================================================================================


def check_file_size(path: str | Path, limit_mb: float = MAX_UPLOAD_MB) -> None:
    """Raise :class:`UploadError` if a file is missing or larger than ``limit_mb``.

    Parameters
    ----------
    path : str or Path
    limit_mb : float
        Largest accepted size in megabytes (10^6 bytes).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:  # Gradio deletes uploads after a while; or a wrong path
        raise UploadError(
            f"the uploaded file {path.name} cannot be found any more; upload it again"
        ) from err
    if size > limit_mb * _BYTES_PER_MB:
        raise UploadError(
            f"{path.name} is {size / _BYTES_PER_MB:.1f} MB; the demo accepts files up to "
            f"{limit_mb:g} MB. Upload a smaller file (crop or downsample the image first)."
        )


def _suffix(path: Path, accepted: tuple[str, ...]) -> str | None:
    """The accepted ending of a file name (case-insensitive), or None."""
    name = path.name.lower()
    return next((s for s in accepted if name.endswith(s)), None)


def _few(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


# ======================================================================================
# MRI: what an upload holds
# ======================================================================================


@dataclass
class MRIUpload:
    """The MRI volumes of one uploaded case.

    Attributes
    ----------
    volumes : dict of str to ndarray, float32
        Only the sequences uploaded: ``"dce"`` (P, Z, Y, X) pre-contrast then post-contrast
        phases; ``"t2"`` (Z, Y, X); ``"dwi"`` (2, Z, Y, X) b-low then b-high images;
        ``"adc"`` (Z, Y, X) in 10^-3 mm^2/s. All share (Z, Y, X).
    spacing_mm : (float, float, float)
        Voxel size (z, y, x) in mm, of the first volume read (in the order of
        :data:`MRI_NAMES`).
    source : {"nifti", "dicom"}
    notes : list of str
        What was uploaded but ignored (unrelated files, DICOM series with other names), for
        the app to show.
    """

    volumes: dict[str, np.ndarray]
    spacing_mm: tuple[float, float, float]
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def modalities(self) -> tuple[str, ...]:
        """Which of MOME's inputs ("dce", "t2", "dwi") can be built; dwi needs dwi and adc."""
        available = {"dce": "dce" in self.volumes, "t2": "t2" in self.volumes}
        available["dwi"] = "dwi" in self.volumes and "adc" in self.volumes
        return tuple(m for m in MODEL_MODALITIES if available[m])


def _check_volume_size(name: str, shape: tuple[int, ...], source: str) -> None:
    """Refuse a volume whose 3D frames or whole file exceed the voxel limits, before reading."""
    frame = int(np.prod(shape[:3], dtype=np.int64))
    if frame > MAX_VOXELS:
        raise UploadError(
            f"{name} ({source}) has {frame:,} voxels per volume ({' x '.join(map(str, shape[:3]))}"
            f"); the demo accepts up to {MAX_VOXELS:,}. Crop or downsample it first."
        )
    total = int(np.prod(shape, dtype=np.int64))
    if total > _FRAMES_PER_FILE * MAX_VOXELS:
        raise UploadError(
            f"{name} ({source}) has {total:,} voxels in all; the demo accepts up to "
            f"{_FRAMES_PER_FILE * MAX_VOXELS:,} per sequence. Upload fewer or smaller volumes."
        )


def _check_volume(name: str, volume: np.ndarray, source: str) -> None:
    """Check a volume in array order: dimensions, phases or b-values, finite values."""
    if volume.ndim != _NDIM[name]:
        raise UploadError(
            f"{name} must be {_WHAT[name]}, got an image of shape {volume.shape} from {source}"
        )
    if name == "dce" and len(volume) < 3:
        raise UploadError(
            f"dce needs at least 3 phases (one pre-contrast and at least two post-contrast), "
            f"got {len(volume)} in {source}"
        )
    if name == "dwi" and len(volume) != 2:
        raise UploadError(
            f"dwi must hold exactly 2 volumes (the low, then the high b-value image), got "
            f"{len(volume)} in {source}; upload the ADC map separately as adc"
        )
    bad = int(np.count_nonzero(~np.isfinite(volume)))
    if bad:
        raise UploadError(
            f"{name} ({source}) has {bad:,} NaN or infinite voxels; replace them (for example "
            f"with 0) before uploading"
        )


def _check_same_grid(volumes: dict[str, np.ndarray]) -> None:
    """All sequences must share one voxel grid: the model reads them voxel by voxel."""
    grids = {name: volume.shape[-3:] for name, volume in volumes.items()}
    if len(set(grids.values())) > 1:
        listed = ", ".join(f"{n} {'x'.join(map(str, g))}" for n, g in grids.items())
        raise UploadError(
            f"the sequences have different sizes (Z x Y x X): {listed}. They must be "
            f"co-registered on one voxel grid; resample them to the same grid before uploading."
        )


def _finish(volumes, spacing, source, notes) -> MRIUpload:
    if not volumes:
        raise UploadError(f"the upload holds no MRI sequence. {_MRI_HELP}")
    _check_same_grid(volumes)
    return MRIUpload(volumes, spacing, source, notes)


# ======================================================================================
# MRI: NIfTI
# ======================================================================================


def _modality_of(path: Path) -> str | None:
    """``case7_T2.nii.gz`` -> ``"t2"``: the last ``_``-separated part of the base name."""
    suffix = _suffix(path, _NIFTI_SUFFIXES) or ""
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

    check_file_size(path, MAX_UPLOAD_MB)
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
    while len(shape) > _NDIM[name] and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != _NDIM[name]:
        raise UploadError(f"{name} must be {_WHAT[name]}, got shape {shape} from {path.name}")
    _check_volume_size(name, shape, path.name)
    try:  # nibabel reads lazily: force the data here, where truncation can be caught
        data = image.get_fdata(dtype=np.float32).reshape(shape)
    except _nifti_errors() as err:
        raise UploadError(f"{corrupt} ({type(err).__name__}: {err})") from err
    data = np.ascontiguousarray(data.transpose(tuple(reversed(range(data.ndim)))))
    zooms = [float(v) for v in image.header.get_zooms()[:3]]
    zooms += [1.0] * (3 - len(zooms))
    return data, (zooms[2], zooms[1], zooms[0])


def _read_nifti_files(paths: list[Path], notes: list[str]) -> MRIUpload:
    assigned = _assign_modalities(paths)
    volumes: dict[str, np.ndarray] = {}
    spacing = None
    for name in MRI_NAMES:
        if name in assigned:
            volume, zooms = _read_nifti(assigned[name], name)
            _check_volume(name, volume, assigned[name].name)
            volumes[name] = volume
            spacing = spacing or zooms
    return _finish(volumes, spacing, "nifti", notes)


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


# ======================================================================================
# MRI: zip archives
# ======================================================================================


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
            if len(members) > _MAX_ZIP_MEMBERS:
                raise UploadError(
                    f"{path.name} holds {len(members):,} files; the demo accepts up to "
                    f"{_MAX_ZIP_MEMBERS:,}. Zip one case only."
                )
            unzipped = sum(m.file_size for m in members)
            if unzipped > _MAX_UNZIPPED_MB * _BYTES_PER_MB:
                raise UploadError(
                    f"{path.name} unpacks to {unzipped / _BYTES_PER_MB:,.0f} MB; the demo "
                    f"accepts up to {_MAX_UNZIPPED_MB:,} MB. Zip one case only."
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
    check_file_size(path, MAX_UPLOAD_MB)
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
        nifti = [p for p in files if _suffix(p, _NIFTI_SUFFIXES)]
        others = [p.relative_to(unzipped).as_posix() for p in files if p not in nifti]
        if nifti:
            notes = [f"ignored the other files in {path.name}: {_few(others)}"] if others else []
            return _read_nifti_files(nifti, notes)
        return _read_dicom_files(files, unzipped, path.name, Path(temporary) / "series")


# ======================================================================================
# MRI: DICOM series (inside a zip)
# ======================================================================================

_DCE_PATTERN = re.compile(r"dce\s*phase\s*(\d+)")
_DWI_PATTERN = re.compile(r"dwi\s*b\s*=\s*(\d+(?:\.\d*)?)")


def _series_role(description: str) -> tuple[str, float] | None:
    """("dce", k), ("t2", 0), ("dwi", b) or ("adc", 0) from a SeriesDescription, or None."""
    text = description.strip().lower()
    if match := _DCE_PATTERN.fullmatch(text):
        return "dce", float(match.group(1))
    if match := _DWI_PATTERN.fullmatch(text):
        return "dwi", float(match.group(1))
    if text in ("t2", "adc"):
        return text, 0.0
    return None


@dataclass
class _Series:
    """The files of one DICOM series, found in an unzipped folder."""

    uid: str
    description: str
    first: pydicom.Dataset
    files: list[Path] = field(default_factory=list)


def _dicom_series(files: list[Path], root: Path, zip_name: str) -> dict[str, _Series]:
    """Group the DICOM images among ``files`` by SeriesInstanceUID; skip other files."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    series: dict[str, _Series] = {}
    for path in files:
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except InvalidDicomError:
            continue  # no DICOM preamble: a README, a thumbnail, ...
        except Exception as err:  # noqa: BLE001 - pydicom raises many types on broken files
            raise UploadError(
                f"{path.relative_to(root).as_posix()} in {zip_name} looks like a corrupt or "
                f"truncated DICOM file ({type(err).__name__}: {err}); export the series again"
            ) from err
        if "Rows" not in header:
            continue  # a DICOMDIR, a report: no image
        uid = str(header.get("SeriesInstanceUID", ""))
        if uid not in series:
            series[uid] = _Series(uid, str(header.get("SeriesDescription", "")), header)
        series[uid].files.append(path)
    return series


def _load_series(found: _Series, folder: Path, zip_name: str) -> tuple[np.ndarray, tuple]:
    """Load one series with :func:`load_dicom_series`; (Z, Y, X) float32 and spacing."""
    from medai_edu.data.public import DicomSeriesError, load_dicom_series

    shape = (len(found.files), int(found.first.Rows), int(found.first.Columns))
    _check_volume_size(f"series '{found.description}'", shape, zip_name)
    # load_dicom_series reads one folder, so give each series a folder of its own.
    folder.mkdir(parents=True, exist_ok=False)
    for k, path in enumerate(found.files):
        path.rename(folder / f"{k:05d}_{path.name}")
    try:
        volume = load_dicom_series(folder, series_uid=found.uid)
    except DicomSeriesError as err:
        message = str(err).replace(str(folder), f"{zip_name}: series '{found.description}'")
        raise UploadError(message) from err
    return volume.voxels, tuple(float(v) for v in volume.spacing_mm)


def _stack(name: str, parts: list[tuple[str, np.ndarray]], zip_name: str) -> np.ndarray:
    shapes = {description: part.shape for description, part in parts}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"'{d}' {'x'.join(map(str, s))}" for d, s in shapes.items())
        raise UploadError(
            f"the {name} series in {zip_name} have different sizes: {listed}; they must share "
            f"one voxel grid"
        )
    return np.stack([part for _, part in parts])


def _read_dicom_files(files: list[Path], root: Path, zip_name: str, work: Path) -> MRIUpload:
    series = _dicom_series(files, root, zip_name)
    if not series:
        names = [p.relative_to(root).as_posix() for p in files]
        found = f"it holds: {_few(names)}" if names else "it is empty"
        raise UploadError(
            f"{zip_name} holds nothing the demo can use: no NIfTI file and no DICOM image "
            f"({found}). {_MRI_HELP}"
        )
    roles: dict[str, list[tuple[float, _Series]]] = {name: [] for name in MRI_NAMES}
    ignored = []
    for found in series.values():
        role = _series_role(found.description)
        if role is None:
            ignored.append(repr(found.description))
        else:
            roles[role[0]].append((role[1], found))
    if not any(roles.values()):
        raise UploadError(
            f"none of the DICOM series in {zip_name} is named as the demo expects; their "
            f"SeriesDescriptions are {_few(sorted(ignored))}. {_DICOM_HELP}"
        )
    _check_dicom_roles(roles, zip_name)
    notes = [f"ignored DICOM series {_few(sorted(ignored))}"] if ignored else []

    volumes: dict[str, np.ndarray] = {}
    spacing, loaded = None, 0
    for name in MRI_NAMES:
        parts = []
        for _, found in sorted(roles[name], key=lambda item: item[0]):  # phase k, b-value
            voxels, zooms = _load_series(found, work / f"series_{loaded}", zip_name)
            loaded += 1
            spacing = spacing or zooms
            parts.append((found.description, voxels))
        if not parts:
            continue
        volume = _stack(name, parts, zip_name) if name in ("dce", "dwi") else parts[0][1]
        _check_volume(name, volume, zip_name)
        volumes[name] = volume
    return _finish(volumes, spacing, "dicom", notes)


def _check_dicom_roles(roles: dict[str, list[tuple[float, _Series]]], zip_name: str) -> None:
    """One series per role: every DCE phase 0..P-1 once, one T2, one ADC, two DWI."""
    for name in MRI_NAMES:
        keys = [key for key, _ in roles[name]]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            described = ", ".join(repr(f.description) for k, f in roles[name] if k == repeated[0])
            raise UploadError(
                f"{zip_name} holds several series for the same {name} image ({described}); "
                f"keep one series per sequence"
            )
    phases = sorted(int(k) for k, _ in roles["dce"])
    if phases and phases != list(range(len(phases))):
        missing = sorted(set(range(max(phases) + 1)) - set(phases))
        raise UploadError(
            f"the DCE series in {zip_name} are phases {phases}; phase(s) {missing} are missing. "
            f"Number the phases from 0 (pre-contrast) without gaps."
        )
    if roles["dwi"] and len(roles["dwi"]) != 2:
        described = ", ".join(repr(f.description) for _, f in roles["dwi"])
        raise UploadError(
            f"dwi needs exactly 2 DICOM series (a low and a high b-value), found "
            f"{len(roles['dwi'])} in {zip_name}: {described}"
        )


def _quantise(volume: np.ndarray) -> tuple[np.ndarray, str, str]:
    """Map floats onto uint16: ``volume ~ stored * slope + intercept``.

    Returns the stored values and the slope and intercept as DICOM decimal strings.

    The slope and intercept are rounded to 8 significant digits first, because DICOM stores
    them as decimal strings of at most 16 characters; the stored values are computed with
    the rounded numbers, so the error stays below half a step (1 / 131070 of the range).
    """
    low, high = float(volume.min()), float(volume.max())
    intercept_text = f"{low:.8g}"
    intercept = float(intercept_text)
    slope_text = f"{max(high - intercept, 1e-12) / 65535:.8g}"
    slope = float(slope_text)
    stored = np.rint((volume.astype(np.float64) - intercept) / slope)
    return np.clip(stored, 0, 65535).astype(np.uint16), slope_text, intercept_text


def _slice_dataset(
    stored: np.ndarray, z: int, spacing_mm, scale: tuple[str, str], uids: dict[str, str], series
) -> pydicom.Dataset:
    """One MR slice as a DICOM file dataset (explicit VR little endian)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    number, description, b_value = series
    z_mm, y_mm, x_mm = (float(v) for v in spacing_mm)
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids["study"], uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.PatientName, ds.PatientID = "Synthetic^Case", "SYNTHETIC"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "MR", number, z + 1
    ds.SeriesDescription = description
    if b_value is not None:
        ds.DiffusionBValue = float(b_value)
    # Axial slices: rows along +x, columns along +y, so the slice normal is +z.
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0.0, 0.0, f"{z * z_mm:.6g}"]
    ds.PixelSpacing = [f"{y_mm:.6g}", f"{x_mm:.6g}"]  # (row spacing, column spacing)
    ds.SliceThickness = ds.SpacingBetweenSlices = f"{z_mm:.6g}"
    ds.RescaleSlope, ds.RescaleIntercept = scale
    ds.Rows, ds.Columns = stored.shape[1:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.ascontiguousarray(stored[z]).tobytes()
    return ds


def write_case_dicom_zip(case: BreastMRICase, path: str | Path) -> Path:
    """Write a case as a zip of DICOM MR series, one file per slice.

    Series, each with its own SeriesInstanceUID and folder in the zip: "DCE phase k" for
    k = 0..P-1, "T2", "DWI b=<b>" for each of ``case.b_values`` and "ADC". Pixels are
    stored as uint16 with a per-series RescaleSlope and RescaleIntercept, so the values
    come back to within 1 / 131070 of each series' range.

    Parameters
    ----------
    case : BreastMRICase
    path : str or Path
        The ``.zip`` to write; parent folders are created.

    Returns
    -------
    Path
    """
    import pydicom
    from pydicom.uid import generate_uid

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    series = [(f"DCE phase {k}", case.dce[k], None) for k in range(len(case.dce))]
    series.append(("T2", case.t2, None))
    series += [(f"DWI b={b:g}", case.dwi[k], b) for k, b in enumerate(case.b_values)]
    series.append(("ADC", case.adc, None))
    uids = {"study": generate_uid(), "frame": generate_uid()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, (description, volume, b_value) in enumerate(series, start=1):
            stored, *scale = _quantise(np.asarray(volume, dtype=np.float32))
            uids["series"] = generate_uid()
            folder = f"{number:02d}_{description.replace(' ', '_').replace('=', '')}"
            for z in range(len(stored)):
                ds = _slice_dataset(
                    stored, z, case.spacing_mm, tuple(scale), uids, (number, description, b_value)
                )
                buffer = io.BytesIO()
                pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
                archive.writestr(f"{folder}/IM{z + 1:04d}.dcm", buffer.getvalue())
    return path


# ======================================================================================
# MRI: entry points
# ======================================================================================


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
        raise UploadError(f"no files were uploaded. {_MRI_HELP}")
    for path in paths:
        if not _suffix(path, (*_NIFTI_SUFFIXES, ".zip")):
            raise UploadError(
                f"{path.name}: this file type is not accepted; the demo reads NIfTI (.nii, "
                f".nii.gz) and .zip files. {_MRI_HELP}"
            )
    zips = [p for p in paths if _suffix(p, (".zip",))]
    if zips and len(paths) > 1:
        raise UploadError(
            f"upload either one .zip file on its own or NIfTI files, not both; got "
            f"{_few([p.name for p in paths])}"
        )
    if zips:
        return _read_zip(zips[0])
    return _read_nifti_files(paths, [])


def _resample(volume: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Linear resampling of each 3D frame of a (..., Z, Y, X) volume to ``shape``."""
    from scipy import ndimage

    if volume.shape[-3:] == tuple(shape):
        return volume
    factors = [n / m for n, m in zip(shape, volume.shape[-3:], strict=True)]
    frames = volume.reshape(-1, *volume.shape[-3:])
    resampled = np.stack([ndimage.zoom(frame, factors, order=1) for frame in frames])
    return resampled.reshape(*volume.shape[:-3], *shape).astype(np.float32)


def model_inputs(upload: MRIUpload, shape: tuple[int, int, int] = (16, 32, 32)) -> dict:
    """MOME-mini's inputs for one uploaded case, normalised as in training.

    Each volume is resampled linearly to ``shape`` when its size differs (the model was
    trained on this grid; physical spacing is not matched), then normalised exactly as
    :class:`~medai_edu.data.datasets.BreastMRIDataset` does
    (:func:`~medai_edu.data.datasets.normalise_volumes`).

    Parameters
    ----------
    upload : MRIUpload
    shape : (int, int, int)
        (Z, Y, X) the model expects.

    Returns
    -------
    dict
        ``"dce"`` (1, 5, Z, Y, X), ``"t2"`` (1, 1, Z, Y, X), ``"dwi"`` (1, 3, Z, Y, X):
        b-low, b-high, ADC; float32 tensors. ``"present"`` (1, 3) bool tensor, in the
        order ("dce", "t2", "dwi"). A missing sequence is zeros with ``present`` False.

    Raises
    ------
    UploadError
        No usable sequence, or a DCE with a number of phases other than the model's 5.
    """
    import torch

    from medai_edu.data.breast_mri import BreastMRIConfig
    from medai_edu.data.datasets import normalise_volumes

    phases = len(BreastMRIConfig().dce_times_min)
    channels = {"dce": phases, "t2": 1, "dwi": 3}
    available = upload.modalities
    if not available:
        raise UploadError(
            f"the upload holds only {', '.join(upload.volumes) or 'nothing'}; MOME-mini needs "
            f"dce, t2, or dwi together with adc"
        )
    if "dce" in available and len(upload.volumes["dce"]) != phases:
        raise UploadError(
            f"dce has {len(upload.volumes['dce'])} phases, but MOME-mini was trained on "
            f"{phases}: one pre-contrast and {phases - 1} post-contrast phases (at "
            f"{', '.join(f'{t:g}' for t in BreastMRIConfig().dce_times_min)} min). Upload a "
            f"DCE series with {phases} phases, or leave DCE out."
        )
    resampled = {
        name: _resample(volume, tuple(shape))
        for name, volume in upload.volumes.items()
        if name != "adc" or "dwi" in available
    }
    normalised = normalise_volumes(
        resampled.get("dce"), resampled.get("t2"), resampled.get("dwi"), resampled.get("adc")
    )
    inputs = {}
    for name in MODEL_MODALITIES:
        volume = normalised.get(name, np.zeros((channels[name], *shape), np.float32))
        inputs[name] = torch.from_numpy(np.ascontiguousarray(volume))[None].float()
    inputs["present"] = torch.tensor([[name in available for name in MODEL_MODALITIES]])
    return inputs


# ======================================================================================
# Whole-slide images
# ======================================================================================


def read_slide_upload(path: str | Path) -> Slide:
    """Open an uploaded whole-slide image.

    Parameters
    ----------
    path : str or Path
        A ``.tif``, ``.tiff`` or ``.svs`` file of at most :data:`MAX_UPLOAD_MB` MB, 8-bit
        RGB, with at most :data:`MAX_SLIDE_PIXELS` pixels at level 0.

    Returns
    -------
    Slide
        Open; the caller closes it.

    Raises
    ------
    UploadError
        Wrong file type, too large, not readable (truncated, corrupt, not RGB: the message
        of :func:`medai_edu.wsi.open_slide`), or too many pixels.
    """
    from medai_edu.wsi import SlideOpenError, open_slide

    path = Path(path)
    if not _suffix(path, _SLIDE_SUFFIXES):
        raise UploadError(
            f"{path.name}: this file type is not accepted; upload a whole-slide image as "
            f"{', '.join(_SLIDE_SUFFIXES)} (a pyramidal TIFF or an Aperio SVS file)"
        )
    check_file_size(path, MAX_UPLOAD_MB)
    try:
        slide = open_slide(path)
    except (SlideOpenError, OSError, EOFError) as err:
        message = str(err).replace(str(path), path.name)  # the server's folders mean nothing
        raise UploadError(f"cannot read the slide: {message}") from err
    width, height = slide.dimensions
    if width * height > MAX_SLIDE_PIXELS:
        slide.close()
        raise UploadError(
            f"{path.name} is {width:,} x {height:,} pixels at full resolution "
            f"({width * height:,} pixels); the demo accepts up to {MAX_SLIDE_PIXELS:,}. Upload "
            f"a crop of the slide."
        )
    return slide


class SlideTiles(NamedTuple):
    """The tissue tiles of one slide, as a bag for mSTAR-mini.

    Attributes
    ----------
    tiles : ndarray, shape (N, 3, t, t), uint8
        RGB tiles, channels first.
    grid : ndarray, shape (N, 2), int64
        (row, col) of each tile: level-0 (y, x) // ``tile_size_level0``.
    coords : ndarray, shape (N, 2), int64
        Level-0 (x, y) of each tile's top-left corner.
    tile_size_level0 : int
        Tile side in level-0 pixels.
    dimensions : (int, int)
        Level-0 (width, height) of the slide.
    thumbnail : ndarray, shape (h, w, 3), uint8
        The whole slide, longer side at most 512 pixels.
    """

    tiles: np.ndarray
    grid: np.ndarray
    coords: np.ndarray
    tile_size_level0: int
    dimensions: tuple[int, int]
    thumbnail: np.ndarray


def slide_tiles(
    slide: Slide, tile_size: int = 64, max_tiles: int = 48, mpp: float = 0.5
) -> SlideTiles:
    """Cut the tissue of an uploaded slide into tiles, as mSTAR-mini's bags are cut.

    Tiles are ``tile_size`` pixels at ``mpp`` µm/px (at level 0 if the slide does not record
    its pixel size), on a grid without overlap, kept when at least half is tissue; the
    synthetic course slides (0.5 µm/px) give 64-pixel level-0 tiles, as in
    :func:`medai_edu.experiments.slide_pretraining.make_slide_bags`.

    Parameters
    ----------
    slide : Slide
    tile_size : int
        Tile side in output pixels.
    max_tiles : int
        Most tiles returned; more tissue tiles are thinned to ``max_tiles`` spread evenly
        over the grid (deterministic).
    mpp : float
        Microns per pixel of the tiles.

    Returns
    -------
    SlideTiles

    Raises
    ------
    UploadError
        No tile has enough tissue.
    """
    from medai_edu.wsi import read_tile, tile_grid

    grid = tile_grid(slide, tile_size, mpp=mpp if slide.mpp is not None else None, min_tissue=0.5)
    if len(grid) == 0:
        raise UploadError(
            f"no tissue found in {slide.path.name}: no {tile_size}-pixel tile is at least half "
            f"tissue. Upload a slide with stained tissue on it (the demo ignores white glass)."
        )
    if len(grid) > max_tiles:
        # Evenly spaced over the row-major grid order: covers the whole tissue, reproducibly.
        grid = grid.subset(np.linspace(0, len(grid) - 1, max_tiles).astype(np.int64))
    tiles = np.stack([read_tile(slide, grid, k) for k in range(len(grid))])
    coords = grid.coords.astype(np.int64)
    return SlideTiles(
        tiles=np.ascontiguousarray(tiles.transpose(0, 3, 1, 2)),
        grid=np.ascontiguousarray(coords[:, ::-1] // grid.tile_size_level0),
        coords=coords,
        tile_size_level0=int(grid.tile_size_level0),
        dimensions=tuple(int(v) for v in slide.dimensions),
        thumbnail=slide.thumbnail(512),
    )
