"""Stroma: collagen fibres and small vessels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.pathology.blobs import _Blobs
from medai_edu.data.pathology.layout import _Layout
from medai_edu.data.pathology.patterns import _scatter, _smooth_noise


@dataclass
class _Collagen:
    """Dense collagen: pink bundles parted by thin pale clefts that follow wavy lines.

    The clefts are the crests of a plane wave whose phase is warped by smooth noise (the
    "wood grain" trick); two fibre directions alternate in patches.
    """

    clefts: np.ndarray  # (H, W) float32 in [0, 1], 1 in a cleft between bundles
    bands: np.ndarray  # (H, W) float32 in [-1, 1], denser and looser bundles
    phases: tuple[np.ndarray, np.ndarray]
    blend: np.ndarray  # (H, W) weight of the first fibre direction

    @classmethod
    def draw(cls, rng: np.random.Generator, shape: tuple[int, int], um: float) -> _Collagen:
        y = np.arange(shape[0], dtype=np.float32)[:, None]
        x = np.arange(shape[1], dtype=np.float32)[None, :]
        wavenumber = 2 * np.pi / (rng.uniform(4.0, 7.0) * um)  # a bundle every 4-7 µm
        first = rng.uniform(0, np.pi)
        phases, crests = [], []
        for direction in (first, first + rng.uniform(0.6, 1.2)):
            warp = 25 * _smooth_noise(rng, shape, 45 * um) + 4 * _smooth_noise(rng, shape, 6 * um)
            phase = wavenumber * (x * np.cos(direction) + y * np.sin(direction)) + warp
            phases.append(phase)
            crests.append(np.exp((np.sin(phase) - 1) / 0.12))  # narrow peaks, ~1 µm wide
        blend = 1 / (1 + np.exp(-8 * _smooth_noise(rng, shape, 120 * um)))
        # Clefts are short: a patchy envelope breaks them into fibre-length pieces.
        envelope = np.clip(0.3 + 0.7 * _smooth_noise(rng, shape, 4 * um), 0, 1)
        clefts = envelope * (blend * crests[0] + (1 - blend) * crests[1])
        # Neighbouring bundles differ in density: a slower wave along the same lines.
        bands = np.sin(0.3 * np.where(blend > 0.5, phases[0], phases[1]))
        return cls(clefts, bands, tuple(phases), blend)

    def direction_at(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Angle (radians) along which fibres run at pixels (y, x): across the phase gradient."""
        height, width = self.blend.shape
        y0, y1 = np.clip(y - 1, 0, height - 1), np.clip(y + 1, 0, height - 1)
        x0, x1 = np.clip(x - 1, 0, width - 1), np.clip(x + 1, 0, width - 1)
        phase = np.where(self.blend[y, x] > 0.5, 0, 1)
        gy = np.choose(phase, [p[y1, x] - p[y0, x] for p in self.phases])
        gx = np.choose(phase, [p[y, x1] - p[y, x0] for p in self.phases])
        return np.arctan2(gy, gx) + np.pi / 2


def _vessels(rng: np.random.Generator, layout: _Layout) -> tuple[_Blobs, np.ndarray]:
    """Small vessels (capillaries, venules) in the stroma outside the tumour.

    Returns the vessels and ``relative`` (H, W): distance to the nearest vessel centre in
    units of its lumen radius (< 1 in the lumen, 1-1.4 the wall).
    """
    um, shape = layout.px_per_um, layout.tissue.shape
    stroma = layout.tissue & ~layout.bed & ~layout.lymphoid
    vy, vx = _scatter(rng, stroma, 140 * um, keep=0.6)
    vessels = _Blobs.sample(rng, vy, vx, (4 * um, 11 * um), (1.0, 2.2))
    relative, _ = vessels.paint(shape)
    return vessels, relative
