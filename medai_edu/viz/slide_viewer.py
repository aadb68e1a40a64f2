"""An ipywidgets whole-slide viewer: pyramid level, position, and a heatmap overlay."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.wsi import Slide


def view_window(slide: Slide, level: int, centre_xy, size: int = 512):
    """Level-0 (x, y) of the top-left corner and (w, h) at ``level`` of the window shown
    around ``centre_xy`` (level-0 pixels), clipped to the slide."""
    if not 0 <= level < slide.level_count:
        raise ValueError(f"level {level} is outside 0..{slide.level_count - 1}")
    down = slide.level_downsamples[level]
    width, height = slide.level_dimensions[level]
    w, h = min(size, width), min(size, height)
    x = int(np.clip(centre_xy[0] / down - w / 2, 0, width - w))
    y = int(np.clip(centre_xy[1] / down - h / 2, 0, height - h))
    return (int(x * down), int(y * down)), (w, h)


def plot_slide_view(
    slide: Slide,
    level: int = 0,
    centre_xy=None,
    size: int = 512,
    heatmap: np.ndarray | None = None,
    heatmap_downsample: float | None = None,
    opacity: float = 0.4,
    label: str = "score",
):
    """The slide at ``level`` around ``centre_xy`` (level-0 px, default the centre), with an
    optional heatmap (from :func:`medai_edu.wsi.stitch_heatmap`, one cell per
    ``heatmap_downsample`` level-0 pixels) drawn over it; axes in µm when the mpp is known."""
    if centre_xy is None:
        centre_xy = (slide.dimensions[0] / 2, slide.dimensions[1] / 2)
    (x0, y0), (w, h) = view_window(slide, level, centre_xy, size)
    region = slide.read_region((x0, y0), level, (w, h))
    down = slide.level_downsamples[level]
    scale, unit = (slide.mpp, "µm") if slide.mpp else (1.0, "level-0 px")
    extent = (x0 * scale, (x0 + w * down) * scale, (y0 + h * down) * scale, y0 * scale)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(region, extent=extent)
    if heatmap is not None:
        if heatmap_downsample is None:
            raise ValueError("give heatmap_downsample: level-0 pixels per heatmap cell")
        cells = _heatmap_window(heatmap, heatmap_downsample, (x0, y0), (w * down, h * down))
        shown = ax.imshow(cells, extent=extent, alpha=opacity, cmap="magma")
        fig.colorbar(shown, ax=ax, label=label)
    ax.set(
        title=f"Level {level} (downsample {down:g}), {w} x {h} px",
        xlabel=f"x ({unit})",
        ylabel=f"y ({unit})",
    )
    fig.tight_layout()
    return fig


def _heatmap_window(heatmap, downsample, origin, size) -> np.ndarray:
    """The heatmap cells under a level-0 window, nearest-neighbour, NaN outside the map."""
    (x0, y0), (w, h) = origin, size
    out_w, out_h = max(int(round(w / downsample)), 1), max(int(round(h / downsample)), 1)
    xs = ((x0 + (np.arange(out_w) + 0.5) * w / out_w) / downsample).astype(int)
    ys = ((y0 + (np.arange(out_h) + 0.5) * h / out_h) / downsample).astype(int)
    cells = np.full((out_h, out_w), np.nan, np.float32)
    ok_y, ok_x = ys < heatmap.shape[0], xs < heatmap.shape[1]
    cells[np.ix_(ok_y, ok_x)] = heatmap[np.ix_(ys[ok_y], xs[ok_x])]
    return cells


def slide_viewer(slide: Slide, heatmap=None, heatmap_downsample=None, size: int = 512):
    """Interactive viewer: level and position sliders, heatmap opacity."""
    import ipywidgets as widgets

    width, height = slide.dimensions

    def show(level, x, y, opacity):
        fig = plot_slide_view(slide, level, (x, y), size, heatmap, heatmap_downsample, opacity)
        plt.show(fig)

    return widgets.interactive(
        show,
        level=widgets.IntSlider(
            value=slide.level_count - 1, min=0, max=slide.level_count - 1, description="level"
        ),
        x=widgets.IntSlider(value=width // 2, min=0, max=width - 1, description="x (px)"),
        y=widgets.IntSlider(value=height // 2, min=0, max=height - 1, description="y (px)"),
        opacity=widgets.FloatSlider(value=0.4, min=0, max=1, step=0.05, description="opacity"),
    )
