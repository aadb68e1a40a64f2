"""The H&E stain model: stain vectors, laboratory variation and the Beer-Lambert law.

Haematoxylin (blue-purple) binds nuclei; eosin (pink) binds cytoplasm and collagen. Each
stain absorbs red, green and blue light in fixed proportions (its optical-density vector);
the light through a pixel falls exponentially with the stain concentrations there.
"""

from __future__ import annotations

import numpy as np

# Reference H&E optical-density vectors (rows: haematoxylin, eosin; columns: R, G, B) as
# estimated from real slides by Macenko et al. (2009) and used by stain normalisers.
# scikit-image's Ruifrok-Johnston vectors (``skimage.color.rgb_from_hed``) give a more
# magenta eosin; ``skimage.color.rgb2hed`` still separates these slides well.
_MACENKO_REFERENCE = np.array([[0.5626, 0.7201, 0.4062], [0.2159, 0.8012, 0.5581]], np.float32)
REFERENCE_STAIN_MATRIX = _MACENKO_REFERENCE / np.linalg.norm(
    _MACENKO_REFERENCE, axis=1, keepdims=True
)  # unit rows


def lab_stain(
    rng: np.random.Generator, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One laboratory's staining and scanner: stain vectors, stain amounts, white point.

    Perturbs :data:`REFERENCE_STAIN_MATRIX`; ``strength = 0`` returns it unchanged.

    Returns
    -------
    stain_matrix : np.ndarray, shape (2, 3), float32
        Unit optical-density vectors (rows: haematoxylin, eosin; columns: R, G, B).
    amounts : np.ndarray, shape (2,), float32
        Multipliers of the haematoxylin and eosin concentrations (staining time, dye batch).
    white : np.ndarray, shape (3,), float32
        RGB of clear glass (the scanner's white balance), 0-255.
    """
    matrix = REFERENCE_STAIN_MATRIX + rng.normal(0, 0.04 * strength, (2, 3))
    matrix = np.clip(matrix, 0.02, None)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    amounts = np.clip(1 + rng.normal(0, 0.12 * strength, 2), 0.5, 1.6)
    white = 252 - np.abs(rng.normal(0, 4 * strength, 3))
    return matrix.astype(np.float32), amounts.astype(np.float32), white.astype(np.float32)


def stain_to_rgb(
    concentrations: np.ndarray, stain_matrix: np.ndarray, white: np.ndarray | float = 255.0
) -> np.ndarray:
    """Beer-Lambert law: light through stained tissue, ``I = I0 * 10 ** -(c @ M)``.

    Parameters
    ----------
    concentrations : np.ndarray, shape (H, W, S), float
        Optical density of each of the S stains.
    stain_matrix : np.ndarray, shape (S, 3)
        Unit optical-density vector of each stain (how much it absorbs R, G, B).
    white : float or np.ndarray of shape (3,)
        Intensity of the light through clear glass.

    Returns
    -------
    np.ndarray, shape (H, W, 3), float32 in [0, 255]
    """
    optical_density = concentrations @ np.asarray(stain_matrix, np.float32)
    return np.asarray(white, np.float32) * np.power(np.float32(10.0), -optical_density)
