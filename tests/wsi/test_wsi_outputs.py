"""Heatmaps and GeoJSON: scores land where their tiles were; QuPath-ready features."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from medai_edu.wsi import overlay_heatmap, plot_heatmap, stitch_heatmap, tiles_to_geojson


def test_a_single_high_score_tile_lands_in_its_cell():
    # A 1000 x 600 slide in 100-px tiles; tile (x=300, y=200) scores 1, the others 0.
    xs, ys = np.meshgrid(np.arange(0, 1000, 100), np.arange(0, 600, 100))
    coords = np.stack([xs.ravel(), ys.ravel()], axis=1)
    scores = np.where((coords[:, 0] == 300) & (coords[:, 1] == 200), 1.0, 0.0)
    heatmap = stitch_heatmap(coords, scores, 100, (1000, 600), downsample=100)
    assert heatmap.shape == (6, 10)
    assert heatmap[2, 3] == 1.0 and np.argmax(heatmap) == np.ravel_multi_index((2, 3), (6, 10))
    assert np.nansum(heatmap) == 1.0
    finer = stitch_heatmap(coords, scores, 100, (1000, 600), downsample=25)  # 4 x 4 cells
    assert finer.shape == (24, 40)
    assert (finer[8:12, 12:16] == 1).all() and finer.sum() == 16


def test_cells_without_tiles_are_nan_and_overlaps_average():
    coords = np.array([[0, 0], [50, 0]])  # overlapping by half
    heatmap = stitch_heatmap(coords, [0.0, 1.0], 100, (300, 200), downsample=50)
    assert heatmap.shape == (4, 6)
    np.testing.assert_array_equal(heatmap[:2, :3], [[0.0, 0.5, 1.0]] * 2)
    assert np.isnan(heatmap[:, 3:]).all() and np.isnan(heatmap[2:]).all()
    with pytest.raises(ValueError, match="scores"):
        stitch_heatmap(coords, [1.0], 100, (300, 100), downsample=50)


def test_overlay_colours_tiles_and_keeps_the_thumbnail_elsewhere():
    thumbnail = np.full((60, 100, 3), 200, np.uint8)
    heatmap = np.full((6, 10), np.nan, np.float32)
    heatmap[2, 3] = 1.0
    out = overlay_heatmap(thumbnail, heatmap, alpha=0.5, cmap="viridis", vmin=0, vmax=1)
    assert out.shape == thumbnail.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:20], thumbnail[:20])
    yellow = np.array([253, 231, 37])  # viridis(1.0)
    np.testing.assert_allclose(out[25, 35], (200 + yellow) / 2, atol=1)


def test_heatmap_figure_has_title_labels_in_mm_and_a_colour_bar():
    heatmap = np.random.default_rng(0).random((6, 10))
    thumbnail = np.full((60, 100, 3), 230, np.uint8)
    fig = plot_heatmap(heatmap, (1000, 600), thumbnail, mpp=0.5, title="Tumour score", label="p")
    try:
        ax, colorbar = fig.axes
        assert ax.get_title() == "Tumour score"
        assert ax.get_xlabel() == "x (mm)" and ax.get_ylabel() == "y (mm)"
        assert ax.get_xlim() == pytest.approx((0, 0.5)) and colorbar.get_ylabel() == "p"
    finally:
        plt.close(fig)
    fig = plot_heatmap(heatmap, (1000, 600))
    try:
        assert fig.axes[0].get_xlabel() == "x (level-0 pixels)"
    finally:
        plt.close(fig)


def _shoelace(ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def test_geojson_is_a_valid_qupath_feature_collection(tmp_path):
    coords = np.array([[0, 0], [256, 0], [512, 768]])
    scores = {"tumour": np.array([0.9, 0.1, np.nan]), "stroma": np.array([0.1, 0.8, 0.5])}
    path = tmp_path / "out" / "tiles.geojson"
    collection = tiles_to_geojson(
        coords,
        256,
        scores,
        path=path,
        classification=["Tumor", "Stroma", "Stroma"],
        colors={"Tumor": (200, 0, 0)},
    )
    assert json.loads(path.read_text(encoding="utf-8")) == collection  # valid, strict JSON
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 3
    for (x, y), feature in zip(coords.tolist(), collection["features"], strict=True):
        assert feature["type"] == "Feature"
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and len(ring) == 5
        assert ring[0] == ring[-1] == [x, y]  # closed, starting at the tile's corner
        assert {tuple(p) for p in ring} == {(x, y), (x + 256, y), (x + 256, y + 256), (x, y + 256)}
        assert _shoelace(ring) == 256**2  # positive: counter-clockwise (RFC 7946)
        assert feature["properties"]["objectType"] == "tile"
    first, _, last = collection["features"]
    assert first["properties"]["measurements"] == {"tumour": 0.9, "stroma": 0.1}
    assert first["properties"]["classification"] == {"name": "Tumor", "color": [200, 0, 0]}
    assert last["properties"]["measurements"]["tumour"] is None  # NaN is not JSON


def test_geojson_options_and_errors():
    coords = np.array([[10.5, 20.0]])
    collection = tiles_to_geojson(coords, 100, np.array([0.25]), object_type="annotation")
    feature = collection["features"][0]
    assert feature["properties"] == {"objectType": "annotation", "measurements": {"score": 0.25}}
    assert feature["geometry"]["coordinates"][0][2] == [110.5, 120.0]
    with pytest.raises(ValueError, match="values for 1 tiles"):
        tiles_to_geojson(coords, 100, np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="object_type"):
        tiles_to_geojson(coords, 100, object_type="cell")
