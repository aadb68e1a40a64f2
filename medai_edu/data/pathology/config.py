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


#: Slides as mSTAR-mini reads them: 0.51 x 0.51 mm at 1 µm/px (a "10x" scan), so a tile of
#: 64 px covers 64 µm, enough for a whole gland (46-74 µm) or a keratin pearl; about 40
#: tissue tiles per slide.
BAG_SLIDE = SlideConfig(width=512, height=512, mpp=1.0)

_GRADINGS = ("per_type", "nottingham")
_MARKERS = ("lineage", "first")
_REPORTS = ("morphology", "diagnostic")


@dataclass(frozen=True)
class CaseConfig:
    """How a case is drawn: grading, immunohistochemistry, stage, tumour extent, report.

    The default is the realistic generator; :meth:`original` is the first one, kept so that
    earlier results can be reproduced draw for draw.

    Attributes
    ----------
    grading : str
        ``"per_type"``: each type graded the way pathologists grade it (IASLC pattern grade
        for adenocarcinoma, keratinisation for squamous cell carcinoma, small cell carcinoma
        always high grade). ``"nottingham"``: the first generator's breast-style sum of
        three scores, for every type.
    markers : str
        ``"lineage"``: TTF-1, napsin A, p40 and the neuroendocrine markers at the rates
        real tumours show (TTF-1 in most small cell carcinomas too). ``"first"``: TTF-1 in
        adenocarcinoma only.
    staging : bool
        Draw tumour size, nodal status and metastasis (a TNM stage) that drive survival
        with grade, type, necrosis and the lymphocytic infiltrate.
    small_foci_share : float
        Share of slides whose tumour is a small focus (1-4 % of the tissue), the low
        witness-rate regime multiple-instance learning exists for.
    report : str
        ``"morphology"``: the report describes what is seen (and may leave findings out)
        without naming the type or grade. ``"diagnostic"``: it ends with a diagnosis line
        that names both: training on it leaks the labels (kept to show the difference).
    """

    grading: str = "per_type"
    markers: str = "lineage"
    staging: bool = True
    small_foci_share: float = 0.15
    report: str = "morphology"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("grading", _GRADINGS),
            ("markers", _MARKERS),
            ("report", _REPORTS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"CaseConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        if not 0.0 <= self.small_foci_share <= 1.0:
            raise ValueError(
                f"CaseConfig.small_foci_share must be in [0, 1], got {self.small_foci_share!r}"
            )

    @classmethod
    def original(cls) -> CaseConfig:
        """The first generator (before the pathology review): reproduces it draw for draw."""
        return cls(
            grading="nottingham",
            markers="first",
            staging=False,
            small_foci_share=0.0,
            report="diagnostic",
        )

    @property
    def is_original(self) -> bool:
        return self == CaseConfig.original()
