"""Tumour morphology, one painter per tumour type.

Adenocarcinoma forms glands with open lumina; squamous cell carcinoma forms nests of large
pink cells with keratin pearls; small cell carcinoma forms sheets of small, dark, moulded
nuclei with scant cytoplasm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.pathology.blobs import _Blobs, _per_pixel
from medai_edu.data.pathology.layout import _Layout
from medai_edu.data.pathology.nuclei import _TUMOUR_CELL, _Nuclei, _nuclei
from medai_edu.data.pathology.patterns import _scatter, _smooth_noise
from medai_edu.data.pathology.vocabulary import ADENO, SMALL_CELL, SQUAMOUS


@dataclass
class _TumourDrawing:
    """What a tumour-type painter returns; all maps are (H, W)."""

    epithelium: np.ndarray  # bool: tumour cells (cytoplasm colour goes here)
    lumen: np.ndarray  # bool: gland lumina
    keratin: np.ndarray | None  # float32 lamellae of keratin pearls (0 outside pearls)
    nuclei: _Nuclei


def _draw_adenocarcinoma(
    rng: np.random.Generator, layout: _Layout, concepts: dict[str, float]
) -> _TumourDrawing:
    """Glands where the architecture allows them, solid nests of tumour cells elsewhere.

    Architecture score 0 puts glands everywhere, 1 in about two thirds of the tumour, 2
    nowhere (a solid, poorly differentiated adenocarcinoma).
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    arch, pleo = int(concepts["architecture_score"]), int(concepts["nuclear_pleomorphism"])
    zone = _smooth_noise(rng, shape, 80 * um)
    gland_zone = viable & (zone > (-np.inf, -0.5, np.inf)[arch])
    lumen, lining, gland_nuclei = _draw_glands(rng, layout, gland_zone, pleo)

    solid = viable & ~gland_zone & (_smooth_noise(rng, shape, 25 * um) > -0.6)
    sy, sx = _scatter(rng, solid, 13 * um * (1 - 0.05 * pleo))
    solid_nuclei = _tumour_nuclei(rng, sy, sx, pleo, um, 3.8, 1.3)
    nuclei = _Nuclei.concat([gland_nuclei, solid_nuclei])
    return _TumourDrawing(lining | solid, lumen, None, nuclei)


def _draw_glands(
    rng: np.random.Generator, layout: _Layout, zone: np.ndarray, pleo: int
) -> tuple[np.ndarray, np.ndarray, _Nuclei]:
    """Glands: a lumen lined by one layer of columnar cells whose nuclei sit at the base.

    Pleomorphism enlarges the nuclei and loses their polarity (they drift off the basal
    line and tilt). Returns the lumen and lining masks (H, W) bool and the lining nuclei.
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    height = 15 * um  # of a columnar cell
    outer_radius = (8 * um + height, 22 * um + height)
    cy, cx = _scatter(rng, zone, 1.5 * np.mean(outer_radius))  # dense: overlaps dropped next
    glands = _Blobs.sample(rng, cy, cx, outer_radius, (1.0, 1.4))
    glands = glands.without_overlaps(margin_px=2 * um)
    relative, owner = glands.paint(shape, _smooth_noise(rng, shape, 6 * um), 0.05 + 0.04 * pleo)
    lumen_fraction = _per_pixel(1 - height / glands.radius, owner)
    lumen = (relative < lumen_fraction) & viable
    lining = (relative < 1) & ~lumen & viable

    basal = 1 - 0.38 * height / glands.radius  # nuclei in the basal third of the cell
    y, x, outward = glands.ring_points(rng, basal, 7.5 * um, (0.4 + 1.2 * pleo) * um)
    yi = np.clip(np.rint(y).astype(np.intp), 0, shape[0] - 1)
    xi = np.clip(np.rint(x).astype(np.intp), 0, shape[1] - 1)
    keep = lining[yi, xi]
    polarity = outward[keep] + rng.normal(0, 0.15 + 0.35 * pleo, keep.sum())
    nuclei = _tumour_nuclei(rng, y[keep], x[keep], pleo, um, 3.8, 2.0 - 0.3 * pleo, polarity)
    return lumen, lining, nuclei


def _tumour_nuclei(
    rng, y, x, pleo: int, um: float, radius_um: float, elongation: float, angle=None
) -> _Nuclei:
    """Carcinoma nuclei whose size, variability, contour, darkness and nucleoli follow the
    pleomorphism score (0-2)."""
    return _nuclei(
        rng,
        y,
        x,
        _TUMOUR_CELL,
        radius_um * um * (1 + 0.2 * pleo),
        elongation=elongation,
        angle=angle,
        size_cv=0.07 + 0.09 * pleo,
        darkness=0.65 + 0.12 * pleo,
        texture=0.25,
        irregularity=0.03 + 0.06 * pleo,
        vesicular=0.25 + 0.25 * pleo,
        nucleolus_prob=(0.05, 0.3, 0.75)[pleo],
    )


def _draw_squamous(
    rng: np.random.Generator, layout: _Layout, concepts: dict[str, float]
) -> _TumourDrawing:
    """Nests of large polygonal cells with pink cytoplasm, and keratin pearls.

    A keratin pearl is a whorl of concentric keratin lamellae; the cells around it are
    flattened along its rim. Architecture 0 has many pearls, 1 a few, 2 none.
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    arch, pleo = int(concepts["architecture_score"]), int(concepts["nuclear_pleomorphism"])
    nests = viable & (_smooth_noise(rng, shape, 45 * um) > (-0.8, -1.0, -1.3)[arch])

    keratin = np.zeros(shape, np.float32)
    pearl = np.zeros(shape, bool)
    near_pearl = np.zeros(0, bool)
    if arch < 2:
        py, px = _scatter(rng, nests, (110 * um, 220 * um)[arch])
        pearls = _Blobs.sample(rng, py, px, (14 * um, 32 * um), (1.0, 1.4))
        relative, owner = pearls.paint(shape, _smooth_noise(rng, shape, 5 * um), 0.08)
        pearl = (relative < 1) & nests
        depth = relative[pearl] * pearls.radius[owner[pearl]] / um  # µm from the centre
        wobble = _smooth_noise(rng, shape, 3 * um)[pearl]
        keratin[pearl] = 0.5 + 0.5 * np.sin(2 * np.pi * depth / 4.0 + wobble)  # 4 µm lamellae

    cy, cx = _scatter(rng, nests & ~pearl, 18 * um * (1 - 0.05 * pleo))
    nuclei = _tumour_nuclei(rng, cy, cx, pleo, um, 4.0, 1.3)
    if arch < 2 and len(cy):
        # Cells at a pearl's rim are flattened around it and their nuclei shrink (pyknosis).
        near_pearl = relative[cy, cx] < 1.5
        centre = owner[cy, cx][near_pearl]
        tangent = np.arctan2(cy[near_pearl] - pearls.y[centre], cx[near_pearl] - pearls.x[centre])
        nuclei.angle[near_pearl] = tangent + np.pi / 2
        nuclei.a[near_pearl] *= 1.2
        nuclei.b[near_pearl] *= 0.5
        nuclei.darkness[near_pearl] *= 1.3
    return _TumourDrawing(nests & ~pearl, np.zeros(shape, bool), keratin, nuclei)


def _draw_small_cell(
    rng: np.random.Generator, layout: _Layout, concepts: dict[str, float]
) -> _TumourDrawing:
    """Sheets of small cells: crowded, moulded, finely granular dark nuclei, scant cytoplasm.

    The nuclei are placed closer together than their own diameter, so the Voronoi clipping
    in :func:`_render_nuclei` moulds neighbours against each other.
    """
    um, shape, viable = layout.px_per_um, layout.tissue.shape, layout.viable
    pleo = int(concepts["nuclear_pleomorphism"])
    sheets = viable & (_smooth_noise(rng, shape, 60 * um) > -1.0)
    cy, cx = _scatter(rng, sheets, 7.5 * um * (1 - 0.04 * pleo))
    nuclei = _nuclei(
        rng,
        cy,
        cx,
        _TUMOUR_CELL,
        3.9 * um * (1 + 0.12 * pleo),
        elongation=1.5,
        size_cv=0.06 + 0.05 * pleo,
        darkness=0.9 + 0.08 * pleo,
        texture=0.5,  # "salt and pepper" chromatin
        irregularity=0.05 + 0.04 * pleo,
    )
    return _TumourDrawing(sheets, np.zeros(shape, bool), None, nuclei)


_TUMOUR_PAINTERS = {
    ADENO: _draw_adenocarcinoma,
    SQUAMOUS: _draw_squamous,
    SMALL_CELL: _draw_small_cell,
}
