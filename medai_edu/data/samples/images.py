"""Real RGB pictures: an immunohistochemistry stain, a fundus photograph, an H&E tile."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medai_edu.data.samples.cache import sample_path


def _read_rgb(path: Path) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array (an alpha channel is dropped)."""
    import skimage.io

    image = skimage.io.imread(path)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{path}: expected an RGB uint8 image, got {image.shape} {image.dtype}")
    return image


def load_ihc() -> np.ndarray:
    """Immunohistochemistry of colonic glands: FHL2 revealed by DAB (brown), hematoxylin (blue).

    The image of ``skimage.data.immunohistochemistry()``, read from the checksummed cache
    (no pooch download is ever attempted).

    Returns
    -------
    ndarray, shape (512, 512, 3), uint8
        RGB, 0-255.
    """
    return _read_rgb(sample_path("skimage-ihc"))


def load_retina() -> np.ndarray:
    """Colour fundus photograph of a normal left eye (``skimage.data.retina()``).

    Returns
    -------
    ndarray, shape (1411, 1411, 3), uint8
        RGB, 0-255; the round field of view sits on a black background.
    """
    return _read_rgb(sample_path("skimage-retina"))


def load_he_target_tile() -> np.ndarray:
    """tiatoolbox's H&E stain-normalisation target tile.

    Returns
    -------
    ndarray, shape (1000, 1000, 3), uint8
        RGB, 0-255: the well-stained H&E reference that tiatoolbox's examples use as the
        target of stain normalisation (Reinhard, Macenko, Vahadane).
    """
    return _read_rgb(sample_path("tiatoolbox-he-target"))
