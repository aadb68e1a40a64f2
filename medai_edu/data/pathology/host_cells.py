"""The non-tumour cells of the section: fibroblasts, lymphocytes, necrotic debris and
endothelium, each placed where it belongs in the layout."""

from __future__ import annotations

import numpy as np

from medai_edu.data.pathology.blobs import _Blobs
from medai_edu.data.pathology.layout import _Layout
from medai_edu.data.pathology.nuclei import (
    _DEBRIS,
    _ENDOTHELIUM,
    _FIBROBLAST,
    _LYMPHOCYTE,
    _Nuclei,
    _nuclei,
)
from medai_edu.data.pathology.patterns import _scatter
from medai_edu.data.pathology.stroma import _Collagen
from medai_edu.data.pathology.tumour import _TumourDrawing


def _background_nuclei(
    rng: np.random.Generator,
    layout: _Layout,
    drawing: _TumourDrawing,
    collagen: _Collagen,
    vessels: _Blobs,
    vessel_distance: np.ndarray,
    concepts: dict[str, float],
    visible_infiltrate: bool = False,
) -> list[_Nuclei]:
    """Non-tumour nuclei: fibroblasts, lymphocytes, necrotic debris, endothelium.

    ``visible_infiltrate``: lymphocytes among the tumour cells and in the stroma as dense
    as a real brisk infiltrate (the first generator drew them sparser)."""
    um = layout.px_per_um
    level = int(concepts["lymphocytic_infiltrate"])
    stroma = layout.tissue & ~layout.bed & ~layout.lymphoid & (vessel_distance >= 1.4)
    connective = (stroma | (layout.viable & ~drawing.epithelium & ~drawing.lumen)) & (
        vessel_distance >= 1.4
    )
    return [
        _fibroblasts(rng, connective, collagen, um),
        _lymphocytes(
            rng, layout.lymphoid, stroma, drawing.epithelium, level, um, visible_infiltrate
        ),
        _necrotic_debris(rng, layout.necrosis, um),
        _endothelium(rng, vessels, um),
    ]


def _fibroblasts(
    rng: np.random.Generator, connective: np.ndarray, collagen: _Collagen, um: float
) -> _Nuclei:
    """Sparse fibroblasts in the connective tissue, spindle-shaped and lying along the
    collagen fibres."""
    fy, fx = _scatter(rng, connective, 20 * um, keep=0.45)
    return _nuclei(
        rng,
        fy,
        fx,
        _FIBROBLAST,
        2.8 * um,
        elongation=7.0,
        angle=collagen.direction_at(fy, fx),
        darkness=0.75,
        texture=0.1,
    )


def _lymphocytes(
    rng: np.random.Generator,
    aggregates: np.ndarray,
    stroma: np.ndarray,
    epithelium: np.ndarray,
    level: int,
    um: float,
    visible: bool = False,
) -> _Nuclei:
    """Small, round, dark lymphocytes: packed in the lymphoid aggregates, scattered in the
    stroma and among the tumour cells, more of them the higher the infiltrate ``level``."""
    stroma_keep = (0.03, 0.2, 0.45) if visible else (0.04, 0.12, 0.25)
    tumour_keep = (0.01, 0.12, 0.35) if visible else (0.0, 0.05, 0.18)
    ly = [_scatter(rng, aggregates, 6.8 * um, keep=0.92)]
    ly.append(_scatter(rng, stroma, 16 * um, keep=stroma_keep[level]))
    ly.append(_scatter(rng, epithelium, 18 * um, keep=tumour_keep[level]))
    return _nuclei(
        rng,
        np.concatenate([p[0] for p in ly]),
        np.concatenate([p[1] for p in ly]),
        _LYMPHOCYTE,
        3.1 * um,
        elongation=1.05,
        size_cv=0.06,
        darkness=1.05,
        texture=0.15,
    )


def _necrotic_debris(rng: np.random.Generator, necrosis: np.ndarray, um: float) -> _Nuclei:
    """Nuclear debris in necrosis: small, ragged, dark fragments of dead cells."""
    dy, dx = _scatter(rng, necrosis, 7 * um, keep=0.55)
    return _nuclei(
        rng,
        dy,
        dx,
        _DEBRIS,
        1.3 * um,
        size_cv=0.35,
        darkness=0.9,
        texture=0.3,
        irregularity=0.4,
    )


def _endothelium(rng: np.random.Generator, vessels: _Blobs, um: float) -> _Nuclei:
    """Flat endothelial nuclei lining each vessel, their long axis along the wall."""
    ey, ex, outward = vessels.ring_points(rng, np.full(len(vessels.y), 1.15), 12 * um, 0.3 * um)
    return _nuclei(
        rng,
        ey,
        ex,
        _ENDOTHELIUM,
        2.2 * um,
        elongation=5.0,
        angle=outward + np.pi / 2,
        darkness=0.8,
        texture=0.1,
    )
