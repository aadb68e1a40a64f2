"""Figures: every axis has a title and labelled axes with units."""

import numpy as np

from medai_edu.data.breast_mri import make_breast_mri_case
from medai_edu.viz import plot_breast_mri_case, plot_kinetic_curves


def image_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_breast_mri_case_figure_shows_the_lesion_slice():
    case = make_breast_mri_case(seed=3)
    fig = plot_breast_mri_case(case)
    axes = image_axes(fig)
    assert len(axes) == 6
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() == "x (mm)" and ax.get_ylabel() == "y (mm)"
    lesion_slice = int(case.mask.sum(axis=(1, 2)).argmax())
    assert fig._suptitle.get_text().startswith(f"Slice {lesion_slice}")
    shown = axes[3].images[0].get_array()
    np.testing.assert_array_equal(shown, case.t2[lesion_slice])


def test_kinetic_curves_figure_includes_the_measured_lesion():
    case = make_breast_mri_case(seed=2, concepts={"kinetic": 2})
    fig = plot_kinetic_curves(case)
    ax = fig.axes[0]
    assert ax.get_title() and "min" in ax.get_xlabel() and "%" in ax.get_ylabel()
    measured = ax.lines[-1].get_ydata()
    assert measured[-1] < measured[2]  # washout: the lesion's own curve falls after its peak


def test_cohort_kinetics_separates_curve_types():
    from medai_edu.data.breast_mri import make_breast_mri_cohort
    from medai_edu.viz.mri import lesion_enhancement, plot_cohort_kinetics, plot_lesion_adc

    cohort = make_breast_mri_cohort(30, seed=9)
    curves = lesion_enhancement(cohort)
    assert curves.shape == (30, 5) and np.all(curves[:, 0] == 0)
    fig = plot_cohort_kinetics(cohort)
    means = {line.get_label().split(" (")[0]: line.get_ydata() for line in fig.axes[0].lines}
    assert means["persistent"][-1] > means["plateau"][-1] > means["washout"][-1]
    fig = plot_lesion_adc(cohort)
    assert all(ax.get_xlabel().startswith("mean lesion ADC") for ax in fig.axes)
