"""What an uploaded MRI case holds (:class:`MRIUpload`), and the checks every volume passes
whichever format it came in: dimensions, phases or b-values, finite values, size, one grid.

Arrays are (Z, Y, X), with the phases or b-values first for 4D volumes, (P, Z, Y, X).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from medai_edu.data import MRI_SEQUENCES
from medai_edu.demos.uploads import limits
from medai_edu.demos.uploads.limits import MRI_HELP, UploadError

#: The sequences an upload may hold: MOME-mini's three inputs and the ADC map that goes
#: with DWI.
MRI_NAMES = ("dce", "t2", "dwi", "adc")

VOLUME_NDIM = {"dce": 4, "t2": 3, "dwi": 4, "adc": 3}
VOLUME_DESCRIPTION = {
    "dce": "a 4D volume (x, y, z, phase): one pre-contrast phase, then the post-contrast ones",
    "t2": "a 3D volume",
    "dwi": "a 4D volume (x, y, z, 2): the low and then the high b-value image",
    "adc": "a 3D volume, in 10^-3 mm^2/s",
}


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
        """Which of MOME's inputs (:data:`MRI_SEQUENCES`) can be built; dwi needs dwi and adc."""
        available = {"dce": "dce" in self.volumes, "t2": "t2" in self.volumes}
        available["dwi"] = "dwi" in self.volumes and "adc" in self.volumes
        return tuple(m for m in MRI_SEQUENCES if available[m])


def check_volume_size(name: str, shape: tuple[int, ...], source: str) -> None:
    """Refuse a volume whose 3D frames or whole file exceed the voxel limits, before reading."""
    frame = int(np.prod(shape[:3], dtype=np.int64))
    if frame > limits.MAX_VOXELS:
        raise UploadError(
            f"{name} ({source}) has {frame:,} voxels per volume ({' x '.join(map(str, shape[:3]))}"
            f"); the demo accepts up to {limits.MAX_VOXELS:,}. Crop or downsample it first."
        )
    total = int(np.prod(shape, dtype=np.int64))
    if total > limits.FRAMES_PER_FILE * limits.MAX_VOXELS:
        raise UploadError(
            f"{name} ({source}) has {total:,} voxels in all; the demo accepts up to "
            f"{limits.FRAMES_PER_FILE * limits.MAX_VOXELS:,} per sequence. Upload fewer or "
            f"smaller volumes."
        )


def check_volume(name: str, volume: np.ndarray, source: str) -> None:
    """Check a volume in array order: dimensions, phases or b-values, finite values."""
    if volume.ndim != VOLUME_NDIM[name]:
        raise UploadError(
            f"{name} must be {VOLUME_DESCRIPTION[name]}, got an image of shape {volume.shape} "
            f"from {source}"
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


def finish_upload(volumes, spacing, source, notes) -> MRIUpload:
    """The upload of ``volumes``, once they are known to share one grid."""
    if not volumes:
        raise UploadError(f"the upload holds no MRI sequence. {MRI_HELP}")
    _check_same_grid(volumes)
    return MRIUpload(volumes, spacing, source, notes)
