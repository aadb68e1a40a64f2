"""A hospital's MRI scanner: its settings, and what it does to the ideal images.

The same tissue looks different in every hospital: the receive coil adds a smooth bias
field, the vendor scales intensities, the resolution blurs, and the magnitude image has
Rician noise. The ADC map is derived from the noisy diffusion images, as a scanner does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class ScannerSite:
    """Acquisition settings of one hospital's scanner.

    noise: Rician noise sigma as a fraction of fibroglandular signal.
    bias_field: amplitude of the smooth multiplicative coil inhomogeneity (0 = none).
    gain: vendor intensity scale (arbitrary units).
    contrast_gain: scales enhancement (contrast dose, injection timing).
    b_high: the high b-value of DWI in s/mm^2.
    blur_voxels: Gaussian point-spread sigma in voxels (lower effective resolution).
    slice_blur_voxels: extra Gaussian sigma along the slice axis z in voxels (thicker
        slices than the grid's spacing); 0: none.
    dce_delay_min: the post-contrast DCE phases are acquired this many minutes after their
        nominal times (another injection or timing protocol); 0: on time.
    """

    name: str
    field_strength_t: float = 3.0
    noise: float = 0.03
    bias_field: float = 0.1
    gain: float = 1.0
    contrast_gain: float = 1.0
    b_high: float = 800.0
    blur_voxels: float = 0.0
    slice_blur_voxels: float = 0.0
    dce_delay_min: float = 0.0


DEFAULT_SITES = (
    ScannerSite("Hospital A (3 T)", 3.0, noise=0.03, bias_field=0.10),
    ScannerSite(
        "Hospital B (1.5 T)",
        1.5,
        noise=0.06,
        bias_field=0.25,
        gain=0.7,
        contrast_gain=0.85,
        b_high=1000.0,
        blur_voxels=0.7,
    ),
    ScannerSite(
        "Hospital C (3 T, other vendor)",
        3.0,
        noise=0.045,
        bias_field=0.35,
        gain=1.4,
        contrast_gain=1.15,
        b_high=800.0,
        blur_voxels=0.35,
    ),
)


#: The default sites with hospital C replaced by a 1.5 T scanner with thick slices and a
#: later DCE protocol: an external site whose difference survives per-volume normalisation
#: (noise relative to the signal, blur along z, the shape of the enhancement curve).
SHIFTED_SITES = (
    *DEFAULT_SITES[:2],
    replace(
        DEFAULT_SITES[2],
        name="Hospital C (1.5 T, other vendor, thick slices)",
        field_strength_t=1.5,
        noise=0.08,
        slice_blur_voxels=1.0,
        dce_delay_min=1.0,
    ),
)


def _coil_bias_field(rng, coords_mm, extent_mm, strength) -> np.ndarray:
    """Smooth multiplicative receive-coil inhomogeneity: exp(strength * random quadratic)."""
    r = coords_mm / np.asarray(extent_mm, dtype=np.float32)[:, None, None, None] - 0.5
    g, q = rng.standard_normal(3), rng.standard_normal(3)
    field = np.tensordot(g, r, 1) + 2 * np.tensordot(q, r**2 - 1 / 12, 1)
    return np.exp(strength * field / (np.abs(field).max() + 1e-6)).astype(np.float32)


def _rician(rng, signal, sigma) -> np.ndarray:
    """Magnitude of a complex signal with Gaussian noise: MRI's Rician noise."""
    noise = sigma * rng.standard_normal((2, *signal.shape), dtype=np.float32)
    return np.sqrt((signal + noise[0]) ** 2 + noise[1] ** 2)


def _acquire(rng, scanner: ScannerSite, bias, volumes, noise_sigma) -> np.ndarray:
    """What the scanner records of ideal ``volumes`` (..., Z, Y, X): blur within each
    volume, coil bias field, gain and Rician noise of ``noise_sigma`` (before gain)."""
    volumes = np.asarray(volumes, dtype=np.float32)
    if scanner.blur_voxels > 0 or scanner.slice_blur_voxels > 0:
        sigma = [scanner.blur_voxels] * 3
        if scanner.slice_blur_voxels > 0:  # thick slices: the two blurs add in quadrature
            sigma[0] = float(np.hypot(scanner.blur_voxels, scanner.slice_blur_voxels))
        volumes = ndimage.gaussian_filter(volumes, (0,) * (volumes.ndim - 3) + tuple(sigma))
    return _rician(rng, scanner.gain * bias * volumes, scanner.gain * noise_sigma)


def _adc_map(s_low, s_high, b_values) -> np.ndarray:
    """ADC = ln(S_low / S_high) / (b_high - b_low), in 10^-3 mm^2/s; 0 outside the body.

    Derived from the noisy images, as a scanner does, so the coil bias field cancels.
    """
    body = s_low > 0.1 * np.percentile(s_low, 99)
    ratio = np.log(np.maximum(s_low, 1e-6) / np.maximum(s_high, 1e-6))
    adc = 1e3 * ratio / (b_values[1] - b_values[0])
    return np.where(body, np.clip(adc, 0, 3.5), 0).astype(np.float32)
