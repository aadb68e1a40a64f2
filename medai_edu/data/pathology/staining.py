"""Staining the section: how much haematoxylin and eosin each tissue compartment takes up.

The result is two concentration maps (optical density); :mod:`.stain` turns them into RGB.
"""

from __future__ import annotations

import numpy as np

from medai_edu.data.pathology.layout import _Layout
from medai_edu.data.pathology.patterns import _smooth_noise
from medai_edu.data.pathology.stroma import _Collagen
from medai_edu.data.pathology.tumour import _TumourDrawing
from medai_edu.data.pathology.vocabulary import ADENO, SMALL_CELL, SQUAMOUS

# Cytoplasm stain (haematoxylin, eosin) in OD: amphophilic glands, glassy pink squamous
# cells, a thin bluish rim around small cells.
_CYTOPLASM_STAIN = {ADENO: (0.15, 0.22), SQUAMOUS: (0.04, 0.5), SMALL_CELL: (0.15, 0.06)}


def _paint_stains(
    rng: np.random.Generator,
    layout: _Layout,
    tumour_type: int,
    drawing: _TumourDrawing,
    collagen: _Collagen,
    vessel_distance: np.ndarray,
    nuclear: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Haematoxylin and eosin concentration of every pixel, (H, W, 2) float32 in OD units.

    Compartment by compartment: glass, collagen, tumour stroma, cytoplasm, lumina, keratin,
    necrosis, lymphoid aggregates, vessels; then nuclei on top.
    """
    shape, um = layout.tissue.shape, layout.px_per_um
    haem, eos = _glass_and_stroma_stains(rng, layout, drawing, collagen)
    texture = 1 + 0.15 * _smooth_noise(rng, shape, 1.0 * um)
    cyto_h, cyto_e = _CYTOPLASM_STAIN[tumour_type]
    haem[drawing.epithelium] = cyto_h * texture[drawing.epithelium]
    eos[drawing.epithelium] = cyto_e * texture[drawing.epithelium]
    haem[drawing.lumen], eos[drawing.lumen] = 0.02, 0.03
    if drawing.keratin is not None:
        pearl = drawing.keratin > 0
        haem[pearl] = 0.02
        eos[pearl] = 0.45 + 0.3 * drawing.keratin[pearl]
    # Necrosis: granular pink-purple debris without cell outlines ("dirty necrosis").
    necrosis = layout.necrosis
    eos[necrosis] = (0.3 * (1 + 0.3 * _smooth_noise(rng, shape, 6 * um)))[necrosis]
    haem[necrosis] = np.clip(0.1 * (1 + 0.6 * _smooth_noise(rng, shape, 3 * um)), 0, None)[necrosis]
    haem[layout.lymphoid], eos[layout.lymphoid] = 0.07, 0.1
    _paint_vessels(rng, haem, eos, vessel_distance, um)
    # Cell borders of squamous cells: a dense pink line with gaps (intercellular bridges).
    nuclear_haem, nuclear_eos, owner = nuclear
    if tumour_type == SQUAMOUS:
        border = (owner != np.roll(owner, 1, axis=0)) | (owner != np.roll(owner, 1, axis=1))
        border &= drawing.epithelium & (_smooth_noise(rng, shape, 0.8 * um) > -0.4)
        eos[border] += 0.14
        haem[border] += 0.03
    # Section thickness varies a little across the slide: all stain scales with it.
    thickness = 1 + 0.08 * _smooth_noise(rng, shape, 250 * um)
    haem = (haem + nuclear_haem) * thickness
    eos = (eos + nuclear_eos) * thickness
    return np.stack([haem, eos], axis=-1)


def _glass_and_stroma_stains(
    rng: np.random.Generator, layout: _Layout, drawing: _TumourDrawing, collagen: _Collagen
) -> tuple[np.ndarray, np.ndarray]:
    """Haematoxylin and eosin (H, W) float32 of bare glass and of connective tissue."""
    shape, um = layout.tissue.shape, layout.px_per_um
    haem = np.full(shape, 0.008, np.float32)
    eos = np.full(shape, 0.012, np.float32) + 0.004 * _smooth_noise(rng, shape, 30 * um)
    # Collagen: pink bundles with pale clefts, and loose oedematous patches that are paler.
    loose = np.clip(_smooth_noise(rng, shape, 35 * um) - 0.5, 0, 1)
    density = 0.3 + 0.04 * _smooth_noise(rng, shape, 15 * um) + 0.05 * collagen.bands
    stroma_eos = density * (1 - 0.6 * collagen.clefts) * (1 - 0.5 * loose)
    haem[layout.tissue], eos[layout.tissue] = 0.035, stroma_eos[layout.tissue]
    # Desmoplastic stroma around tumour cells is paler and faintly blue (myxoid).
    tumour_stroma = layout.viable & ~drawing.epithelium
    haem[tumour_stroma] += 0.03
    eos[tumour_stroma] *= 0.8
    return haem, eos


def _paint_vessels(rng, haem: np.ndarray, eos: np.ndarray, distance: np.ndarray, um: float):
    """Vessel walls (pink) and lumina packed with red blood cells (bright eosin), in place."""
    lumen, wall = distance < 1, (distance >= 1) & (distance < 1.4)
    haem[wall], eos[wall] = 0.05, 0.38
    red_cells = lumen & (_smooth_noise(rng, haem.shape, 1.5 * um) > -0.3)
    haem[lumen], eos[lumen] = 0.01, 0.04
    haem[red_cells], eos[red_cells] = 0.01, 0.6
