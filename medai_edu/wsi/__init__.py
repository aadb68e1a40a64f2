"""Whole-slide images: open a slide, find its tissue, tile it, read tiles fast, map results.

The pipeline of computational pathology, one module per step:

- :mod:`.slide`: :func:`open_slide` gives one :class:`Slide` interface over OpenSlide
  (vendor formats such as ``.svs``) and tifffile (pyramidal TIFF);
- :mod:`.tissue`: :func:`tissue_mask`, tissue versus glass at low resolution;
- :mod:`.tiling`: :func:`tile_grid`, which tiles to read, at which level and size;
- :mod:`.batches`: :func:`iter_tile_batches`, every tile once, in batches, in worker
  processes if asked, with memory bounded by the batch size;
- :mod:`.stain`: colour deconvolution (:func:`separate_stains`) and stain normalisation
  (:class:`MacenkoNormalizer`, :class:`ReinhardNormalizer`);
- :mod:`.heatmap`: per-tile scores back onto the slide (:func:`stitch_heatmap`,
  :func:`overlay_heatmap`, :func:`plot_heatmap`);
- :mod:`.geojson`: tiles and scores as GeoJSON for QuPath (:func:`tiles_to_geojson`).

Coordinates are level-0 pixels ``(x, y)`` throughout; sizes are ``(width, height)``.
"""

from medai_edu.wsi.batches import iter_tile_batches
from medai_edu.wsi.geojson import tile_polygon, tiles_to_geojson
from medai_edu.wsi.heatmap import overlay_heatmap, plot_heatmap, stitch_heatmap
from medai_edu.wsi.slide import Slide, SlideOpenError, open_slide, resize_rgb
from medai_edu.wsi.stain import (
    STAIN_NAMES,
    MacenkoNormalizer,
    ReinhardNormalizer,
    macenko_stain_matrix,
    optical_density,
    separate_stains,
)
from medai_edu.wsi.tiling import TileGrid, read_tile, tile_grid, tissue_fractions
from medai_edu.wsi.tissue import TissueMask, tissue_mask, tissue_score

__all__ = [
    # opening a slide
    "Slide",
    "SlideOpenError",
    "open_slide",
    "resize_rgb",
    # tissue and tiles
    "TileGrid",
    "TissueMask",
    "iter_tile_batches",
    "read_tile",
    "tile_grid",
    "tissue_fractions",
    "tissue_mask",
    "tissue_score",
    # stain colour
    "STAIN_NAMES",
    "MacenkoNormalizer",
    "ReinhardNormalizer",
    "macenko_stain_matrix",
    "optical_density",
    "separate_stains",
    # results back onto the slide
    "overlay_heatmap",
    "plot_heatmap",
    "stitch_heatmap",
    "tile_polygon",
    "tiles_to_geojson",
]
