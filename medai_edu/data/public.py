"""Loaders for the formats of the public datasets a real course uses.

The course ships none of these datasets; students download them. The loaders are real and
strict, so that a wrong file fails here, with a message that says what is wrong, instead of
deep inside a training loop:

- MedMNIST ``.npz`` archives (:func:`load_medmnist`, :class:`MedMNISTDataset`);
- a folder of whole-slide images with an optional ``slide_id,label`` CSV, as CAMELYON or a
  TCGA download looks (:class:`SlideFolder`);
- a folder holding one DICOM series, one slice per file, as a CT or MR scanner exports it
  (:func:`load_dicom_series`).
"""

from __future__ import annotations

import csv
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    import openslide
    import pydicom

__all__ = [
    "DicomSeriesError",
    "DicomVolume",
    "MEDMNIST_SPLITS",
    "MedMNISTDataset",
    "MedMNISTFormatError",
    "SLIDE_EXTENSIONS",
    "SlideFolder",
    "SlideFolderError",
    "SlideRecord",
    "load_dicom_series",
    "load_medmnist",
]


# ======================================================================================
# MedMNIST
# ======================================================================================

MEDMNIST_SPLITS = ("train", "val", "test")

_MEDMNIST_HELP = (
    "MedMNIST files are named like pathmnist.npz or organmnist3d_64.npz; get them from "
    "https://zenodo.org/records/10519652 or with `pip install medmnist` and "
    "`python -m medmnist download` (they land in ~/.medmnist)."
)


class MedMNISTFormatError(ValueError):
    """A file is not a MedMNIST ``.npz`` archive, or its arrays do not fit together."""


def _open_npz(path: Path) -> np.lib.npyio.NpzFile:
    if not path.exists():
        raise FileNotFoundError(f"MedMNIST file not found: {path}. {_MEDMNIST_HELP}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the path of one .npz file.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise MedMNISTFormatError(
            f"{path} is not a readable .npz archive ({type(err).__name__}: {err}); the "
            f"download may be truncated or corrupt. {_MEDMNIST_HELP}"
        ) from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise MedMNISTFormatError(
            f"{path} holds a single .npy array, not a MedMNIST .npz archive with "
            f"train/val/test arrays."
        )
    return archive


def _read_member(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as err:
        raise MedMNISTFormatError(
            f"{path}: the array {key!r} cannot be read ({type(err).__name__}: {err}); the "
            f"file is corrupt, download it again."
        ) from err


def load_medmnist(path: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Read one split of a MedMNIST ``.npz`` archive.

    Parameters
    ----------
    path : str or Path
        A MedMNIST archive with the keys ``train_images``, ``train_labels``,
        ``val_images``, ``val_labels``, ``test_images`` and ``test_labels``.
    split : {"train", "val", "test"}

    Returns
    -------
    images : ndarray, uint8
        (N, H, W) grey 2D images, (N, H, W, 3) colour 2D images, or (N, D, H, W) 3D
        volumes; intensities 0-255. Only the chosen split is decompressed (the 224-pixel
        archives need several GB of memory per split).
    labels : ndarray, shape (N, k)
        Integer class labels: k = 1 for binary, multi-class and ordinal tasks, k > 1 for
        multi-label tasks (ChestMNIST: k = 14 binary columns). A 1D label array is returned
        as (N, 1).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    MedMNISTFormatError
        Not an npz archive, a corrupt member, a missing split (the message lists the keys
        found), images that are not uint8 with 3 or 4 axes, or images and labels of
        different lengths.
    """
    if split not in MEDMNIST_SPLITS:
        raise ValueError(f"split must be one of {MEDMNIST_SPLITS}, got {split!r}")
    path = Path(path)
    with _open_npz(path) as archive:
        wanted = (f"{split}_images", f"{split}_labels")
        missing = [key for key in wanted if key not in archive.files]
        if missing:
            raise MedMNISTFormatError(
                f"{path} has no {' or '.join(missing)}; keys found: {sorted(archive.files)}. "
                f"A MedMNIST archive has <split>_images and <split>_labels for each split "
                f"in {MEDMNIST_SPLITS}."
            )
        images = _read_member(archive, wanted[0], path)
        labels = _read_member(archive, wanted[1], path)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise MedMNISTFormatError(
            f"{path}: {wanted[0]} must be uint8 with shape (N, H, W), (N, H, W, 3) or "
            f"(N, D, H, W); got {images.dtype} {images.shape}"
        )
    if labels.ndim == 1:
        labels = labels[:, None]
    if labels.ndim != 2:
        raise MedMNISTFormatError(
            f"{path}: {wanted[1]} must have shape (N,) or (N, k); got {labels.shape}"
        )
    if len(images) != len(labels):
        raise MedMNISTFormatError(
            f"{path}: {len(images)} {split} images but {len(labels)} {split} labels"
        )
    return images, labels


class MedMNISTDataset(Dataset):
    """A PyTorch dataset over one split of a MedMNIST archive.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` archive (see :func:`load_medmnist`).
    split : {"train", "val", "test"}
    volumetric : bool, optional
        Whether 4D image arrays are 3D volumes (N, D, H, W) rather than colour images
        (N, H, W, 3). By default a last axis of length 3 means colour.
    transform : callable, optional
        Applied to each image tensor after scaling (e.g. an augmentation).

    Notes
    -----
    Item ``i`` is ``(image, label)``:

    - ``image``: float32 tensor in [0, 1], shape (1, H, W) for grey, (3, H, W) for colour
      (channels first, as convolution layers expect), (1, D, H, W) for volumes;
    - ``label``: for one label column, an int64 scalar tensor (for
      ``torch.nn.CrossEntropyLoss``); for several columns (multi-label), a float32 tensor
      of shape (k,) (for ``torch.nn.BCEWithLogitsLoss``).

    Images stay uint8 in memory and are converted one item at a time.
    """

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        volumetric: bool | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.path = Path(path)
        self.split = split
        self.images, self.labels = load_medmnist(self.path, split)
        if volumetric is None:
            volumetric = self.images.ndim == 4 and self.images.shape[-1] != 3
        if volumetric and self.images.ndim != 4:
            raise MedMNISTFormatError(
                f"{self.path}: volumetric=True needs (N, D, H, W) images, got {self.images.shape}"
            )
        self.volumetric = volumetric
        self.transform = transform

    @property
    def multi_label(self) -> bool:
        """True when each image has several binary labels (e.g. ChestMNIST)."""
        return self.labels.shape[1] > 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        array = self.images[index]
        if self.volumetric or array.ndim == 2:
            array = array[None]  # (1, H, W) or (1, D, H, W)
        else:
            array = np.moveaxis(array, -1, 0)  # (H, W, 3) -> (3, H, W)
        image = torch.from_numpy(np.ascontiguousarray(array)).float().div_(255.0)
        if self.transform is not None:
            image = self.transform(image)
        row = self.labels[index]
        if self.multi_label:
            label = torch.as_tensor(row, dtype=torch.float32)
        else:
            label = torch.as_tensor(int(row[0]), dtype=torch.int64)
        return image, label


# ======================================================================================
# A folder of whole-slide images
# ======================================================================================

#: File endings OpenSlide reads (``.mrxs`` files come with a folder of the same name).
SLIDE_EXTENSIONS = (".svs", ".tif", ".tiff", ".ndpi", ".mrxs", ".scn", ".svslide", ".bif")


class SlideFolderError(ValueError):
    """A slide folder or its labels CSV does not fit together."""


@dataclass(frozen=True)
class SlideRecord:
    """One slide of a :class:`SlideFolder`.

    Attributes
    ----------
    slide_id : str
        File name without its extension, e.g. ``"tumor_001"``.
    path : Path
        The slide file.
    label : str or None
        Label from the CSV, or None when the folder has no CSV.
    """

    slide_id: str
    path: Path
    label: str | None


def _list_slides(root: Path, recursive: bool) -> list[Path]:
    candidates = root.rglob("*") if recursive else root.iterdir()
    slides = [
        path
        for path in candidates
        if path.is_file()
        and path.suffix.lower() in SLIDE_EXTENSIONS
        and not path.name.startswith(".")
    ]
    return sorted(slides)


def _read_labels_csv(path: Path) -> dict[str, str]:
    """Read ``slide_id,label`` rows into a dict; extra columns are ignored."""
    if not path.is_file():
        raise FileNotFoundError(f"labels CSV not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip() for name in reader.fieldnames or []]
        if "slide_id" not in columns or "label" not in columns:
            raise SlideFolderError(
                f"{path}: bad CSV header {columns}; the first line must name the columns "
                f"slide_id,label"
            )
        reader.fieldnames = columns
        labels: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            slide_id = (row.get("slide_id") or "").strip()
            label = (row.get("label") or "").strip()
            if not slide_id or not label:
                raise SlideFolderError(f"{path}, line {line}: empty slide_id or label: {row}")
            if slide_id in labels:
                raise SlideFolderError(f"{path}, line {line}: slide_id {slide_id!r} repeated")
            labels[slide_id] = label
    return labels


def _few(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


class SlideFolder(Sequence[SlideRecord]):
    """The slides in a folder, sorted by path, with optional labels from a CSV.

    Parameters
    ----------
    root : str or Path
        Folder holding slide files (see :data:`SLIDE_EXTENSIONS`).
    labels_csv : str or Path, optional
        CSV whose header has the columns ``slide_id`` and ``label`` (others are ignored).
        Every slide must have exactly one label and every label a slide.
    recursive : bool
        Also look in sub-folders (CAMELYON16 keeps ``normal/`` and ``tumor/`` apart).

    Examples
    --------
    >>> slides = SlideFolder("camelyon16/training", "labels.csv", recursive=True)
    >>> slides[0].slide_id, slides[0].label            # doctest: +SKIP
    ('normal_001', 'normal')
    >>> with slides.open(0) as slide:                   # doctest: +SKIP
    ...     print(slide.dimensions)
    """

    def __init__(
        self,
        root: str | Path,
        labels_csv: str | Path | None = None,
        recursive: bool = False,
    ) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FileNotFoundError(f"slide folder not found: {self.root}")
        if not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is a file; give the folder of slides")
        paths = _list_slides(self.root, recursive)
        if not paths:
            raise SlideFolderError(
                f"no slide files in {self.root}"
                f"{' or its sub-folders' if recursive else ''}; looked for {SLIDE_EXTENSIONS}"
            )
        ids = [path.stem for path in paths]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise SlideFolderError(f"{self.root}: several slides share an id: {_few(repeated)}")
        labels: dict[str, str] | None = None
        if labels_csv is not None:
            labels = _read_labels_csv(Path(labels_csv))
            unlabelled = [i for i in ids if i not in labels]
            if unlabelled:
                raise SlideFolderError(
                    f"{len(unlabelled)} slides in {self.root} have no label in "
                    f"{labels_csv}: {_few(unlabelled)}"
                )
            orphans = sorted(set(labels) - set(ids))
            if orphans:
                raise SlideFolderError(
                    f"{labels_csv} labels {len(orphans)} slides that are not in "
                    f"{self.root}: {_few(orphans)}"
                )
        self.records = [
            SlideRecord(slide_id, path, labels[slide_id] if labels else None)
            for slide_id, path in zip(ids, paths, strict=True)
        ]

    @property
    def classes(self) -> list[str]:
        """Sorted distinct labels (empty without a CSV); use ``classes.index(label)``."""
        return sorted({r.label for r in self.records if r.label is not None})

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> SlideRecord:  # type: ignore[override]
        return self.records[index]

    def __iter__(self) -> Iterator[SlideRecord]:
        return iter(self.records)

    def open(self, index: int) -> openslide.OpenSlide:
        """Open slide ``index`` with OpenSlide (close it, or use ``with``)."""
        import openslide

        record = self.records[index]
        try:
            return openslide.OpenSlide(record.path)
        except openslide.OpenSlideError as err:
            raise SlideFolderError(f"OpenSlide cannot read {record.path}: {err}") from err


# ======================================================================================
# A DICOM series folder
# ======================================================================================


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

    positions, orientations = zip(*(_geometry(p, h) for p, h in members), strict=True)
    orientation = orientations[0]
    for (path, _), other in zip(members, orientations, strict=True):
        if not np.allclose(other, orientation, atol=1e-4):
            raise DicomSeriesError(
                f"inconsistent slices: {path.name} has ImageOrientationPatient {list(other)}, "
                f"{members[0][0].name} has {list(orientation)}"
            )
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    along_normal = np.array([position @ normal for position in positions])
    order = np.argsort(along_normal, kind="stable")
    along_normal = along_normal[order]
    members = [members[i] for i in order]

    gaps = np.diff(along_normal)
    if np.any(gaps < 1e-3):
        k = int(np.argmin(gaps))
        raise DicomSeriesError(
            f"{members[k][0].name} and {members[k + 1][0].name} lie at the same position "
            f"({along_normal[k]:.3f} mm along the normal); the folder may mix echoes, time "
            f"points or acquisitions of one series"
        )
    first = members[0][1]
    if len(gaps):
        z_spacing = float(np.median(gaps))
        if np.max(np.abs(gaps - z_spacing)) > 0.01 * z_spacing + 1e-3:
            raise DicomSeriesError(
                f"uneven slice spacing in {folder}: gaps from {gaps.min():.3f} to "
                f"{gaps.max():.3f} mm; a slice may be missing"
                + (f" (skipped as not DICOM: {_few([p.name for p in others])})" if others else "")
            )
    else:  # one slice: the header is all we have
        z_spacing = float(first.get("SpacingBetweenSlices") or first.get("SliceThickness") or 1)

    volume = np.empty((len(members), first.Rows, first.Columns), dtype=np.float32)
    for k, (path, _) in enumerate(members):
        stored, slope, intercept = _pixels(path)
        if stored.shape != volume.shape[1:]:
            raise DicomSeriesError(f"{path}: pixel data shape {stored.shape} != header rows")
        volume[k] = stored.astype(np.float32) * slope + intercept

    row_spacing, column_spacing = (float(v) for v in first.PixelSpacing)
    return DicomVolume(
        voxels=volume,
        spacing_mm=(z_spacing, row_spacing, column_spacing),
        origin=np.array(first.ImagePositionPatient, dtype=float),
        direction=np.stack([normal, col_dir, row_dir]),
        modality=str(first.get("Modality", "")),
        series_uid=str(first.get("SeriesInstanceUID", "")),
        files=tuple(path for path, _ in members),
        series_description=str(first.get("SeriesDescription", "")),
    )
