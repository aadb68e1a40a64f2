"""A real whole-slide image: OpenSlide's CMU-1-Small-Region (H&E, Aperio)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from medai_edu.data.samples.cache import sample_path

if TYPE_CHECKING:  # openslide is imported only when a slide is opened
    import openslide


def he_slide_path() -> Path:
    """Path of OpenSlide's CMU-1-Small-Region.svs in the cache (checksum verified).

    A real H&E Aperio slide region: one level of 2220 x 2967 pixels (width x height) at
    0.499 micrometres per pixel (20x), JPEG tiles of 240 x 240, with label, macro and
    thumbnail images. Fetch it first with ``medai-edu data fetch``.
    """
    return sample_path("cmu-1-small-region")


def open_he_slide() -> openslide.OpenSlide:
    """Open CMU-1-Small-Region.svs with OpenSlide (``slide.dimensions == (2220, 2967)``)."""
    import openslide

    return openslide.OpenSlide(he_slide_path())
