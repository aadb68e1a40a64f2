"""Fixtures shared by the concept and TCAV tests."""

import pytest

from medai_edu.data.breast_mri import make_breast_mri_cohort


@pytest.fixture(scope="session")
def small_cohort():
    """120 breast MRI cases (seed 5), drawn once for test_concepts and test_tcav."""
    return make_breast_mri_cohort(120, seed=5)
