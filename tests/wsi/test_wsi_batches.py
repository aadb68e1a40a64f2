"""The batched tile iterator: every tile once, the same pixels, workers or not, bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from medai_edu.data.pyramid import write_pyramid_tiff
from medai_edu.wsi import iter_tile_batches, open_slide, read_tile, tile_grid
from medai_edu.wsi import slide as slide_module


def _collect(batches):
    tiles, coords = zip(*batches, strict=True)
    return np.concatenate(tiles), np.concatenate(coords)


@pytest.mark.parametrize("backend", ["openslide", "tifffile"])
@pytest.mark.parametrize("mpp", [None, 1.0])
def test_each_tile_is_read_once_with_the_pixels_of_read_region(slide_file, backend, mpp):
    with open_slide(slide_file, backend=backend) as slide:
        grid = tile_grid(slide, 64, mpp=mpp, min_tissue=0.3)
        reference = np.stack([read_tile(slide, grid, i) for i in range(len(grid))])
        batches = list(iter_tile_batches(slide, grid, batch_size=7))
    assert len(grid) > 20
    assert all(len(t) == len(c) <= 7 for t, c in batches)
    assert len(batches) == -(-len(grid) // 7)
    tiles, coords = _collect(batches)
    np.testing.assert_array_equal(coords, grid.coords)  # each once, in grid order
    assert len(np.unique(coords, axis=0)) == len(grid)
    assert tiles.shape == (len(grid), 64, 64, 3) and tiles.dtype == np.uint8
    np.testing.assert_array_equal(tiles, reference)


def test_two_workers_give_the_same_batches_as_none(slide_file):
    with open_slide(slide_file) as slide:
        grid = tile_grid(slide, 64, min_tissue=0.0)
    serial = list(iter_tile_batches(slide_file, grid, batch_size=16, workers=0))
    parallel = list(iter_tile_batches(slide_file, grid, batch_size=16, workers=2))
    assert len(serial) == len(parallel) == 12  # 192 tiles
    for (tiles_a, coords_a), (tiles_b, coords_b) in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(coords_a, coords_b)
        np.testing.assert_array_equal(tiles_a, tiles_b)


def test_stopping_early_with_workers_does_not_hang(slide_file):
    with open_slide(slide_file) as slide:
        grid = tile_grid(slide, 32, min_tissue=0.0)
    batches = iter_tile_batches(slide_file, grid, batch_size=8, workers=2)
    tiles, _ = next(batches)
    batches.close()  # shuts the pool down, cancelling queued batches
    assert tiles.shape == (8, 32, 32, 3)


def _traced_peak(path, tile: int, batch_size: int) -> tuple[int, int]:
    """tracemalloc peak while reading every tile of a slide, and the number of tiles."""
    with open_slide(path) as slide:
        grid = tile_grid(slide, tile, min_tissue=0.0)
    tracemalloc.start()
    try:
        count = sum(len(t) for t, _ in iter_tile_batches(path, grid, batch_size=batch_size))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == len(grid)
    return peak, count


def test_memory_is_bounded_by_the_batch_not_the_slide(
    slide_file, synthetic_slide, tmp_path, monkeypatch
):
    monkeypatch.setattr(slide_module, "TIFF_CACHE_BYTES", 2**20)  # below both slides' size
    mosaic = np.tile(synthetic_slide.image, (2, 2, 1))  # 4x the area of the small slide
    large_file = write_pyramid_tiff(tmp_path / "mosaic.tif", mosaic, 0.5)
    small_peak, small_count = _traced_peak(slide_file, 32, 16)
    large_peak, large_count = _traced_peak(large_file, 32, 16)
    assert large_count == 4 * small_count == 3072  # 9.4 MB of tiles in the large slide
    assert large_peak < 1.25 * small_peak  # does not grow with the slide
    assert large_peak < 4 * 2**20  # cache, one batch, one strip, one tile being decoded


def test_bad_arguments(slide_file):
    with open_slide(slide_file) as slide:
        grid = tile_grid(slide, 64, min_tissue=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        iter_tile_batches(slide_file, grid, batch_size=0)  # raised before iterating
    with pytest.raises(FileNotFoundError, match="missing.tif"):
        iter_tile_batches(slide_file.with_name("missing.tif"), grid)
    assert list(iter_tile_batches(slide_file, grid.subset(np.arange(0)), workers=2)) == []
