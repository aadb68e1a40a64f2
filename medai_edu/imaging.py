"""Medical images as data: physical units, display windows, spacing and orientation.

Small functions for the lab "Medical images as data" and for any code that reads DICOM or
NIfTI files:

- :func:`to_hounsfield` turns the stored integers of a CT slice into Hounsfield units;
- :func:`apply_window` maps a window of Hounsfield units onto [0, 1] for display, with the
  usual presets in :data:`WINDOWS`; :func:`window_transform` gives the same window as a
  MONAI transform for a training pipeline;
- :func:`pixel_spacing_mm` and :func:`physical_extent_mm` put millimetres on the axes;
- :func:`orientation_codes`, :func:`reorient_to_ras` and :func:`orthogonal_slices` deal with
  the orientation of NIfTI volumes;
- :func:`ecg_waveform` reads a DICOM ECG into millivolts;
- :func:`header_table` lists chosen header elements for display.

Conventions: 2D arrays are (rows, columns) as DICOM stores them; "row spacing" is the
distance between the centres of adjacent rows (vertical), "column spacing" the distance
between adjacent columns (horizontal), both in millimetres.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    import nibabel
    import pydicom
    from monai.transforms import ScaleIntensityRange

__all__ = [
    "TISSUE_HU",
    "WINDOWS",
    "HeaderRow",
    "SliceView",
    "apply_window",
    "ecg_waveform",
    "header_table",
    "orientation_codes",
    "orthogonal_slices",
    "physical_extent_mm",
    "pixel_spacing_mm",
    "reorient_to_ras",
    "to_hounsfield",
    "window_bounds",
    "window_transform",
]


#: Display windows as (center, width) in Hounsfield units. A window shows
#: ``center - width / 2`` as black and ``center + width / 2`` as white; everything outside
#: is clipped. The values are the usual radiology defaults; departments differ slightly.
WINDOWS: dict[str, tuple[float, float]] = {
    "soft tissue": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
}

#: Typical Hounsfield-unit ranges of tissues, (low, high), for annotating histograms.
#: Textbook values; real values depend on the scanner, the tube voltage and contrast agent.
TISSUE_HU: dict[str, tuple[float, float]] = {
    "air": (-1024.0, -950.0),
    "lung": (-950.0, -500.0),
    "fat": (-120.0, -60.0),
    "water / fluid": (-10.0, 20.0),
    "soft tissue": (20.0, 80.0),
    "blood with iodine contrast": (120.0, 300.0),
    "bone": (300.0, 2000.0),
}


def _require_dataset(ds: Any, function: str) -> None:
    import pydicom

    if not isinstance(ds, pydicom.Dataset):
        raise TypeError(
            f"{function}() needs a pydicom Dataset (from pydicom.dcmread or "
            f"medai_edu.data.samples.load_dicom_sample), got {type(ds).__name__}"
        )


# --------------------------------------------------------------------------------------
# Hounsfield units and windows
# --------------------------------------------------------------------------------------


def to_hounsfield(ds: pydicom.Dataset) -> np.ndarray:
    """Convert the stored pixel values of a CT image into Hounsfield units.

    CT scanners store small integers; the header says how to turn them into the physical
    quantity, the Hounsfield unit (HU: water 0, air -1000)::

        HU = stored * RescaleSlope + RescaleIntercept

    Parameters
    ----------
    ds : pydicom.Dataset
        A CT image (``Modality == "CT"``) with pixel data.

    Returns
    -------
    ndarray, float32
        Shape of ``ds.pixel_array``: (rows, columns) for one slice, (frames, rows, columns)
        for a multi-frame image. Values in HU.

    Raises
    ------
    TypeError
        ``ds`` is not a pydicom Dataset.
    ValueError
        Not a CT image (MR and ultrasound have no absolute intensity scale), or no pixel
        data (e.g. read with ``stop_before_pixels=True``).

    Notes
    -----
    The formula is written out rather than calling ``pydicom.pixels.apply_rescale``
    because it is the point of the lesson. Pixels outside the scanner's field of view may
    hold the value named by ``PixelPaddingValue`` (often -2000 stored, about -3000 HU);
    they are converted like any other pixel.
    """
    _require_dataset(ds, "to_hounsfield")
    modality = ds.get("Modality", None)
    if modality != "CT":
        raise ValueError(
            f"Hounsfield units are defined for CT only; this dataset's Modality is "
            f"{modality!r}. MR, ultrasound and photographs have no absolute intensity scale."
        )
    if "PixelData" not in ds:
        raise ValueError(
            "this CT dataset has no Pixel Data element; was it read with stop_before_pixels=True?"
        )
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    stored = ds.pixel_array.astype(np.float32)
    return stored * np.float32(slope) + np.float32(intercept)


def window_bounds(center: float, width: float) -> tuple[float, float]:
    """The lowest and highest value of a window: ``center -/+ width / 2`` (same unit, HU)."""
    center, width = float(center), float(width)
    if not np.isfinite(center) or not np.isfinite(width) or width <= 0:
        raise ValueError(f"a window needs a finite center and a width > 0, got {center}, {width}")
    return center - width / 2, center + width / 2


def apply_window(hu: np.ndarray, center: float, width: float) -> np.ndarray:
    """Map a window of values onto [0, 1] for display (0 = black, 1 = white).

    ``center - width / 2`` becomes 0, ``center + width / 2`` becomes 1, ``center`` becomes
    0.5; values outside the window are clipped.

    Parameters
    ----------
    hu : array_like
        Any shape; values in Hounsfield units (or any unit, with center and width in it).
    center, width : float
        Window level and width, in the unit of ``hu``; e.g. ``WINDOWS["lung"]``.

    Returns
    -------
    ndarray, float32
        Same shape as ``hu``, values in [0, 1].

    Notes
    -----
    Written with numpy rather than MONAI's ``ScaleIntensityRange``: the transform computes
    the same thing (see :func:`window_transform`, and the test that checks they agree), but
    it returns a torch ``MetaTensor`` for a numpy input and importing MONAI takes seconds,
    while here the two lines of arithmetic are the lesson. DICOM viewers use a variant of
    the formula with ``center - 0.5`` and ``width - 1`` (PS3.3 C.11.2.1.2), which differs
    by less than one HU; ``pydicom.pixels.apply_voi_lut`` implements it exactly.
    """
    low, high = window_bounds(center, width)
    values = np.asarray(hu, dtype=np.float32)
    return np.clip((values - np.float32(low)) / np.float32(high - low), 0.0, 1.0)


def window_transform(center: float, width: float) -> ScaleIntensityRange:
    """The same window as a MONAI transform, for a training pipeline.

    Returns ``monai.transforms.ScaleIntensityRange(a_min=low, a_max=high, b_min=0,
    b_max=1, clip=True)``, which MONAI's CT tutorials use to window before a network.
    """
    from monai.transforms import ScaleIntensityRange

    low, high = window_bounds(center, width)
    return ScaleIntensityRange(a_min=low, a_max=high, b_min=0.0, b_max=1.0, clip=True)


# --------------------------------------------------------------------------------------
# Pixel spacing
# --------------------------------------------------------------------------------------


def pixel_spacing_mm(ds: pydicom.Dataset) -> tuple[float, float]:
    """The physical size of a pixel, from the DICOM header.

    Parameters
    ----------
    ds : pydicom.Dataset

    Returns
    -------
    (row_mm, col_mm) : tuple of float
        Distance between the centres of adjacent rows and of adjacent columns, in mm.
        Read from ``PixelSpacing`` (in the patient), else ``ImagerPixelSpacing`` (at the
        detector of a projection radiograph, which magnifies the patient slightly).

    Raises
    ------
    TypeError
        ``ds`` is not a pydicom Dataset.
    ValueError
        The header gives no spacing (common for ultrasound frames, screenshots and
        photographs): distances measured in such an image are in pixels, not mm.
    """
    _require_dataset(ds, "pixel_spacing_mm")
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword, None)
        if value:
            if len(value) != 2:
                raise ValueError(f"{keyword} must have two values (row, column), got {value}")
            row_mm, col_mm = (float(v) for v in value)
            if row_mm <= 0 or col_mm <= 0:
                raise ValueError(f"{keyword} must be positive, got {value}")
            return row_mm, col_mm
    modality = ds.get("Modality", "unknown")
    raise ValueError(
        f"this {modality} image has no PixelSpacing or ImagerPixelSpacing: its physical "
        f"pixel size is unknown, so lengths can only be measured in pixels"
    )


def physical_extent_mm(
    shape: Sequence[int], spacing_mm: Sequence[float]
) -> tuple[float, float, float, float]:
    """The ``extent`` for ``plt.imshow`` that labels the axes in millimetres.

    Parameters
    ----------
    shape : sequence of int
        The image shape; its first two entries are (rows, columns), e.g. ``hu.shape``.
    spacing_mm : (row_mm, col_mm)
        As returned by :func:`pixel_spacing_mm`.

    Returns
    -------
    (left, right, bottom, top) : tuple of float
        ``(0, columns * col_mm, rows * row_mm, 0)``: the outer edges of the pixels, with the
        first row at the top, as ``imshow`` draws by default (``origin="upper"``).
    """
    if len(shape) < 2 or len(spacing_mm) != 2:
        raise ValueError(
            f"need an image shape (rows, columns, ...) and a spacing (row_mm, col_mm); "
            f"got shape {tuple(shape)} and spacing {tuple(spacing_mm)}"
        )
    rows, cols = int(shape[0]), int(shape[1])
    row_mm, col_mm = (float(v) for v in spacing_mm)
    return 0.0, cols * col_mm, rows * row_mm, 0.0


# --------------------------------------------------------------------------------------
# NIfTI orientation
# --------------------------------------------------------------------------------------


def _affine_of(img: Any) -> np.ndarray:
    affine = getattr(img, "affine", img)
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4):
        raise ValueError(f"need a NIfTI image or a 4x4 affine, got shape {affine.shape}")
    return affine


def orientation_codes(img: nibabel.spatialimages.SpatialImage | np.ndarray) -> tuple[str, ...]:
    """Which anatomical direction each voxel axis points to, e.g. ``("L", "A", "S")``.

    Letter ``k`` names the direction in which the world position moves when voxel index
    ``k`` increases: R/L right/left, A/P anterior/posterior, S/I superior/inferior. It is
    read from the affine with ``nibabel.aff2axcodes``; an oblique axis gets the closest
    letter.

    Parameters
    ----------
    img : nibabel image or ndarray, shape (4, 4)
        A NIfTI image (its ``affine`` is used) or an affine.

    Returns
    -------
    tuple of 3 str
    """
    import nibabel

    return tuple(nibabel.aff2axcodes(_affine_of(img)))


def reorient_to_ras(img: nibabel.Nifti1Image) -> nibabel.Nifti1Image:
    """The same image with its voxel axes flipped and permuted to point R, A, S.

    Uses ``nibabel.as_closest_canonical``: the data array is reordered (no interpolation)
    and the affine updated, so every voxel keeps its world position. Afterwards
    ``orientation_codes(result) == ("R", "A", "S")``.
    """
    import nibabel

    if not hasattr(img, "affine") or not hasattr(img, "dataobj"):
        raise TypeError(f"reorient_to_ras() needs a nibabel image, got {type(img).__name__}")
    return nibabel.as_closest_canonical(img)


@dataclass(frozen=True)
class SliceView:
    """One 2D slice of a volume, ready for ``ax.imshow(v.image, origin="lower", extent=...)``.

    Attributes
    ----------
    name : str
        ``"axial"``, ``"coronal"`` or ``"sagittal"``.
    image : ndarray, shape (height, width)
        Rows run upwards on screen (use ``origin="lower"``).
    extent_mm : (left, right, bottom, top)
        World coordinates of the slice's outer edges, in mm (RAS+): with them ``imshow``
        draws the voxels with their true aspect ratio.
    xlabel, ylabel : str
        Axis labels with units and directions.
    index : int
        Index of the slice along the axis it cuts.
    position_mm : float
        World coordinate of the slice along that axis, in mm.
    """

    name: str
    image: np.ndarray
    extent_mm: tuple[float, float, float, float]
    xlabel: str
    ylabel: str
    index: int
    position_mm: float


_AXES = (
    ("x", "mm, left → right"),
    ("y", "mm, posterior → anterior"),
    ("z", "mm, inferior → superior"),
)


def orthogonal_slices(
    img: nibabel.Nifti1Image, *, voxel: Sequence[int] | None = None, volume: int = 0
) -> list[SliceView]:
    """Axial, coronal and sagittal slices through a voxel, with extents in world mm.

    The image is first reoriented to RAS (:func:`reorient_to_ras`), so the slices show
    anterior up in the axial view, superior up in the others, and the patient's right on
    the right of the screen ("neurological" convention; radiologists look at the patient
    from the feet, with the patient's right on the left of the screen: ``ax.invert_xaxis()``).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        3D, or 4D (then ``volume`` chooses the time point).
    voxel : (i, j, k), optional
        Voxel of the RAS-reoriented image that the three slices pass through; default the
        centre of the volume.
    volume : int
        Time point of a 4D image.

    Returns
    -------
    list of SliceView
        Axial (x, y plane), coronal (x, z) and sagittal (y, z).

    Notes
    -----
    The extents use the voxel sizes and the position of the first voxel, which is exact
    when the voxel axes are aligned with the world axes (as for ``anatomical.nii``); for an
    oblique acquisition they are the closest axis-aligned approximation.
    """
    canonical = reorient_to_ras(img)
    data = np.asanyarray(canonical.dataobj)
    if data.ndim == 4:
        data = data[..., volume]
    if data.ndim != 3:
        raise ValueError(f"need a 3D or 4D image, got shape {canonical.shape}")
    affine = canonical.affine
    sizes = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))  # voxel size along each axis, mm
    first = affine[:3, 3]  # world position of the centre of voxel (0, 0, 0)
    if voxel is None:
        voxel = tuple(n // 2 for n in data.shape)
    voxel = tuple(int(v) for v in voxel)
    if len(voxel) != 3 or any(not 0 <= v < n for v, n in zip(voxel, data.shape, strict=True)):
        raise ValueError(f"voxel {voxel} is outside the volume of shape {data.shape}")

    def edges(axis: int) -> tuple[float, float]:
        low = first[axis] - sizes[axis] / 2
        return float(low), float(low + data.shape[axis] * sizes[axis])

    def label(axis: int) -> str:
        name, unit = _AXES[axis]
        return f"{name} ({unit})"

    views = []
    for name, cut, (horizontal, vertical) in (
        ("axial", 2, (0, 1)),
        ("coronal", 1, (0, 2)),
        ("sagittal", 0, (1, 2)),
    ):
        plane = np.take(data, voxel[cut], axis=cut)  # axes (horizontal, vertical)
        views.append(
            SliceView(
                name=name,
                image=np.ascontiguousarray(plane.T),
                extent_mm=(*edges(horizontal), *edges(vertical)),
                xlabel=label(horizontal),
                ylabel=label(vertical),
                index=voxel[cut],
                position_mm=float(first[cut] + voxel[cut] * sizes[cut]),
            )
        )
    return views


# --------------------------------------------------------------------------------------
# Waveforms
# --------------------------------------------------------------------------------------

_TO_MILLIVOLT = {"uV": 1e-3, "mV": 1.0, "V": 1e3}


def _lead_name(channel: pydicom.Dataset, number: int) -> str:
    try:
        meaning = str(channel.ChannelSourceSequence[0].CodeMeaning)
    except (AttributeError, IndexError):
        return f"channel {number}"
    meaning = re.sub(r"\s*\(.*\)$", "", meaning)  # "Lead I (Einthoven)" -> "Lead I"
    return meaning.removeprefix("Lead ").strip() or f"channel {number}"


def ecg_waveform(ds: pydicom.Dataset, group: int = 0) -> tuple[np.ndarray, list[str], float]:
    """Read one multiplex group of a DICOM waveform (e.g. a 12-lead ECG) in millivolts.

    Parameters
    ----------
    ds : pydicom.Dataset
        A waveform object with a ``WaveformSequence`` (Modality ``"ECG"``).
    group : int
        Index in ``WaveformSequence``; in the course's ECG sample 0 is the 10 s rhythm,
        1 the median beat.

    Returns
    -------
    signals : ndarray, shape (leads, samples), float64
        Voltages in mV (converted from the unit each channel declares, usually uV), with
        sensitivity, correction factor and baseline applied by ``ds.waveform_array``.
    lead_names : list of str
        e.g. ``["I", "II", "III", "aVR", ..., "V6"]``.
    sampling_rate_hz : float
        Samples per second; sample ``n`` is at ``n / sampling_rate_hz`` seconds.

    Raises
    ------
    TypeError
        ``ds`` is not a pydicom Dataset.
    ValueError
        No waveform, a group that does not exist, or a channel in an unknown unit.
    """
    _require_dataset(ds, "ecg_waveform")
    sequence = ds.get("WaveformSequence", None)
    if not sequence:
        raise ValueError(
            f"this {ds.get('Modality', 'unknown')} dataset has no WaveformSequence; "
            f"load the ECG sample with load_dicom_sample('ecg')"
        )
    if not 0 <= group < len(sequence):
        raise ValueError(f"group {group} does not exist; the file has {len(sequence)} groups")
    item = sequence[group]
    signals = ds.waveform_array(group).T.astype(np.float64)  # (samples, ch) -> (ch, samples)
    names = []
    for number, channel in enumerate(item.ChannelDefinitionSequence):
        try:
            unit = str(channel.ChannelSensitivityUnitsSequence[0].CodeValue)
        except (AttributeError, IndexError):
            unit = "uV"  # the default of the ECG IODs when a channel leaves it out
        if unit not in _TO_MILLIVOLT:
            raise ValueError(f"channel {number} is in {unit!r}, not a voltage unit")
        signals[number] *= _TO_MILLIVOLT[unit]
        names.append(_lead_name(channel, number))
    return signals, names, float(item.SamplingFrequency)


# --------------------------------------------------------------------------------------
# Header tables
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderRow:
    """One element of a DICOM header, for display (``pandas.DataFrame(rows)``).

    Attributes
    ----------
    tag : str
        ``"(gggg,eeee)"``: group and element number in hexadecimal.
    keyword : str
        e.g. ``"PixelSpacing"``.
    vr : str
        Value representation, e.g. ``"DS"`` (decimal string), ``"PN"`` (person name).
    value : str
        The value as text, shortened to 60 characters; ``""`` when the element is empty.
    """

    tag: str
    keyword: str
    vr: str
    value: str


def _short(value: Any, limit: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_table(ds: pydicom.Dataset, keywords: Iterable[str]) -> list[HeaderRow]:
    """Selected header elements of a dataset, in the order asked for.

    Parameters
    ----------
    ds : pydicom.Dataset
    keywords : iterable of str
        DICOM keywords, e.g. ``["Modality", "PixelSpacing", "RescaleIntercept"]``;
        keywords the dataset lacks are skipped; a misspelt keyword is a ValueError.

    Returns
    -------
    list of HeaderRow
    """
    from pydicom.datadict import tag_for_keyword

    _require_dataset(ds, "header_table")
    rows = []
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise ValueError(f"{keyword!r} is not a DICOM keyword (e.g. 'PixelSpacing')")
        if tag not in ds:
            continue
        element = ds[tag]
        value = f"<sequence of {len(element.value)} items>" if element.VR == "SQ" else element.value
        rows.append(HeaderRow(_format_tag(element.tag), keyword, element.VR, _short(value)))
    return rows


def _format_tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
