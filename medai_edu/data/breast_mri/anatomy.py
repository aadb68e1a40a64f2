"""The breast and the lesion in millimetres: tissue masks, lesion shape and placement."""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage, special


def _smooth_field(rng, shape, sigma) -> np.ndarray:
    """Zero-mean, unit-variance smooth random field (texture, bias, lobulation)."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-8)


@functools.lru_cache(maxsize=8)
def _voxel_centres_mm(shape, spacing_mm) -> np.ndarray:
    """Coordinates of voxel centres in mm, shape (3, Z, Y, X); shared, read-only."""
    grid = np.indices(shape, dtype=np.float32)
    coords = (grid + 0.5) * np.asarray(spacing_mm, dtype=np.float32)[:, None, None, None]
    coords.flags.writeable = False
    return coords


def _breast_anatomy(rng, coords_mm, extent_mm) -> dict[str, np.ndarray]:
    """Masks of air, fat, fibroglandular tissue and pectoral muscle, each (Z, Y, X) float."""
    _, y, x = coords_mm
    ez, ey, ex = extent_mm
    wall = ey * rng.uniform(0.78, 0.86)  # chest wall depth (posterior = high y)
    half_width = ex * rng.uniform(0.44, 0.5)
    depth = wall * rng.uniform(0.85, 0.97)
    inside = ((x - ex / 2) / half_width) ** 2 + ((y - wall) / depth) ** 2 < 1
    breast = (inside & (y < wall)).astype(np.float32)
    muscle = ((y >= wall) & (y < wall + ey * 0.12)).astype(np.float32)
    density = rng.uniform(0.25, 0.6)  # fibroglandular fraction (BI-RADS density a-d)
    texture = _smooth_field(rng, breast.shape, (0.8, 1.5, 1.5))
    glandular = breast * (texture > np.quantile(texture, 1 - density)).astype(np.float32)
    glandular = ndimage.gaussian_filter(glandular, 0.6)
    fat = np.clip(breast - glandular, 0, 1)
    return {"fat": fat, "glandular": glandular, "muscle": muscle, "body": breast + muscle}


def _choose_lesion_centre(rng, coords_mm, glandular):
    """A centre inside fibroglandular tissue, far enough from the volume's edges."""
    shape = np.array(glandular.shape)
    margin_vox = np.minimum(np.maximum(2, shape // 4), shape // 2 - 1)
    candidates = np.argwhere(glandular > 0.5)
    inner = np.all((candidates >= margin_vox) & (candidates < shape - margin_vox), axis=1)
    candidates = candidates[inner]
    if len(candidates) == 0:
        idx = shape // 2
    else:
        idx = candidates[rng.integers(len(candidates))]
    return coords_mm[(slice(None), *idx)]


def _lesion_box(coords_mm, centre_mm, radius_mm) -> tuple[slice, ...]:
    """The voxels within 3 radii of the centre (spicules reach < 3 radii)."""
    spacing = coords_mm[:, 1, 1, 1] - coords_mm[:, 0, 0, 0]
    centre_vox = np.floor(centre_mm / spacing).astype(int)
    reach = np.ceil(3 * radius_mm / spacing).astype(int)
    return tuple(
        slice(max(c - r, 0), min(c + r + 1, n))
        for c, r, n in zip(centre_vox, reach, coords_mm.shape[1:], strict=True)
    )


def _boundary(rng, u, margin) -> np.ndarray:
    """Boundary radius R(u) / mean radius along unit directions ``u`` (3, z, y, x).

    Smooth for a circumscribed lesion, lobulated for an irregular one, with tapering
    spicules for a spiculated one.
    """
    wave = np.zeros(u.shape[1:], dtype=u.dtype)
    for _ in range(4):
        k = rng.standard_normal(3)
        k /= np.linalg.norm(k)
        wave += np.cos(rng.integers(2, 5) * np.pi * np.tensordot(k, u, 1) + rng.uniform(0, 6.3))
    boundary = 1 + (0.04, 0.25, 0.08)[margin] * wave
    if margin == 2:
        for _ in range(rng.integers(7, 11)):
            v = rng.standard_normal(3)
            v /= np.linalg.norm(v)
            closeness = (np.tensordot(v, u, 1) - 0.93) / 0.07  # 1 on the axis, 0 at ~22 deg
            boundary += rng.uniform(0.9, 1.6) * np.clip(closeness, 0, 1) ** 2
    return boundary


def _lesion_fraction(rng, coords_mm, centre_mm, radius_mm, margin) -> tuple[np.ndarray, np.ndarray]:
    """Partial-volume lesion occupancy in [0, 1] and the normalised radius rho/R.

    The boundary radius R(u) along direction u follows the margin (:func:`_boundary`). The
    edge is sharp for a circumscribed lesion and blurred (infiltrative, "indistinct") for
    the others, so the margin is visible even where a 2 mm voxel cannot resolve a spicule.
    Only a box around the lesion is computed; outside it the occupancy is 0 and rho/R is
    large.
    """
    box = _lesion_box(coords_mm, centre_mm, radius_mm)
    fraction = np.zeros(coords_mm.shape[1:], dtype=np.float32)
    rel_radius = np.full(coords_mm.shape[1:], 10.0, dtype=np.float32)
    d = coords_mm[(slice(None), *box)] - centre_mm[:, None, None, None]  # (3, z, y, x)
    axes = np.array([rng.uniform(0.8, 1.0), 1.0, rng.uniform(0.75, 1.0)], dtype=np.float32)
    d = d / axes[:, None, None, None]
    dist = np.sqrt((d**2).sum(0)) + 1e-6
    boundary = _boundary(rng, d / dist, margin)
    rho = dist / radius_mm
    edge_mm = (0.4, 1.6, 1.1)[margin]
    fraction[box] = special.expit((boundary - rho) * radius_mm / edge_mm)
    rel_radius[box] = rho / boundary
    return fraction, rel_radius
