"""The whole-slide viewer: the window it reads, the heatmap it overlays, its widgets."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from medai_edu.data.pathology import SlideConfig, make_slide, write_slide
from medai_edu.viz.slide_viewer import plot_slide_view, slide_viewer, view_window
from medai_edu.wsi import open_slide, stitch_heatmap


@pytest.fixture(scope="module")
def slide(tmp_path_factory):
    path = tmp_path_factory.mktemp("viewer") / "s.tiff"
    write_slide(make_slide(2, SlideConfig(width=1024, height=768)), path)
    with open_slide(path) as opened:
        yield opened


def test_window_is_clipped_to_the_slide(slide):
    (x, y), (w, h) = view_window(slide, 0, (0, 0), size=256)
    assert (x, y, w, h) == (0, 0, 256, 256)
    (x, y), (w, h) = view_window(slide, 0, (10_000, 10_000), size=256)
    assert (x + w, y + h) == slide.dimensions
    with pytest.raises(ValueError, match="level"):
        view_window(slide, slide.level_count, (0, 0))


def test_view_shows_the_region_and_the_heatmap_in_microns(slide):
    heatmap = stitch_heatmap(np.array([[0, 0]]), np.array([1.0]), 256, slide.dimensions, 256)
    fig = plot_slide_view(slide, 0, (128, 128), 256, heatmap, 256, opacity=0.5)
    ax = fig.axes[0]
    image, overlay = ax.get_images()
    np.testing.assert_array_equal(image.get_array(), slide.read_region((0, 0), 0, (256, 256)))
    assert overlay.get_array()[0, 0] == 1.0 and overlay.get_alpha() == 0.5
    assert "µm" in ax.get_xlabel() and ax.get_title()
    assert ax.get_xlim()[1] == pytest.approx(256 * slide.mpp)
    with pytest.raises(ValueError, match="heatmap_downsample"):
        plot_slide_view(slide, heatmap=heatmap)


def test_viewer_widgets_drive_the_view(slide):
    viewer = slide_viewer(slide)
    controls = {w.description: w for w in viewer.children[:-1]}
    assert set(controls) == {"level", "x (px)", "y (px)", "opacity"}
    assert controls["level"].max == slide.level_count - 1
    controls["level"].value = 0  # re-renders without error
