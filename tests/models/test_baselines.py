"""MONAI baselines: single modality, early fusion, late fusion, DenseNet121-3D."""

import pytest
import torch
from torch.utils.data import DataLoader

from medai_edu.data import BreastMRIDataset, make_breast_mri_cohort
from medai_edu.models import create_model
from medai_edu.models.baselines import LateFusion, malignancy_loss


@pytest.fixture(scope="module")
def batch():
    cohort = make_breast_mri_cohort(4, seed=8)
    return next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=4)))


def test_single_modality_and_early_fusion_shapes(batch):
    inputs, _ = batch
    for modalities in (("dce",), ("t2",), ("dwi",), ("dce", "t2", "dwi")):
        model = create_model("mri-cnn", modalities=modalities).eval()
        assert model(inputs)["malignant"].shape == (4,)


def test_early_fusion_fills_a_missing_modality_with_zeros(batch):
    inputs, _ = batch
    model = create_model("mri-cnn").eval()
    zeroed = model({**inputs, "t2": torch.zeros_like(inputs["t2"])})["malignant"]
    dropped = model({k: v for k, v in inputs.items() if k != "t2"})["malignant"]
    torch.testing.assert_close(zeroed, dropped)


def test_late_fusion_averages_the_available_members(batch):
    inputs, _ = batch
    members = {m: create_model("mri-cnn", modalities=(m,)).eval() for m in ("dce", "t2", "dwi")}
    late = LateFusion(members).eval()
    logits = {m: members[m]({m: inputs[m]})["malignant"] for m in members}
    torch.testing.assert_close(late(inputs)["malignant"], sum(logits.values()) / 3)
    without_t2 = late({k: v for k, v in inputs.items() if k != "t2"})["malignant"]
    torch.testing.assert_close(without_t2, (logits["dce"] + logits["dwi"]) / 2)


def test_densenet_pads_small_volumes(batch):
    inputs, _ = batch
    model = create_model("densenet121-3d").eval()
    assert model(inputs)["malignant"].shape == (4,)


def test_wrong_channels_is_a_clear_error(batch):
    inputs, _ = batch
    with pytest.raises(ValueError, match="dce must be"):
        create_model("mri-cnn")({**inputs, "dce": inputs["dce"][:, :2]})
    with pytest.raises(KeyError, match="unknown model"):
        create_model("resnet-9000")


def test_cnn_learns_on_a_small_set():
    cohort = make_breast_mri_cohort(16, seed=3)
    inputs, targets = next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=16)))
    torch.manual_seed(0)
    model = create_model("mri-cnn", dropout=0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = malignancy_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
