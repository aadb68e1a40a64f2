"""An ipywidgets viewer for 3D multiparametric MRI: slice, sequence, DCE phase, lesion mask."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.data.breast_mri import BreastMRICase

SEQUENCES = ("DCE", "DCE subtraction", "T2", "DWI b-low", "DWI b-high", "ADC")


def case_volume(case: BreastMRICase, sequence: str, phase: int = 1) -> tuple[np.ndarray, str]:
    """The (Z, Y, X) volume shown for a sequence, and its colour-bar label."""
    volumes = {
        "DCE": (case.dce[phase], "signal (a.u.)"),
        "DCE subtraction": (case.dce[phase] - case.dce[0], "post - pre (a.u.)"),
        "T2": (case.t2, "signal (a.u.)"),
        "DWI b-low": (case.dwi[0], "signal (a.u.)"),
        "DWI b-high": (case.dwi[1], "signal (a.u.)"),
        "ADC": (case.adc, "ADC (10⁻³ mm²/s)"),
    }
    if sequence not in volumes:
        raise ValueError(f"unknown sequence {sequence!r}; choose from {SEQUENCES}")
    return volumes[sequence]


def plot_slice(case: BreastMRICase, sequence="DCE", slice_index=None, phase=1, show_mask=True):
    """One slice of one sequence with the lesion outline; returns the Figure."""
    volume, unit = case_volume(case, sequence, phase)
    z = int(case.mask.sum(axis=(1, 2)).argmax()) if slice_index is None else int(slice_index)
    if not 0 <= z < volume.shape[0]:
        raise ValueError(f"slice {z} is outside 0..{volume.shape[0] - 1}")
    dy, dx = case.spacing_mm[1:]
    extent = (0, volume.shape[2] * dx, volume.shape[1] * dy, 0)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    shown = ax.imshow(volume[z], cmap="viridis" if sequence == "ADC" else "gray", extent=extent)
    if show_mask and case.mask[z].any():
        ax.contour(case.mask[z], levels=[0.5], colors="tab:red", extent=extent, origin="upper")
    when = f", {case.dce_times_min[phase]:g} min" if sequence.startswith("DCE") else ""
    ax.set(title=f"{sequence}{when}, slice {z}", xlabel="x (mm)", ylabel="y (mm)")
    fig.colorbar(shown, ax=ax, label=unit)
    fig.tight_layout()
    return fig


def slice_viewer(case: BreastMRICase):
    """Interactive viewer: slice slider, sequence menu, DCE phase slider, mask checkbox."""
    import ipywidgets as widgets

    depth, phases = case.mask.shape[0], case.dce.shape[0]
    lesion_slice = int(case.mask.sum(axis=(1, 2)).argmax())

    def show(sequence, slice_index, phase, show_mask):
        fig = plot_slice(case, sequence, slice_index, phase, show_mask)
        plt.show(fig)

    return widgets.interactive(
        show,
        sequence=widgets.Dropdown(options=SEQUENCES, value="DCE subtraction"),
        slice_index=widgets.IntSlider(
            value=lesion_slice, min=0, max=depth - 1, description="slice"
        ),
        phase=widgets.IntSlider(value=1, min=1, max=phases - 1, description="DCE phase"),
        show_mask=widgets.Checkbox(value=True, description="lesion mask"),
    )
