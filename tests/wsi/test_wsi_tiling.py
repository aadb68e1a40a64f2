"""Tissue mask and tile grid: tiles cover the tissue, stay inside the slide, skip the glass."""

from __future__ import annotations

import numpy as np
import pytest

from medai_edu.wsi import (
    open_slide,
    read_tile,
    tile_grid,
    tissue_fractions,
    tissue_mask,
    tissue_score,
)


@pytest.fixture
def slide(slide_file):
    with open_slide(slide_file) as opened:
        yield opened


def test_tissue_mask_matches_the_painted_tissue(slide, synthetic_slide):
    mask, downsample = tissue_mask(slide)
    assert mask.dtype == bool and downsample == pytest.approx(16.0)
    assert mask.shape == (48, 64)
    truth = synthetic_slide.region_mask[8::16, 8::16] > 0  # block centres, background = 0
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.85


@pytest.mark.parametrize("method", ["saturation", "optical_density"])
def test_tissue_mask_of_the_half_blank_slide(half_blank_file, method):
    with open_slide(half_blank_file) as slide:
        mask, downsample = tissue_mask(slide, level=2, method=method)
    assert downsample == pytest.approx(4.0) and mask.shape == (192, 256)
    assert mask[:, :126].mean() > 0.99 and mask[:, 130:].mean() < 0.01


def test_blank_slide_has_no_tissue(tmp_path):
    from medai_edu.data.pyramid import write_pyramid_tiff

    glass = np.random.default_rng(1).normal(245, 1.5, (512, 512, 3))
    path = write_pyramid_tiff(tmp_path / "glass.tif", np.rint(glass).astype(np.uint8), 0.5)
    with open_slide(path) as slide:
        assert not tissue_mask(slide).mask.any()  # the floor stops Otsu splitting noise


def test_grid_count_matches_a_hand_computation(slide):
    every = tile_grid(slide, 128, min_tissue=0.0)  # 1024 x 768 in 128-px tiles: 8 x 6
    assert len(every) == 48 and every.level == 0 and not every.resampled
    assert every.tile_size_level0 == every.read_size == 128
    xs, ys = np.unique(every.coords[:, 0]), np.unique(every.coords[:, 1])
    np.testing.assert_array_equal(xs, np.arange(0, 1024, 128))
    np.testing.assert_array_equal(ys, np.arange(0, 768, 128))
    coarse = tile_grid(slide, 100, mpp=1.0, min_tissue=0.0)  # level 1, 200 level-0 px each
    assert (coarse.level, coarse.read_size, coarse.tile_size_level0) == (1, 100, 200)
    assert len(coarse) == (1024 // 200) * (768 // 200) == 15
    assert coarse.mpp == pytest.approx(1.0)


def test_tiles_stay_inside_the_slide_and_cover_the_tissue(slide):
    mask, downsample = tissue_mask(slide)
    grid = tile_grid(slide, 64, min_tissue=1e-6, mask=(mask, downsample))
    width, height = slide.dimensions
    assert (grid.coords >= 0).all()
    assert (grid.coords[:, 0] + grid.tile_size_level0 <= width).all()
    assert (grid.coords[:, 1] + grid.tile_size_level0 <= height).all()
    covered = np.zeros_like(mask)
    cell = int(grid.tile_size_level0 / downsample)  # 4 mask pixels per tile side
    for x, y in grid.coords // int(downsample):
        covered[y : y + cell, x : x + cell] = True
    assert covered[mask].all()  # every tissue pixel lies in a kept tile
    assert 0 < grid.tissue_fraction.min() and grid.tissue_fraction.max() == 1.0


def test_only_tiles_on_the_tissue_half_are_kept(half_blank_file):
    with open_slide(half_blank_file) as slide:
        grid = tile_grid(slide, 128, min_tissue=0.5)
    assert len(grid) == 4 * 6  # the left half: 4 columns of 6 rows
    assert (grid.coords[:, 0] + 128 <= 512).all()
    assert (grid.tissue_fraction >= 0.5).all()


def test_tissue_fractions_of_boxes_on_a_known_mask():
    mask = np.zeros((10, 10), bool)
    mask[:, :5] = True  # left half is tissue
    coords = np.array([[0, 0], [40, 0], [20, 40], [80, 80]])
    np.testing.assert_allclose(tissue_fractions(mask, 10.0, coords, 20), [1, 0.5, 1, 0])


def test_resampled_grid_reads_tiles_at_the_requested_resolution(slide, synthetic_slide):
    grid = tile_grid(slide, 64, mpp=0.75, min_tissue=0.0)  # 1.5x level 0: no level fits
    assert grid.level == 0 and grid.read_size == 96 and grid.resampled
    tile = read_tile(slide, grid, 5)
    assert tile.shape == (64, 64, 3)
    x, y = grid.coords[5]
    source = synthetic_slide.image[y : y + 96, x : x + 96].astype(float)
    assert np.abs(tile.mean(axis=(0, 1)) - source.mean(axis=(0, 1))).max() < 2


def test_requests_the_slide_cannot_answer(slide, tmp_path, synthetic_slide):
    with pytest.raises(ValueError, match="either mpp or magnification"):
        tile_grid(slide, 64, mpp=0.5, magnification=20)
    assert tile_grid(slide, 64, magnification=10).level == 1  # 20x slide, 10x tiles
    assert len(tile_grid(slide, 2048, min_tissue=0.0)) == 0  # larger than the slide
    import tifffile

    path = tmp_path / "no_mpp.tif"
    tifffile.imwrite(path, synthetic_slide.image, photometric="rgb", tile=(256, 256))
    with open_slide(path) as no_mpp:
        assert no_mpp.mpp is None and no_mpp.magnification is None
        with pytest.raises(ValueError, match="does not record its pixel size"):
            tile_grid(no_mpp, 64, mpp=0.5)


def test_grid_on_the_real_svs_keeps_tissue_tiles(cmu_svs):
    with open_slide(cmu_svs) as slide:
        every = tile_grid(slide, 224, mpp=0.5, min_tissue=0.0)
        kept = tile_grid(slide, 224, mpp=0.5, min_tissue=0.5)
        assert every.level == 0 and not every.resampled  # 0.499 µm/px is within 1 % of 0.5
        assert len(every) == (2220 // 224) * (2967 // 224) == 117
        assert 20 < len(kept) < len(every)
        saturation = [tissue_score(read_tile(slide, kept, i)).mean() for i in range(len(kept))]
        dropped = every.subset(every.tissue_fraction == 0)
        glass = [tissue_score(read_tile(slide, dropped, i)).mean() for i in range(len(dropped))]
    assert min(saturation) > max(glass)
