"""Small slide files for the whole-slide pipeline tests, written once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medai_edu.data import samples
from medai_edu.data.pathology import SlideConfig, make_slide, write_slide
from medai_edu.data.pyramid import write_pyramid_tiff

MPP = 0.5


@pytest.fixture(scope="session")
def synthetic_slide():
    """A 1024 x 768 synthetic H&E slide at 0.5 µm/px (image, region mask, ...)."""
    return make_slide(3, SlideConfig(width=1024, height=768, mpp=MPP))


@pytest.fixture(scope="session")
def slide_file(synthetic_slide, tmp_path_factory) -> Path:
    """The synthetic slide as a pyramidal TIFF: levels 1024, 512, 256 px wide, 256-px tiles."""
    return write_slide(synthetic_slide, tmp_path_factory.mktemp("slides") / "slide.tiff")


@pytest.fixture(scope="session")
def half_blank_file(synthetic_slide, tmp_path_factory) -> Path:
    """Tissue on the left half (a solid tissue patch), empty glass on the right half."""
    rng = np.random.default_rng(0)
    image = np.empty((768, 1024, 3), np.uint8)
    tissue = synthetic_slide.image[synthetic_slide.region_mask > 0]
    image[:, :512] = tissue[rng.integers(0, len(tissue), (768, 512))]  # tissue colours only
    glass = rng.normal(244, 1.5, (768, 512, 3))
    image[:, 512:] = np.clip(np.rint(glass), 0, 255).astype(np.uint8)
    return write_pyramid_tiff(tmp_path_factory.mktemp("slides") / "half.tiff", image, MPP)


@pytest.fixture(scope="session")
def cmu_svs() -> Path:
    """OpenSlide's CMU-1-Small-Region.svs, a real Aperio H&E slide (from the user cache)."""
    return samples.sample_path("cmu-1-small-region")
