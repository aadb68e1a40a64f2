"""The throughput benchmark's slide writer and records (speed targets live in benchmarks/)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medai_edu.bench.wsi_throughput import (
    benchmark_tiling,
    conv_features,
    mean_colour_features,
    write_large_slide,
)
from medai_edu.wsi import open_slide


def test_large_slide_is_a_repeated_synthetic_pyramid(tmp_path):
    path = write_large_slide(tmp_path / "big.tif", size=1536, source_size=512)
    with open_slide(path, backend="openslide") as slide:
        assert slide.level_dimensions == ((1536, 1536), (768, 768), (384, 384))
        assert slide.mpp == pytest.approx(0.5)
        first = slide.read_region((0, 0), 0, (512, 512))
        np.testing.assert_array_equal(slide.read_region((1024, 512), 0, (512, 512)), first)
        level1 = first.reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))
        assert np.abs(slide.read_region((0, 0), 1, (256, 256)) - level1).max() <= 1


def test_feature_extractors_give_one_row_per_tile():
    tiles = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(mean_colour_features(tiles), tiles.mean(axis=(1, 2)), rtol=1e-5)
    assert conv_features(tiles).shape == (4, 32)


def test_benchmark_records_are_json_and_complete(tmp_path):
    records = benchmark_tiling(
        tmp_path, size=1024, tile_size=128, workers=(0,), max_tiles=20, memory_tiles=8
    )
    json.dumps(records, allow_nan=False)
    names = [r["benchmark"] for r in records]
    assert names == [
        "wsi.write_slide_s",
        "wsi.tissue_mask_s",
        "wsi.tile_grid_s",
        "wsi.plain_openslide_tiles_per_s",
        "wsi.batched_workers0_tiles_per_s",
    ]
    batched = records[-1]
    assert batched["tiles"] == 20 and batched["value"] > 0 and batched["ratio_to_plain"] > 0
    assert batched["peak_mb"] >= 0 and batched["unit"] == "tiles/s"
