"""Drawing an attribution map over an MRI slice: which slice, what scale, the heat overlay
with the lesion outlined, and a grid of panels for several maps.

Maps are shown as a fraction of their largest absolute value (their raw units differ from
method to method), so that a colour means the same in every panel.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

#: Voxel size (slice, row, column) in mm of the synthetic breast MRI.
SPACING_MM = (3.0, 2.0, 2.0)

#: Overlay values below this fraction of the maximum are left transparent, so that the
#: anatomy stays visible where the method attributes (almost) nothing.
HIDE_BELOW = 0.05

LESION_COLOUR = "tab:cyan"


def mass_slice(attribution: np.ndarray) -> int:
    """The axial slice holding the largest share of |attribution| (NaN counts as 0)."""
    return int(np.nansum(np.abs(attribution), axis=(1, 2)).argmax())


def lesion_slice(mask: np.ndarray) -> int | None:
    """The slice with the most lesion voxels of a (Z, Y, X) mask; None for an empty mask."""
    per_slice = mask.sum(axis=(1, 2))
    return int(per_slice.argmax()) if per_slice.any() else None


def slice_extent(shape: tuple[int, ...], spacing_mm) -> tuple[float, float, float, float]:
    """imshow extent (left, right, bottom, top) in mm of a (Z, Y, X) volume's slice."""
    _, dy, dx = spacing_mm
    return (0.0, shape[2] * dx, shape[1] * dy, 0.0)


def peak(attribution: np.ndarray) -> float:
    """The largest |value|, or 1 when the map is all zero or NaN (nothing to normalise)."""
    top = float(np.nanmax(np.abs(attribution))) if np.isfinite(attribution).any() else 0.0
    return top if top > 0 else 1.0


def is_signed(attribution: np.ndarray) -> bool:
    """Whether the map has negative values (then it gets a diverging colour map)."""
    return bool(np.nanmin(attribution) < 0) if np.isfinite(attribution).any() else False


def overlay_label(signed: bool) -> str:
    """The colour bar's label for a map shown as a fraction of its maximum."""
    return "attribution (fraction of max |a|)" if signed else "attribution (fraction of max)"


def draw_overlay(ax, image2d, attribution2d, mask2d, scale, signed, opacity, extent):
    """Grey image, ``attribution2d / scale`` as a heat overlay, the lesion's outline; axes
    in mm. Returns the overlay's mappable (for the colour bar)."""
    ax.imshow(image2d, cmap="gray", extent=extent)
    shown = attribution2d / scale
    hidden = np.abs(np.nan_to_num(shown)) < HIDE_BELOW
    cmap, vmin = ("RdBu_r", -1.0) if signed else ("inferno", 0.0)
    overlay = ax.imshow(
        np.ma.masked_where(hidden, shown),
        cmap=cmap,
        vmin=vmin,
        vmax=1.0,
        alpha=opacity,
        extent=extent,
        interpolation="nearest",
    )
    if mask2d is not None and mask2d.any():
        ax.contour(
            mask2d.astype(float),
            levels=[0.5],
            colors=LESION_COLOUR,
            linewidths=1.2,
            extent=extent,
            origin="upper",
        )
        handle = Line2D([], [], color=LESION_COLOUR, label="lesion (ground truth)")
        ax.legend(handles=[handle], loc="lower right", fontsize="x-small", framealpha=0.6)
    ax.set(xlabel="x (mm)", ylabel="y (mm)")
    return overlay


def axes_grid(n: int, width: float = 3.4, height: float = 3.3, max_columns: int = 4):
    """A figure with ``n`` panels in rows of at most ``max_columns``; (fig, list of axes)."""
    columns = min(n, max_columns)
    rows = -(-n // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), squeeze=False, layout="constrained"
    )
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.remove()
    return fig, list(axes[:n])
