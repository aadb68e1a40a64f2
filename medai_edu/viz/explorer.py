"""An interactive explorer of MRI explanations: pick a case, a method, a slice and the
overlay's opacity; each (case, method) is explained once and kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.viz._arrays import as_array, same_shape, volume
from medai_edu.viz._overlay import SPACING_MM, lesion_slice
from medai_edu.viz.mri_explanations import plot_mri_overlay

__all__ = ["explanation_explorer"]


def _checked_inputs(images, masks, methods, case_names):
    """(volumes (N, Z, Y, X), masks or None, methods, case names), or a ValueError."""
    if not len(images):
        raise ValueError("images must hold at least one (Z, Y, X) volume")
    volumes = np.stack([volume(v, "each image") for v in images])
    if masks is not None:
        masks = same_shape(masks, volumes.shape, "masks", dtype=bool)
    methods = tuple(methods)
    if not methods:
        raise ValueError("give at least one method for the menu")
    n_cases = len(volumes)
    names = list(case_names) if case_names is not None else [f"case {i}" for i in range(n_cases)]
    if len(names) != n_cases:
        raise ValueError(f"{len(names)} case names for {n_cases} cases")
    return volumes, masks, methods, names


def _widgets(names, methods, depth, first_slice):
    """The explorer (a VBox) and its four controls: case and method menus, slice and
    opacity sliders, above an Output for the figure."""
    import ipywidgets as widgets

    menu = [(name, i) for i, name in enumerate(names)]
    c = {
        "case": widgets.Dropdown(options=menu, value=0, description="case"),
        "method": widgets.Dropdown(options=methods, value=methods[0], description="method"),
        "slice": widgets.IntSlider(value=first_slice, min=0, max=depth - 1, description="slice"),
        "opacity": widgets.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="opacity"),
    }
    output = widgets.Output()
    rows = [widgets.HBox([c["case"], c["method"]]), widgets.HBox([c["slice"], c["opacity"]])]
    explorer = widgets.VBox([*rows, output])
    explorer.controls, explorer.output, explorer.cache = c, output, {}
    explorer.figure, explorer.draws, explorer.message = None, 0, ""
    return explorer


def _draw(explorer, volumes, masks, names, explain_fn, spacing_mm):
    """Draws the current choice into ``explorer.output``; a ValueError becomes a message."""
    from IPython.display import display

    c = explorer.controls
    i, method = c["case"].value, c["method"].value
    explorer.output.clear_output(wait=True)
    with explorer.output:
        try:
            if (i, method) not in explorer.cache:
                explorer.cache[(i, method)] = as_array(explain_fn(i, method))
            fig = plot_mri_overlay(
                volumes[i],
                explorer.cache[(i, method)],
                None if masks is None else masks[i],
                c["slice"].value,
                c["opacity"].value,
                title=f"{method.replace('_', ' ')}, {names[i]}",
                spacing_mm=spacing_mm,
            )
        except ValueError as error:  # shown to the student, not a traceback
            explorer.message = str(error)
            print(f"Cannot show {method} for {names[i]}: {error}")
            return
        explorer.message = ""
        display(fig)
        plt.close(fig)
    explorer.figure = fig
    explorer.draws += 1


def explanation_explorer(
    images,
    explain_fn: Callable[[int, str], np.ndarray],
    methods: Sequence[str],
    masks=None,
    *,
    case_names: Sequence[str] | None = None,
    spacing_mm=SPACING_MM,
):
    """Interactive explorer: case, method, slice and overlay opacity.

    images: (N, Z, Y, X) array or N volumes (Z, Y, X), shown under each case's map.
    explain_fn: ``explain_fn(case_index, method)`` -> attribution (Z, Y, X); each (case,
        method) is computed once and kept in ``explorer.cache``.
    methods: the method menu, the first shown first. masks: (N, Z, Y, X) bool lesions;
        choosing a case then jumps to its lesion's largest slice. case_names: N menu names.

    Returns an ``ipywidgets.VBox`` (controls above an ``Output`` with the figure) carrying
    ``controls`` (dict: case, method, slice, opacity), ``output``, ``cache``, ``redraw()``,
    ``figure`` (the last drawn, closed after display), ``draws`` and ``message`` (the last
    error shown instead of a figure, "" if none).

    Raises ValueError for images that are not (N, Z, Y, X), masks of another shape, no
    methods, or case names that do not match the cases. A map of the wrong shape from
    ``explain_fn`` is shown as a message in the output, not raised.
    """
    volumes, masks, methods, names = _checked_inputs(images, masks, methods, case_names)
    depth = volumes.shape[1]

    def start_slice(i: int) -> int:
        lesion = None if masks is None else lesion_slice(masks[i])
        return depth // 2 if lesion is None else lesion

    explorer = _widgets(names, methods, depth, start_slice(0))
    c = explorer.controls
    moving = {"slice": False}  # a new case moves the slider: draw once, not twice

    def redraw(_change=None):
        if not moving["slice"]:
            _draw(explorer, volumes, masks, names, explain_fn, spacing_mm)

    def new_case(_change):
        moving["slice"] = True
        try:
            c["slice"].value = start_slice(c["case"].value)
        finally:
            moving["slice"] = False
        redraw()

    c["case"].observe(new_case, names="value")
    for name in ("method", "slice", "opacity"):
        c[name].observe(redraw, names="value")
    explorer.redraw = redraw
    redraw()
    return explorer
