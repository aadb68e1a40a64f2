"""Figures of mSTAR-mini and of exported tiles: what they draw, titles, axes with units."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from medai_edu.viz.mstar import (  # noqa: E402
    plot_few_shot_curves,
    plot_pretraining_losses,
    plot_search_results,
    plot_similarity_matrix,
)
from medai_edu.viz.pathology import plot_geojson_tiles  # noqa: E402
from medai_edu.wsi import tiles_to_geojson  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled(ax):
    return ax.get_title() and "(" in ax.get_xlabel() and "(" in ax.get_ylabel()


def test_few_shot_curves_one_line_per_encoder():
    rows = [
        {"encoder": name, "shots": k, "auroc": 0.5 + 0.01 * k}
        for name in ("(a) random", "(d) stage 2")
        for k in (1, 2, 4)
    ]
    fig = plot_few_shot_curves(rows, "few-shot")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["(a) random", "(d) stage 2"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.51, 0.52, 0.54])
    assert ax.get_xscale() == "log" and labelled(ax)


def test_losses_similarity_and_search_figures():
    fig = plot_pretraining_losses({"simclr": [3, 2], "stage1": [4, 3, 2]})
    assert len(fig.axes) == 2 and all(labelled(ax) for ax in fig.axes)
    assert len(fig.axes[1].get_lines()[0].get_ydata()) == 3

    fig = plot_similarity_matrix(np.eye(4))
    assert labelled(fig.axes[0]) and fig.axes[0].images[0].get_array().shape == (4, 4)

    image = np.zeros((100, 200, 3), np.uint8)
    fig = plot_search_results(image, [image, image], [0.9, 0.8], ["a", "b"], mpp=0.5)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 3
    assert "0.80" in image_axes[2].get_title() and image_axes[0].get_xlabel() == "x (mm)"
    assert image_axes[0].images[0].get_extent() == [0, 0.1, 0.05, 0]  # 200 px x 0.5 µm


def test_geojson_tiles_land_where_the_tiles_are(tmp_path):
    coords = np.array([[0, 0], [64, 128]])
    collection = tiles_to_geojson(coords, 64, {"attention": np.array([0.2, 0.8])})
    fig = plot_geojson_tiles(np.zeros((256, 256, 3), np.uint8), collection, 0.5, "attention")
    ax = fig.axes[0]
    polygons = ax.collections[0]
    np.testing.assert_allclose(polygons.get_array(), [0.2, 0.8])
    second = polygons.get_paths()[1].vertices  # level-0 px x 0.5 µm / 1000 = mm
    np.testing.assert_allclose(second.min(0), [0.032, 0.064])
    np.testing.assert_allclose(second.max(0), [0.064, 0.096])
    assert labelled(ax)
