"""A folder holding one DICOM series, one slice per file, assembled into a 3D volume."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medai_edu.data.public.messages import few

if TYPE_CHECKING:  # pydicom is imported inside the functions that need it
    import pydicom


class DicomSeriesError(ValueError):
    """A folder does not hold one readable, consistent DICOM series."""


@dataclass
class DicomVolume:
    """A 3D image assembled from a DICOM series.

    Attributes
    ----------
    voxels : ndarray, shape (Z, Y, X), float32
        Rescaled values, ``stored * RescaleSlope + RescaleIntercept``: Hounsfield units
        for CT; scanner-dependent units for other modalities. Axis 0 runs along the slice
        normal, axis 1 down the rows, axis 2 along each row.
    spacing_mm : tuple of 3 float
        Voxel size (z, y, x) in millimetres: distance between slice positions along the
        normal, then the DICOM PixelSpacing (row spacing, column spacing).
    origin : ndarray, shape (3,)
        Patient coordinates (x, y, z), DICOM LPS millimetres, of the centre of voxel
        ``[0, 0, 0]`` (the ImagePositionPatient of the first slice).
    direction : ndarray, shape (3, 3)
        Row ``a`` is the unit vector, in LPS patient coordinates, along which array axis
        ``a`` (z, y, x) increases: slice normal, column direction, row direction.
    modality : str
        e.g. ``"CT"`` or ``"MR"``.
    series_uid : str
        SeriesInstanceUID.
    files : tuple of Path
        The slice files, in the order of ``voxels``.
    series_description : str
    """

    voxels: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin: np.ndarray
    direction: np.ndarray
    modality: str
    series_uid: str
    files: tuple[Path, ...]
    series_description: str = ""

    @property
    def affine(self) -> np.ndarray:
        """(4, 4) matrix taking ``(k, j, i, 1)`` voxel indices to LPS ``(x, y, z, 1)`` mm."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.direction.T * np.asarray(self.spacing_mm)
        matrix[:3, 3] = self.origin
        return matrix

    @property
    def units(self) -> str:
        return "HU" if self.modality == "CT" else "rescaled stored values"


def _series_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise FileNotFoundError(f"DICOM folder not found: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; give the folder that holds the series")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DicomSeriesError(f"the folder {folder} is empty")
    return files


def _read_headers(files: list[Path]) -> tuple[list[tuple[Path, pydicom.Dataset]], list[Path]]:
    """Read every file's header; return (DICOM images, files that are not DICOM)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    images, others = [], []
    for path in files:
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except InvalidDicomError:
            others.append(path)  # no DICOM preamble: a README, a thumbnail, ...
            continue
        except Exception as err:  # noqa: BLE001 - any failure here means a broken file
            raise DicomSeriesError(
                f"cannot read the DICOM file {path}: {type(err).__name__}: {err}"
            ) from err
        if "Rows" in header:
            images.append((path, header))
        elif _looks_truncated(header):
            raise DicomSeriesError(
                f"the DICOM file {path} is corrupt or truncated: its header ends before the "
                f"image attributes (Rows, Columns, ...)"
            )
        # else: a DICOMDIR, a report or another non-image object; skip it
    return images, others


def _looks_truncated(header: pydicom.Dataset) -> bool:
    """True for a header without Rows that claims to be an image, or claims nothing."""
    file_meta = getattr(header, "file_meta", None)
    sop_class = header.get("SOPClassUID") or (
        file_meta.get("MediaStorageSOPClassUID") if file_meta is not None else None
    )
    return sop_class is None or "Image" in sop_class.name


def _pick_series(
    images: list[tuple[Path, pydicom.Dataset]], series_uid: str | None, folder: Path
) -> list[tuple[Path, pydicom.Dataset]]:
    groups: dict[str, list[tuple[Path, pydicom.Dataset]]] = {}
    for path, header in images:
        groups.setdefault(str(header.get("SeriesInstanceUID", "")), []).append((path, header))
    if series_uid is not None:
        if series_uid not in groups:
            raise DicomSeriesError(
                f"no series {series_uid!r} in {folder}; series found: {sorted(groups)}"
            )
        return groups[series_uid]
    if len(groups) > 1:
        lines = []
        for uid, members in groups.items():
            first = members[0][1]
            lines.append(
                f"  {uid}: {first.get('Modality', '?')} "
                f"'{first.get('SeriesDescription', '')}', {len(members)} files"
            )
        raise DicomSeriesError(
            f"{folder} holds {len(groups)} series; choose one with series_uid=...:\n"
            + "\n".join(lines)
        )
    return next(iter(groups.values()))


def _geometry(path: Path, header: pydicom.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Return (ImagePositionPatient (3,), ImageOrientationPatient (6,)) of one slice."""
    try:
        position = np.array(header.ImagePositionPatient, dtype=float)
        orientation = np.array(header.ImageOrientationPatient, dtype=float)
    except AttributeError as err:
        raise DicomSeriesError(
            f"{path} has no ImagePositionPatient/ImageOrientationPatient, so its slice "
            f"cannot be placed in 3D"
        ) from err
    if position.shape != (3,) or orientation.shape != (6,):
        raise DicomSeriesError(f"{path}: malformed ImagePositionPatient/ImageOrientationPatient")
    return position, orientation


def _check_consistent(members: list[tuple[Path, pydicom.Dataset]]) -> None:
    first_path, first = members[0]
    reference = (
        (first.Rows, first.Columns),
        tuple(float(v) for v in first.get("PixelSpacing", ())),
        int(first.get("SamplesPerPixel", 1)),
    )
    if not reference[1]:
        raise DicomSeriesError(f"{first_path} has no PixelSpacing")
    if reference[2] != 1:
        raise DicomSeriesError(f"{first_path} is a colour image; a volume needs grey slices")
    for path, header in members:
        if int(header.get("NumberOfFrames", 1) or 1) > 1:
            raise DicomSeriesError(
                f"{path} is a multi-frame (enhanced) DICOM object; this loader expects one "
                f"slice per file"
            )
        here = (
            (header.Rows, header.Columns),
            tuple(float(v) for v in header.get("PixelSpacing", ())),
            int(header.get("SamplesPerPixel", 1)),
        )
        if not np.allclose(here[0], reference[0]) or not np.allclose(here[1], reference[1]):
            raise DicomSeriesError(
                f"inconsistent slices: {first_path.name} is {reference[0][0]}x"
                f"{reference[0][1]} at {reference[1]} mm but {path.name} is "
                f"{here[0][0]}x{here[0][1]} at {here[1]} mm"
            )


def _pixels(path: Path) -> tuple[np.ndarray, float, float]:
    """Read one slice's stored values and its rescale slope and intercept."""
    import pydicom

    try:
        dataset = pydicom.dcmread(path)
        stored = dataset.pixel_array
    except Exception as err:  # noqa: BLE001 - truncated data, unsupported codec, ...
        raise DicomSeriesError(
            f"cannot read the pixel data of {path}: {type(err).__name__}: {err}"
        ) from err
    slope = float(dataset.get("RescaleSlope", 1) or 1)
    intercept = float(dataset.get("RescaleIntercept", 0) or 0)
    return stored, slope, intercept


def load_dicom_series(folder: str | Path, series_uid: str | None = None) -> DicomVolume:
    """Assemble a 3D volume from a folder holding one DICOM series, one slice per file.

    Slices are ordered by their position along the slice normal, ``n = r x c`` where
    ``r`` and ``c`` are the row and column directions of ImageOrientationPatient; the
    position of a slice is ``ImagePositionPatient . n``. File names and InstanceNumber are
    not trusted: exports number files in arbitrary order.

    Parameters
    ----------
    folder : str or Path
        Folder of ``.dcm`` files (or extension-less DICOM files). Files without a DICOM
        preamble (README, thumbnails) and non-image DICOM objects (DICOMDIR) are skipped.
    series_uid : str, optional
        SeriesInstanceUID to load when the folder holds several series.

    Returns
    -------
    DicomVolume
        ``voxels`` (Z, Y, X) float32 after RescaleSlope/Intercept (HU for CT), spacing,
        origin and direction in DICOM patient (LPS) coordinates.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        The folder does not exist or is a file.
    DicomSeriesError
        Empty folder; no DICOM images; several series and no ``series_uid`` (the message
        lists them); slices of different sizes, spacings or orientations; two slices at
        one position; uneven gaps between slices (a missing slice); or an unreadable file
        (the message names it).
    """
    folder = Path(folder)
    members, others = _series_members(folder, series_uid)
    members, along_normal, orientation = _sort_along_normal(members)
    z_spacing = _slice_spacing(members, along_normal, folder, others)
    first = members[0][1]
    row_dir, col_dir = orientation[:3], orientation[3:]
    row_spacing, column_spacing = (float(v) for v in first.PixelSpacing)
    return DicomVolume(
        voxels=_stack_slices(members),
        spacing_mm=(z_spacing, row_spacing, column_spacing),
        origin=np.array(first.ImagePositionPatient, dtype=float),
        direction=np.stack([np.cross(row_dir, col_dir), col_dir, row_dir]),
        modality=str(first.get("Modality", "")),
        series_uid=str(first.get("SeriesInstanceUID", "")),
        files=tuple(path for path, _ in members),
        series_description=str(first.get("SeriesDescription", "")),
    )


def _series_members(
    folder: Path, series_uid: str | None
) -> tuple[list[tuple[Path, pydicom.Dataset]], list[Path]]:
    """The (path, header) of each slice of the chosen series, checked for one geometry,
    and the files that are not DICOM."""
    files = _series_files(folder)
    images, others = _read_headers(files)
    if not images:
        raise DicomSeriesError(
            f"no DICOM images among the {len(files)} files in {folder} (e.g. {others[0].name}"
            f" is not DICOM)"
            if others
            else f"no DICOM images in {folder}"
        )
    members = _pick_series(images, series_uid, folder)
    _check_consistent(members)
    return members, others


def _sort_along_normal(
    members: list[tuple[Path, pydicom.Dataset]],
) -> tuple[list[tuple[Path, pydicom.Dataset]], np.ndarray, np.ndarray]:
    """Slices sorted by position along the slice normal ``n = r x c``.

    Returns the sorted members, their positions along the normal in mm (ascending), and
    the ImageOrientationPatient (6,) they share.
    """
    positions, orientations = zip(*(_geometry(p, h) for p, h in members), strict=True)
    orientation = orientations[0]
    for (path, _), other in zip(members, orientations, strict=True):
        if not np.allclose(other, orientation, atol=1e-4):
            raise DicomSeriesError(
                f"inconsistent slices: {path.name} has ImageOrientationPatient {list(other)}, "
                f"{members[0][0].name} has {list(orientation)}"
            )
    normal = np.cross(orientation[:3], orientation[3:])
    along_normal = np.array([position @ normal for position in positions])
    order = np.argsort(along_normal, kind="stable")
    return [members[i] for i in order], along_normal[order], orientation


def _slice_spacing(
    members: list[tuple[Path, pydicom.Dataset]],
    along_normal: np.ndarray,
    folder: Path,
    others: list[Path],
) -> float:
    """Distance between slices in mm; refuses two slices at one place and uneven gaps."""
    gaps = np.diff(along_normal)
    if np.any(gaps < 1e-3):
        k = int(np.argmin(gaps))
        raise DicomSeriesError(
            f"{members[k][0].name} and {members[k + 1][0].name} lie at the same position "
            f"({along_normal[k]:.3f} mm along the normal); the folder may mix echoes, time "
            f"points or acquisitions of one series"
        )
    if not len(gaps):  # one slice: the header is all we have
        first = members[0][1]
        return float(first.get("SpacingBetweenSlices") or first.get("SliceThickness") or 1)
    z_spacing = float(np.median(gaps))
    if np.max(np.abs(gaps - z_spacing)) > 0.01 * z_spacing + 1e-3:
        raise DicomSeriesError(
            f"uneven slice spacing in {folder}: gaps from {gaps.min():.3f} to "
            f"{gaps.max():.3f} mm; a slice may be missing"
            + (f" (skipped as not DICOM: {few([p.name for p in others])})" if others else "")
        )
    return z_spacing


def _stack_slices(members: list[tuple[Path, pydicom.Dataset]]) -> np.ndarray:
    """Read and rescale every slice into a (Z, Y, X) float32 volume."""
    first = members[0][1]
    volume = np.empty((len(members), first.Rows, first.Columns), dtype=np.float32)
    for k, (path, _) in enumerate(members):
        stored, slope, intercept = _pixels(path)
        if stored.shape != volume.shape[1:]:
            raise DicomSeriesError(f"{path}: pixel data shape {stored.shape} != header rows")
        volume[k] = stored.astype(np.float32) * slope + intercept
    return volume
