"""Spatial randomness: smooth noise fields and jittered-lattice point patterns.

Noise fields give outlines, textures and zones their irregularity; point patterns say
where cells sit.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def _upsample_linear(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a 2-D array to ``shape``, one axis at a time."""
    for axis, n_out in enumerate(shape):
        n_in = image.shape[axis]
        position = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(position).astype(np.intp)
        high = np.minimum(low + 1, n_in - 1)
        weight = (position - low).astype(np.float32)
        weight = weight[:, None] if axis == 0 else weight[None, :]
        first, second = np.take(image, low, axis=axis), np.take(image, high, axis=axis)
        image = first + weight * (second - first)
    return image


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian-filtered white noise, rescaled to mean 0 and standard deviation 1.

    Blurring at full resolution with a wide kernel is slow, so a field that varies over
    many pixels is made on a coarser grid and linearly interpolated up. Returns an array of
    ``shape``, float32.
    """
    height, width = shape
    factor = max(1, min(int(sigma_px / 2), min(shape) // 8))
    coarse = (-(-height // factor), -(-width // factor))
    noise = ndi.gaussian_filter(rng.standard_normal(coarse, dtype=np.float32), sigma_px / factor)
    noise = (noise - noise.mean()) / (noise.std() + 1e-6)
    return _upsample_linear(noise, shape) if factor > 1 else noise


def _scatter(
    rng: np.random.Generator, mask: np.ndarray, spacing_px: float, keep: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Centres of cells packed in a jittered hexagonal lattice inside ``mask``.

    A lattice with random jitter spaces cells evenly without overlap, which is how cells in
    a sheet sit; ``keep`` < 1 thins it at random (sparse fibroblasts, scattered lymphocytes).

    Returns
    -------
    y, x : np.ndarray of intp, shape (N,)
        Pixel coordinates of the kept centres.
    """
    height, width = mask.shape
    row_step = spacing_px * np.sqrt(3) / 2
    rows = np.arange(rng.uniform(0, row_step), height, row_step)
    cols = np.arange(rng.uniform(-spacing_px, 0), width, spacing_px)
    yy, xx = np.meshgrid(rows, cols, indexing="ij")
    xx = xx + (np.arange(len(rows))[:, None] % 2) * spacing_px / 2  # offset every other row
    jitter = rng.uniform(-0.3, 0.3, (2, *yy.shape)) * spacing_px
    y = np.rint(yy + jitter[0]).astype(np.intp).ravel()
    x = np.rint(xx + jitter[1]).astype(np.intp).ravel()
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    y, x = y[inside], x[inside]
    chosen = mask[y, x] & (rng.random(len(y)) < keep)
    return y[chosen], x[chosen]
