"""Elliptical structures: glands, keratin pearls, vessels and lymphoid aggregates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


def _per_pixel(values: np.ndarray, owner: np.ndarray, default: float = 0.0) -> np.ndarray:
    """Look up a per-blob value for every pixel; ``default`` where ``owner`` is -1."""
    table = np.append(np.asarray(values, np.float32), np.float32(default))
    return table[owner]  # owner -1 picks the appended default


@dataclass
class _Blobs:
    """Elliptical structures (glands, keratin pearls, vessels, lymphoid aggregates).

    ``radius`` is the semi-axis across the ellipse in pixels; along ``angle`` it is
    ``radius * elongation``.
    """

    y: np.ndarray
    x: np.ndarray
    radius: np.ndarray
    elongation: np.ndarray
    angle: np.ndarray

    @classmethod
    def sample(cls, rng, y, x, radius_px: tuple[float, float], elongation=(1.0, 1.5)) -> _Blobs:
        n = len(y)
        return cls(
            y.astype(np.float32),
            x.astype(np.float32),
            rng.uniform(*radius_px, n).astype(np.float32),
            rng.uniform(*elongation, n).astype(np.float32),
            rng.uniform(0, np.pi, n).astype(np.float32),
        )

    def without_overlaps(self, margin_px: float = 0.0) -> _Blobs:
        """Drop blobs that would overlap an earlier one (greedy, in order).

        Overlapping glands would merge into one lumen lined on one side only.
        """
        reach = self.radius * (1 + self.elongation) / 2 + margin_px  # mean semi-axis
        kept: list[int] = []
        for i in range(len(self.y)):
            if kept:
                gap = np.hypot(self.y[kept] - self.y[i], self.x[kept] - self.x[i])
                if np.any(gap < reach[kept] + reach[i]):
                    continue
            kept.append(i)
        return _Blobs(*(getattr(self, f.name)[kept] for f in dataclasses.fields(self)))

    def paint(
        self, shape: tuple[int, int], bumps: np.ndarray | None = None, bumpiness: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance of every pixel to its nearest blob, in units of that blob's radius.

        Returns ``relative`` (H, W) float32 (< 1 inside a blob; ``inf`` far from all) and
        ``owner`` (H, W) int32 (index of the nearest blob, -1 far from all). ``bumps``, a
        smooth noise field, makes outlines irregular. A loop over blobs, each drawn in its
        own bounding box, is fast because blobs are few and small.
        """
        relative = np.full(shape, np.inf, np.float32)
        owner = np.full(shape, -1, np.int32)
        for i in range(len(self.y)):
            reach = self.radius[i] * self.elongation[i] * 1.6 * (1 + bumpiness) + 2
            y0, y1 = max(0, int(self.y[i] - reach)), min(shape[0], int(self.y[i] + reach) + 1)
            x0, x1 = max(0, int(self.x[i] - reach)), min(shape[1], int(self.x[i] + reach) + 1)
            if y0 >= y1 or x0 >= x1:
                continue
            dy = np.arange(y0, y1, dtype=np.float32)[:, None] - self.y[i]
            dx = np.arange(x0, x1, dtype=np.float32)[None, :] - self.x[i]
            cos, sin = np.cos(self.angle[i]), np.sin(self.angle[i])
            along, across = dx * cos + dy * sin, -dx * sin + dy * cos
            d = np.sqrt((along / self.elongation[i]) ** 2 + across**2) / self.radius[i]
            if bumps is not None:
                d = d * (1 + bumpiness * bumps[y0:y1, x0:x1])
            window = (slice(y0, y1), slice(x0, x1))
            closer = d < relative[window]
            relative[window][closer] = d[closer]
            owner[window][closer] = i
        return relative, owner

    def ring_points(
        self, rng: np.random.Generator, scale: np.ndarray, spacing_px: float, jitter_px: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points evenly spaced around each blob's outline scaled by ``scale`` (per blob).

        Used for the nuclei lining a gland or a vessel. Returns ``y``, ``x`` (float32, (N,))
        and ``outward`` (N,), the angle pointing away from the blob's centre.
        """
        across = self.radius * scale
        perimeter = np.pi * across * (1 + self.elongation)  # ellipse, roughly
        counts = np.maximum(3, np.rint(perimeter / spacing_px)).astype(np.intp)
        blob = np.repeat(np.arange(len(counts)), counts)
        position = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        start = rng.uniform(0, 2 * np.pi, len(counts))[blob]
        theta = 2 * np.pi * (position + rng.uniform(-0.2, 0.2, len(blob))) / counts[blob] + start
        r = across[blob] + rng.normal(0, jitter_px, len(blob))
        along_r, across_r = r * self.elongation[blob] * np.cos(theta), r * np.sin(theta)
        cos, sin = np.cos(self.angle[blob]), np.sin(self.angle[blob])
        x = self.x[blob] + along_r * cos - across_r * sin
        y = self.y[blob] + along_r * sin + across_r * cos
        outward = np.arctan2(y - self.y[blob], x - self.x[blob])
        return y.astype(np.float32), x.astype(np.float32), outward.astype(np.float32)
