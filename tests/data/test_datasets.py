"""BreastMRIDataset: what a network sees of a case."""

import numpy as np
import torch

from medai_edu.data import BreastMRIDataset, make_breast_mri_cohort
from medai_edu.data.datasets import normalised_modalities, relative_enhancement


def test_relative_enhancement_is_the_lesion_curve():
    cohort = make_breast_mri_cohort(4, seed=3)
    for i in range(4):
        dce, mask = cohort.dce[i], cohort.mask[i]
        enhancement = relative_enhancement(dce)
        assert enhancement.shape == (dce.shape[0] - 1, *dce.shape[1:])
        expected = dce[1:, mask].mean(1) / dce[0, mask].mean() - 1
        np.testing.assert_allclose(enhancement[:, mask].mean(1), expected, atol=0.05)
        air = dce[0] < 0.01 * np.percentile(dce[0], 99)
        assert np.all(enhancement[:, air] == 0)


def test_items_are_normalised_per_modality_and_cached():
    cohort = make_breast_mri_cohort(3, seed=1)
    dataset = BreastMRIDataset(cohort)
    inputs, targets = dataset[1]
    assert {m: tuple(v.shape[:1]) for m, v in inputs.items()} == {
        "dce": (5,),
        "t2": (1,),
        "dwi": (3,),
    }
    assert targets["malignant"] == cohort.malignant[1]
    assert targets["mask"].shape == cohort.mask[1].shape
    # cached: the same arrays come back, equal to a fresh computation
    again, _ = dataset[1]
    assert again["dce"].data_ptr() == inputs["dce"].data_ptr()
    np.testing.assert_array_equal(inputs["dwi"].numpy(), normalised_modalities(cohort, 1)["dwi"])


def test_flip_mirrors_inputs_and_mask_together():
    cohort = make_breast_mri_cohort(2, seed=2)
    plain = BreastMRIDataset(cohort)[0]
    flipping = BreastMRIDataset(cohort, flip=True)
    torch.manual_seed(0)
    seen = {bool(torch.equal(flipping[0][0]["dce"], plain[0]["dce"])) for _ in range(20)}
    assert seen == {True, False}, "about half of the reads are mirrored"
    torch.manual_seed(0)
    for _ in range(10):
        inputs, targets = flipping[0]
        mirrored = not torch.equal(inputs["t2"], plain[0]["t2"])
        if mirrored:
            torch.testing.assert_close(inputs["t2"], plain[0]["t2"].flip(-1))
            torch.testing.assert_close(targets["mask"], plain[1]["mask"].flip(-1))
        else:
            torch.testing.assert_close(targets["mask"], plain[1]["mask"])
