"""MOME-mini's inputs from an uploaded case: each sequence resampled to the model's grid and
normalised as in training.
"""

from __future__ import annotations

import numpy as np

from medai_edu.data import MRI_SEQUENCES
from medai_edu.demos.uploads.limits import UploadError
from medai_edu.demos.uploads.volumes import MRIUpload


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
    for name in MRI_SEQUENCES:
        volume = normalised.get(name, np.zeros((channels[name], *shape), np.float32))
        inputs[name] = torch.from_numpy(np.ascontiguousarray(volume))[None].float()
    inputs["present"] = torch.tensor([[name in available for name in MRI_SEQUENCES]])
    return inputs
