"""Input checks shared by the explanation figures: arrays from numpy or torch, and clear
errors for a wrong shape, slice, case or opacity."""

from __future__ import annotations

import numpy as np


def as_array(x, dtype=float) -> np.ndarray:
    """numpy copy of an array or a torch tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def volume(x, name: str) -> np.ndarray:
    """``x`` as one (Z, Y, X) volume, or a ValueError naming it."""
    a = as_array(x)
    if a.ndim != 3:
        raise ValueError(f"{name} must be one volume (Z, Y, X), got shape {a.shape}")
    return a


def same_shape(x, shape: tuple[int, ...], name: str, dtype=float) -> np.ndarray:
    """``x`` as an array of the image's ``shape``, or a ValueError naming both shapes."""
    a = as_array(x, dtype=dtype)
    if a.shape != shape:
        raise ValueError(f"the image has shape {shape} but {name} has shape {a.shape}")
    return a


def check_index(index, count: int, what: str) -> int:
    """``index`` as an int in 0..count-1 (``what``: "slice", "case"), or a ValueError."""
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise ValueError(f"{what} must be an integer index, got {index!r}")
    if not 0 <= index < count:
        raise ValueError(f"{what} {index} is outside 0..{count - 1}")
    return int(index)


def check_opacity(opacity: float) -> float:
    """``opacity`` as a float in [0, 1], or a ValueError."""
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    return float(opacity)
