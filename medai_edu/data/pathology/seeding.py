"""Seeding: one seed per case, one independent random generator per part of the case."""

from __future__ import annotations

import numpy as np


def _child_rngs(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per part of a case, so e.g. changing the image size never
    changes the report."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    # New parts go at the end: spawned children are keyed by position, so the first six
    # (and every case of the first generator) stay the same.
    parts = ("labels", "concepts", "survival", "genes", "report", "image", "stage", "markers")
    children = np.random.SeedSequence(int(seed)).spawn(len(parts))
    return {part: np.random.default_rng(child) for part, child in zip(parts, children, strict=True)}
