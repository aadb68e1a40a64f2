"""Hospitals: each site stains and scans its slides its own way.

A site fixes the stain vectors and amounts (its protocol and dye batches), the scanner's
white point and its focus (the blur of its optics); the slides of one site vary only a
little around them. This is why a model trained at two sites can fail at a third, and why
slides are split by site to test it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.pathology.stain import lab_stain


@dataclass(frozen=True)
class Site:
    """One hospital's staining and scanning.

    stain_matrix (2, 3) unit optical-density vectors of haematoxylin and eosin; amounts (2,)
    stain multipliers; white (3,) RGB of clear glass, 0-255; blur_um: the scanner's
    point-spread (Gaussian sd, µm).
    """

    index: int
    stain_matrix: np.ndarray
    amounts: np.ndarray
    white: np.ndarray
    blur_um: float


def make_sites(n: int, seed: int = 0, stain_variation: float = 1.0) -> list[Site]:
    """``n`` sites, drawn from ``seed``; ``stain_variation`` as in :class:`SlideConfig`.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    rng = np.random.default_rng([int(seed), 7_771])
    sites = []
    for index in range(n):
        matrix, amounts, white = lab_stain(rng, 1.5 * stain_variation)
        blur = float(rng.uniform(0.2, 0.6))
        sites.append(Site(index, matrix, amounts, white, blur))
    return sites


def _slide_stain(site: Site, rng: np.random.Generator):
    """This slide's stain at ``site``: the site's, with a little slide-to-slide variation."""
    amounts = np.clip(site.amounts * (1 + rng.normal(0, 0.04, 2)), 0.5, 1.6).astype(np.float32)
    return site.stain_matrix, amounts, site.white
