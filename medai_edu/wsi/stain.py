"""Stains: colour deconvolution, and stain normalisation across laboratories.

Light through a stained section falls exponentially with the amount of each dye (the
Beer-Lambert law), so in **optical density** ``OD = -log10(I / I0)`` the dyes add up:
``OD = C @ M``, where the rows of ``M`` are the dyes' unit OD vectors (how much red, green
and blue each absorbs) and ``C`` their concentrations.

* :func:`separate_stains` inverts a fixed ``M`` (Ruifrok & Johnston 2001): haematoxylin,
  eosin and DAB concentrations per pixel.
* :class:`MacenkoNormalizer` (Macenko et al. 2009) estimates each image's own H and E
  vectors from the plane of its two largest OD principal components, and re-renders the
  concentrations with a target image's vectors and stain amounts.
* :class:`ReinhardNormalizer` (Reinhard et al. 2001) matches each channel's mean and
  standard deviation in CIE L*a*b* to the target's.

Both normalisers follow scikit-learn: ``fit(target)`` learns from a well-stained reference,
``transform(rgb)`` maps other images to it. **Almost no tissue**: an image with fewer than
``min_tissue_pixels`` stained pixels (OD above ``od_threshold`` in every channel) carries no
stain to measure. ``fit`` then raises ``ValueError``; ``transform`` returns the image
unchanged (a copy), so that blank tiles pass through a pipeline untouched.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MacenkoNormalizer",
    "ReinhardNormalizer",
    "STAIN_NAMES",
    "macenko_stain_matrix",
    "optical_density",
    "separate_stains",
]

#: Names of the three channels returned by :func:`separate_stains` for each stain set.
STAIN_NAMES: dict[str, tuple[str, str, str]] = {
    "HED": ("haematoxylin", "eosin", "DAB"),
    "HDX": ("haematoxylin", "DAB", "residual"),
    "HAX": ("haematoxylin", "AEC", "residual"),
}


def _stain_conversion(stains: str | np.ndarray) -> np.ndarray:
    """The (3, 3) matrix from RGB log-absorbance to stains, for a name or a stain matrix."""
    from skimage import color

    if isinstance(stains, str):
        key = stains.upper()
        if key not in STAIN_NAMES:
            raise ValueError(f"stains must be one of {list(STAIN_NAMES)} or a (3, 3) matrix")
        return getattr(color, f"{key.lower()}_from_rgb")
    rgb_from_stains = np.asarray(stains, np.float64)
    if rgb_from_stains.shape != (3, 3):
        raise ValueError(f"a stain matrix must be (3, 3), got {rgb_from_stains.shape}")
    return np.linalg.inv(rgb_from_stains)


def separate_stains(rgb: np.ndarray, stains: str | np.ndarray = "HED") -> np.ndarray:
    """Colour deconvolution: the concentration of each stain at every pixel.

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3), uint8
    stains : {"HED", "HDX", "HAX"} or np.ndarray of shape (3, 3)
        ``"HED"``: haematoxylin, eosin, DAB (``skimage.color.rgb2hed``). Or a matrix whose
        rows are the OD vectors of three stains (a third "residual" row may complete two).

    Returns
    -------
    np.ndarray, shape (H, W, 3), float64
        Concentrations, >= 0, in scikit-image's units (optical density / 6); channel names
        in :data:`STAIN_NAMES`. 0 on white glass.
    """
    from skimage import color

    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    return color.separate_stains(rgb, _stain_conversion(stains))


def optical_density(rgb: np.ndarray, background: float = 255.0) -> np.ndarray:
    """Optical density ``-log10(I / I0)`` of every channel, >= 0.

    Parameters
    ----------
    rgb : np.ndarray, shape (..., 3), uint8
    background : float
        ``I0``, the intensity of clear glass.

    Returns
    -------
    np.ndarray, shape (..., 3), float32
        0 on glass, about 1 where a dye absorbs 90 % of the light. Intensities are floored
        at 1 so that black pixels have a finite OD (2.4).
    """
    intensity = np.maximum(np.asarray(rgb, np.float32), 1.0)
    return np.maximum(-np.log10(intensity / np.float32(background)), 0.0)


def _tissue_od(od: np.ndarray, threshold: float) -> np.ndarray:
    """OD rows (N, 3) of stained pixels: above ``threshold`` in every channel."""
    flat = od.reshape(-1, 3)
    return flat[(flat > threshold).all(axis=1)]


class _TooLittleTissue(ValueError):
    pass


def _require_tissue(tissue: np.ndarray, minimum: int, what: str) -> None:
    if len(tissue) < minimum:
        raise _TooLittleTissue(
            f"{what} has too little tissue: {len(tissue)} stained pixels, at least {minimum} "
            f"are needed to estimate its stains"
        )


def macenko_stain_matrix(
    rgb: np.ndarray,
    od_threshold: float = 0.15,
    angle_percentile: float = 1.0,
    background: float = 255.0,
    min_tissue_pixels: int = 100,
) -> np.ndarray:
    """Estimate an H&E image's two stain vectors (Macenko et al. 2009).

    Stained pixels lie, in OD space, in the plane of the two largest principal directions;
    the two dyes are the extreme directions within that plane (the ``angle_percentile``
    and ``100 - angle_percentile`` percentiles of the angle, robust to outliers).

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3), uint8
    od_threshold : float
        Pixels with an OD below this in any channel are glass and ignored.
    angle_percentile : float
        Percentile (0-50) of the angle taken as each extreme.
    background : float
        Intensity of clear glass.
    min_tissue_pixels : int

    Returns
    -------
    np.ndarray, shape (2, 3), float64
        Unit OD vectors, rows haematoxylin then eosin (haematoxylin absorbs more red).

    Raises
    ------
    ValueError
        If fewer than ``min_tissue_pixels`` pixels are stained.
    """
    tissue = _tissue_od(optical_density(rgb, background), od_threshold).astype(np.float64)
    _require_tissue(tissue, min_tissue_pixels, "the image")
    _, vectors = np.linalg.eigh(np.cov(tissue, rowvar=False))
    plane = vectors[:, [2, 1]]  # largest, second-largest principal direction
    plane *= np.where(tissue.mean(axis=0) @ plane < 0, -1.0, 1.0)  # point into the data
    projected = tissue @ plane
    angle = np.arctan2(projected[:, 1], projected[:, 0])
    extremes = np.percentile(angle, [angle_percentile, 100 - angle_percentile])
    stains = np.stack([plane @ np.array([np.cos(a), np.sin(a)]) for a in extremes])
    stains *= np.where(stains.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
    stains /= np.linalg.norm(stains, axis=1, keepdims=True)
    return stains[np.argsort(-stains[:, 0])]  # haematoxylin (more red absorbed) first


def _concentrations(od: np.ndarray, stain_matrix: np.ndarray) -> np.ndarray:
    """Least-squares stain concentrations (N, 2) of OD rows (N, 3): ``od ≈ C @ M``."""
    solution, *_ = np.linalg.lstsq(stain_matrix.T, od.reshape(-1, 3).T, rcond=None)
    return solution.T


class MacenkoNormalizer:
    """Macenko stain normalisation: map an image's H&E stains onto a target's.

    Parameters
    ----------
    od_threshold, angle_percentile, background, min_tissue_pixels
        See :func:`macenko_stain_matrix`.
    concentration_percentile : float
        Stain amounts are compared by this percentile of the concentrations (robust max).

    Attributes
    ----------
    stain_matrix_ : np.ndarray, shape (2, 3)
        The target's unit H and E OD vectors, after :meth:`fit`.
    max_concentrations_ : np.ndarray, shape (2,)
        The target's robust maximum H and E concentrations (OD units).
    """

    def __init__(
        self,
        od_threshold: float = 0.15,
        angle_percentile: float = 1.0,
        concentration_percentile: float = 99.0,
        background: float = 255.0,
        min_tissue_pixels: int = 100,
    ) -> None:
        self.od_threshold = od_threshold
        self.angle_percentile = angle_percentile
        self.concentration_percentile = concentration_percentile
        self.background = background
        self.min_tissue_pixels = min_tissue_pixels

    def _stains_and_amounts(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stain matrix (2, 3), concentrations (H*W, 2) and robust max (2,) of an image."""
        matrix = macenko_stain_matrix(
            rgb, self.od_threshold, self.angle_percentile, self.background, self.min_tissue_pixels
        )
        od = optical_density(rgb, self.background)
        concentrations = _concentrations(od, matrix)
        stained = (od.reshape(-1, 3) > self.od_threshold).all(axis=1)
        amounts = np.percentile(concentrations[stained], self.concentration_percentile, axis=0)
        return matrix, concentrations, amounts

    def fit(self, target_rgb: np.ndarray) -> MacenkoNormalizer:
        """Learn the target's stain vectors and amounts; raises ValueError without tissue."""
        self.stain_matrix_, _, self.max_concentrations_ = self._stains_and_amounts(target_rgb)
        if not np.all(self.max_concentrations_ > 0):
            raise ValueError("the target's stain concentrations are not positive")
        return self

    def transform(self, rgb: np.ndarray) -> np.ndarray:
        """Re-render ``rgb`` (H, W, 3) uint8 with the target's stains; uint8 of the same shape.

        Returned unchanged (a copy) when the image has too little tissue.
        """
        if not hasattr(self, "stain_matrix_"):
            raise RuntimeError("call fit(target_rgb) before transform")
        rgb = np.asarray(rgb)
        try:
            _, concentrations, amounts = self._stains_and_amounts(rgb)
        except _TooLittleTissue:
            return rgb.copy()
        if not np.all(amounts > 0):
            return rgb.copy()
        concentrations = concentrations * (self.max_concentrations_ / amounts)
        od = concentrations @ self.stain_matrix_
        out = self.background * np.power(10.0, -od)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(rgb.shape)


class ReinhardNormalizer:
    """Reinhard colour transfer: match the mean and spread of L*, a*, b* to a target's.

    Parameters
    ----------
    od_threshold, min_tissue_pixels
        Decide whether an image has enough tissue (see the module docstring).

    Attributes
    ----------
    means_, stds_ : np.ndarray, shape (3,)
        The target's per-channel mean and standard deviation in CIE L*a*b*, after fit.
    """

    def __init__(self, od_threshold: float = 0.15, min_tissue_pixels: int = 100) -> None:
        self.od_threshold = od_threshold
        self.min_tissue_pixels = min_tissue_pixels

    def _lab_statistics(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from skimage.color import rgb2lab

        tissue = _tissue_od(optical_density(rgb), self.od_threshold)
        _require_tissue(tissue, self.min_tissue_pixels, "the image")
        lab = rgb2lab(np.asarray(rgb))
        flat = lab.reshape(-1, 3)
        return lab, flat.mean(axis=0), flat.std(axis=0)

    def fit(self, target_rgb: np.ndarray) -> ReinhardNormalizer:
        """Learn the target's L*a*b* statistics; raises ValueError without tissue."""
        _, self.means_, self.stds_ = self._lab_statistics(target_rgb)
        return self

    def transform(self, rgb: np.ndarray) -> np.ndarray:
        """Map ``rgb`` (H, W, 3) uint8 to the target's statistics; uint8 of the same shape.

        Returned unchanged (a copy) when the image has too little tissue.
        """
        from skimage.color import lab2rgb

        if not hasattr(self, "means_"):
            raise RuntimeError("call fit(target_rgb) before transform")
        rgb = np.asarray(rgb)
        try:
            lab, means, stds = self._lab_statistics(rgb)
        except _TooLittleTissue:
            return rgb.copy()
        # A channel without spread (a flat colour) is shifted, not stretched from zero.
        scale = np.where(stds > 1e-6, self.stds_ / np.maximum(stds, 1e-6), 1.0)
        mapped = (lab - means) * scale + self.means_
        return np.clip(np.rint(lab2rgb(mapped) * 255), 0, 255).astype(np.uint8)
