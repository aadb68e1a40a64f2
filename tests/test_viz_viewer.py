"""The 3D slice viewer."""

import numpy as np
import pytest

from medai_edu.data.breast_mri import make_breast_mri_case
from medai_edu.viz.viewer import SEQUENCES, case_volume, plot_slice, slice_viewer


def test_every_sequence_has_a_volume_and_a_unit():
    case = make_breast_mri_case(seed=4)
    for sequence in SEQUENCES:
        volume, unit = case_volume(case, sequence, phase=2)
        assert volume.shape == case.mask.shape and unit
    subtraction, _ = case_volume(case, "DCE subtraction", phase=2)
    np.testing.assert_allclose(subtraction, case.dce[2] - case.dce[0])
    with pytest.raises(ValueError, match="unknown sequence"):
        case_volume(case, "PET")


def test_plot_slice_defaults_to_the_lesion_and_labels_units():
    case = make_breast_mri_case(seed=4)
    fig = plot_slice(case, "ADC")
    ax = fig.axes[0]
    lesion_slice = int(case.mask.sum(axis=(1, 2)).argmax())
    assert ax.get_title() == f"ADC, slice {lesion_slice}"
    assert ax.get_xlabel() == "x (mm)" and "mm²/s" in fig.axes[1].get_ylabel()
    with pytest.raises(ValueError, match="outside"):
        plot_slice(case, "T2", slice_index=99)


def test_viewer_widgets_drive_the_figure():
    case = make_breast_mri_case(seed=4)
    viewer = slice_viewer(case)
    controls = {w.description or w.__class__.__name__: w for w in viewer.children[:-1]}
    assert controls["slice"].max == case.mask.shape[0] - 1
    assert controls["DCE phase"].max == case.dce.shape[0] - 1
    assert viewer.children[0].value == "DCE subtraction"
