"""Nuclei: their shape and chromatin, mitotic figures, and painting them all at once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from medai_edu.data.pathology.patterns import _smooth_noise

NUCLEUS_KINDS = ("tumour", "fibroblast", "lymphocyte", "debris", "endothelium")
_TUMOUR_CELL, _FIBROBLAST, _LYMPHOCYTE, _DEBRIS, _ENDOTHELIUM = range(5)


@dataclass
class _Nuclei:
    """One row per nucleus; lengths in pixels, angles in radians, darkness in OD units."""

    y: np.ndarray
    x: np.ndarray
    a: np.ndarray  # semi-axis along `angle`
    b: np.ndarray  # semi-axis across
    angle: np.ndarray
    darkness: np.ndarray  # haematoxylin optical density of the chromatin
    texture: np.ndarray  # chromatin granularity: 0 smooth, 0.5 "salt and pepper"
    irregularity: np.ndarray  # contour bumpiness (pleomorphism)
    vesicular: np.ndarray  # 0 evenly dark, 1 chromatin cleared to the rim
    nucleolus: np.ndarray  # bool
    kind: np.ndarray  # index into NUCLEUS_KINDS

    @classmethod
    def concat(cls, parts: list[_Nuclei]) -> _Nuclei:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(*[np.concatenate([getattr(p, n) for p in parts]) for n in names])

    def __len__(self) -> int:
        return len(self.y)


def _nuclei(
    rng: np.random.Generator,
    y: np.ndarray,
    x: np.ndarray,
    kind: int,
    radius_px: float,
    *,
    elongation: float = 1.2,
    angle: np.ndarray | None = None,
    size_cv: float = 0.08,
    darkness: float = 0.8,
    texture: float = 0.2,
    irregularity: float = 0.03,
    vesicular: float = 0.0,
    nucleolus_prob: float = 0.0,
) -> _Nuclei:
    """Nuclei of one kind at the given centres, with random size, shape and darkness.

    ``radius_px`` is the mean radius of a circle of the same area; ``size_cv`` its
    coefficient of variation (anisonucleosis, part of pleomorphism).
    """
    n = len(y)
    size = radius_px * rng.lognormal(0.0, size_cv, n)
    stretch = np.sqrt(elongation * rng.lognormal(0.0, 0.1, n))
    angle = rng.uniform(0, np.pi, n) if angle is None else np.broadcast_to(angle, (n,))
    return _Nuclei(
        y=np.asarray(y, np.float32),
        x=np.asarray(x, np.float32),
        a=(size * stretch).astype(np.float32),
        b=(size / stretch).astype(np.float32),
        angle=np.asarray(angle, np.float32),
        darkness=(darkness * rng.lognormal(0.0, 0.1 + size_cv / 2, n)).astype(np.float32),
        texture=np.full(n, texture, np.float32),
        irregularity=np.full(n, irregularity, np.float32),
        vesicular=np.full(n, vesicular, np.float32),
        nucleolus=rng.random(n) < nucleolus_prob,
        kind=np.full(n, kind, np.int8),
    )


def _add_mitoses(rng: np.random.Generator, nuclei: _Nuclei, fraction: float) -> int:
    """Turn a random ``fraction`` of tumour nuclei into mitotic figures, in place.

    A mitotic figure has no nuclear membrane: a dark, ragged clump of condensed chromosomes,
    here flattened like a metaphase plate. Returns the number of figures drawn.
    """
    chosen = (nuclei.kind == _TUMOUR_CELL) & (rng.random(len(nuclei)) < fraction)
    nuclei.darkness[chosen] = 1.6 * np.maximum(nuclei.darkness[chosen], 0.8)
    nuclei.a[chosen] *= 1.1
    nuclei.b[chosen] *= 0.5
    nuclei.texture[chosen] = 0.6
    nuclei.irregularity[chosen] = 0.35
    nuclei.vesicular[chosen] = 0.0
    nuclei.nucleolus[chosen] = False
    return int(chosen.sum())


def _render_nuclei(
    rng: np.random.Generator, nuclei: _Nuclei, shape: tuple[int, int], px_per_um: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint all nuclei at once.

    One Euclidean distance transform gives every pixel its nearest nucleus centre (a
    Voronoi partition: the cell each pixel belongs to). Each pixel is then inside that
    nucleus if its distance, in the nucleus's own elliptical coordinates, is below 1.
    Crowded nuclei are clipped at the Voronoi border, which is what nuclear moulding in
    small cell carcinoma looks like.

    Returns
    -------
    haematoxylin, eosin : np.ndarray, shape (H, W), float32
        Stain concentrations (OD) contributed by nuclei and nucleoli.
    owner : np.ndarray, shape (H, W), int32
        Index of the cell (nearest nucleus) of every pixel, -1 if there are none.
    """
    height, width = shape
    if len(nuclei) == 0:
        return (
            np.zeros(shape, np.float32),
            np.zeros(shape, np.float32),
            np.full(shape, -1, np.int32),
        )
    yi = np.clip(np.rint(nuclei.y).astype(np.intp), 0, height - 1)
    xi = np.clip(np.rint(nuclei.x).astype(np.intp), 0, width - 1)
    markers = np.zeros(shape, np.int32)
    markers[yi, xi] = np.arange(1, len(nuclei) + 1)  # a nucleus on a taken pixel is dropped
    iy, ix = ndi.distance_transform_edt(markers == 0, return_distances=False, return_indices=True)
    owner = markers[iy, ix] - 1
    dy = (np.arange(height, dtype=np.int32)[:, None] - iy).astype(np.float32)
    dx = (np.arange(width, dtype=np.int32)[None, :] - ix).astype(np.float32)
    del iy, ix
    cos, sin = np.cos(nuclei.angle)[owner], np.sin(nuclei.angle)[owner]
    a, b = nuclei.a[owner], nuclei.b[owner]
    rho = np.sqrt(((dx * cos + dy * sin) / a) ** 2 + ((dy * cos - dx * sin) / b) ** 2)
    rho *= 1 + nuclei.irregularity[owner] * _smooth_noise(rng, shape, 1.5 * px_per_um)
    inside = np.clip((1 - rho) * b + 0.5, 0, 1)  # soft edge about one pixel wide
    grain = ndi.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), 0.35 * px_per_um)
    grain /= grain.std() + 1e-6
    chromatin = nuclei.darkness[owner] * np.clip(1 + nuclei.texture[owner] * grain, 0.2, None)
    # Vesicular nuclei: chromatin pushed to the nuclear membrane, pale centre.
    vesicular = nuclei.vesicular[owner]
    chromatin *= 1 - vesicular * (1 - np.clip((rho - 0.35) / 0.5, 0, 1)) * 0.65
    nucleolus = nuclei.nucleolus[owner] * np.clip((0.22 - rho) * 8, 0, 1) * inside
    haematoxylin = inside * chromatin + 0.35 * nucleolus
    eosin = 0.05 * inside + 0.3 * nucleolus  # nucleoli are amphophilic (pink-purple)
    return haematoxylin, eosin, owner
