"""Writing a synthetic breast MRI case as a zip of DICOM MR series, one file per slice: an
example to upload, and what the tests read back.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pydicom

    from medai_edu.data.breast_mri import BreastMRICase


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
