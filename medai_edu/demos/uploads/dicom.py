"""Breast MRI cases as DICOM series inside an uploaded zip: finding the series, telling
each one's role from its SeriesDescription ("DCE phase k", "T2", "DWI b=<b>", "ADC") and
loading them into volumes (P,) Z, Y, X.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medai_edu.demos.uploads.limits import MRI_HELP, UploadError, few
from medai_edu.demos.uploads.volumes import (
    MRI_NAMES,
    MRIUpload,
    check_volume,
    check_volume_size,
    finish_upload,
)

if TYPE_CHECKING:
    import pydicom

_DICOM_HELP = (
    "Name the DICOM series (SeriesDescription) 'DCE phase 0', 'DCE phase 1', ..., 'T2', "
    "'DWI b=<b-value>' (two series) and 'ADC'."
)

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
    check_volume_size(f"series '{found.description}'", shape, zip_name)
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


def read_dicom_files(files: list[Path], root: Path, zip_name: str, work: Path) -> MRIUpload:
    """Read the DICOM series among the files unzipped into ``root``; ``work``: a scratch folder."""
    series = _dicom_series(files, root, zip_name)
    if not series:
        names = [p.relative_to(root).as_posix() for p in files]
        found = f"it holds: {few(names)}" if names else "it is empty"
        raise UploadError(
            f"{zip_name} holds nothing the demo can use: no NIfTI file and no DICOM image "
            f"({found}). {MRI_HELP}"
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
            f"SeriesDescriptions are {few(sorted(ignored))}. {_DICOM_HELP}"
        )
    _check_dicom_roles(roles, zip_name)
    notes = [f"ignored DICOM series {few(sorted(ignored))}"] if ignored else []

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
        check_volume(name, volume, zip_name)
        volumes[name] = volume
    return finish_upload(volumes, spacing, "dicom", notes)


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
