"""How a slide image is rendered: size, resolution, stain variation, tissue coverage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SlideConfig:
    """How a slide image is rendered (the case itself depends only on the seed).

    Attributes
    ----------
    width, height : int
        Level-0 size in pixels. The default, 2048 x 1536 at 0.5 µm/px, is a 1.0 x 0.8 mm
        field, about the size of a core biopsy fragment.
    mpp : float
        Microns per pixel at level 0 (0.5 = a "20x" scan). Morphology is specified in
        microns, so a finer mpp draws the same tissue with more pixels.
    stain_variation : float
        0 gives every slide the same stain; 1 varies stain vectors, stain amounts and the
        scanner's white point as much as between typical laboratories.
    tissue_coverage : tuple of float
        Range of the fraction of the slide covered by tissue.
    """

    width: int = 2048
    height: int = 1536
    mpp: float = 0.5
    stain_variation: float = 1.0
    tissue_coverage: tuple[float, float] = (0.55, 0.75)

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 64:
                raise ValueError(f"SlideConfig.{name} must be an integer >= 64, got {value!r}")
        if not 0.1 <= self.mpp <= 4.0:
            raise ValueError(f"SlideConfig.mpp must be in [0.1, 4] µm/px, got {self.mpp!r}")
        if not 0.0 <= self.stain_variation <= 3.0:
            raise ValueError(
                f"SlideConfig.stain_variation must be in [0, 3], got {self.stain_variation!r}"
            )
        low, high = self.tissue_coverage
        if not 0.05 <= low <= high <= 0.95:
            raise ValueError(
                f"SlideConfig.tissue_coverage must satisfy 0.05 <= low <= high <= 0.95, "
                f"got {self.tissue_coverage!r}"
            )


#: A small slide for quick work: 0.38 x 0.38 mm at 0.5 µm/px, about 80 tiles of 64 px.
SMALL_SLIDE = SlideConfig(width=768, height=768)
