"""MOME-mini: shapes, modality masking, read-outs, errors, checkpoints, learning."""

import pytest
import torch
from torch.utils.data import DataLoader

from medai_edu.data import BreastMRIDataset, make_breast_mri_cohort
from medai_edu.models import create_model, list_models
from medai_edu.models.mome import MOMEConfig, modality_contributions, mome_loss
from medai_edu.train import load_checkpoint, save_checkpoint

SMALL = dict(dim=32, heads=2, multiway_depth=1, fusion_depth=1, stem_channels=8, dropout=0.0)


@pytest.fixture(scope="module")
def batch():
    cohort = make_breast_mri_cohort(6, seed=21)
    return next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=6)))


def small_model(**overrides):
    torch.manual_seed(0)
    return create_model("mome-mini", **(SMALL | overrides)).eval()


def test_registered_and_output_shapes(batch):
    assert {"mome-mini", "mri-cnn", "densenet121-3d"} <= set(list_models())
    inputs, _ = batch
    out = small_model()(inputs)
    assert out["malignant"].shape == out["pcr"].shape == (6,)
    assert out["subtype"].shape == (6, 4)
    assert out["cls_attention"].shape == (6, 3)
    assert out["expert_usage"].shape == (6, 3, MOMEConfig().experts)
    # the CLS token's attention over the three modalities (plus itself) sums to at most 1
    assert torch.all(out["cls_attention"].sum(1) <= 1 + 1e-5)
    torch.testing.assert_close(out["expert_usage"].sum(-1), torch.ones(6, 3))


def test_a_missing_modality_changes_nothing_downstream(batch):
    inputs, _ = batch
    model = small_model()
    present = torch.ones(6, 3, dtype=torch.bool)
    present[:, 1] = False  # T2 missing for every case
    masked = model({**inputs, "present": present})
    dropped = model({k: v for k, v in inputs.items() if k != "t2"})
    scrambled = model({**inputs, "t2": torch.randn_like(inputs["t2"]) * 100, "present": present})
    for key in ("malignant", "pcr", "subtype"):
        torch.testing.assert_close(masked[key], dropped[key], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(masked[key], scrambled[key], atol=1e-5, rtol=1e-4)
    assert torch.all(masked["cls_attention"][:, 1] == 0)
    full = model(inputs)
    assert not torch.allclose(full["malignant"], masked["malignant"])


def test_masking_one_case_leaves_the_others_alone(batch):
    inputs, _ = batch
    model = small_model()
    present = torch.ones(6, 3, dtype=torch.bool)
    present[0, 0] = False  # case 0 lacks DCE
    out = model({**inputs, "present": present})
    full = model(inputs)
    torch.testing.assert_close(out["malignant"][1:], full["malignant"][1:], atol=1e-5, rtol=1e-4)
    assert not torch.isclose(out["malignant"][0], full["malignant"][0])


def test_modality_contributions(batch):
    inputs, _ = batch
    model = small_model()
    contributions = modality_contributions(model, inputs)
    assert contributions.shape == (6, 3)
    full = model(inputs)["malignant"]
    without_dwi = model({k: v for k, v in inputs.items() if k != "dwi"})["malignant"]
    torch.testing.assert_close(contributions[:, 2], full - without_dwi, atol=1e-5, rtol=1e-4)
    only_t2 = modality_contributions(model, {"t2": inputs["t2"]})
    assert torch.all(only_t2 == 0)  # nothing to compare against


def test_modality_dropout_only_while_training(batch):
    inputs, _ = batch
    model = small_model(modality_dropout=0.9)
    torch.testing.assert_close(model(inputs)["malignant"], model(inputs)["malignant"])
    model.train()
    draws = {
        tuple(model(inputs)["malignant"].detach().round(decimals=4).tolist()) for _ in range(4)
    }
    assert len(draws) > 1


def test_clear_errors(batch):
    inputs, _ = batch
    model = small_model()
    with pytest.raises(ValueError, match="dce must be"):
        model({**inputs, "dce": inputs["dce"][:, :3]})
    with pytest.raises(ValueError, match="no modality present"):
        model({**inputs, "present": torch.zeros(6, 3, dtype=torch.bool)})
    with pytest.raises(ValueError, match="no modality given"):
        model({})
    with pytest.raises(ValueError, match="unknown modalities"):
        model({**inputs, "pet": inputs["t2"]})
    with pytest.raises(ValueError, match="shape"):
        model({"t2": inputs["t2"][:, :, :8]})
    with pytest.raises(ValueError, match="divisible"):
        MOMEConfig(patch_size=(5, 8, 8))
    with pytest.raises(ValueError, match="fusion block"):
        MOMEConfig(fusion_depth=0)


def test_checkpoint_round_trip(tmp_path, batch):
    inputs, _ = batch
    model = small_model()
    save_checkpoint(model, tmp_path / "mome.pt", name="mome-mini", **SMALL)
    fresh = small_model()
    torch.nn.init.normal_(fresh.heads["malignant"].weight)
    meta = load_checkpoint(fresh, tmp_path / "mome.pt")
    assert meta["name"] == "mome-mini"
    torch.testing.assert_close(fresh.eval()(inputs)["malignant"], model(inputs)["malignant"])


def test_learns_on_a_small_set():
    cohort = make_breast_mri_cohort(24, seed=5)
    inputs, targets = next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=24)))
    model = small_model(modality_dropout=0.0).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = mome_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_modality_experts_have_their_own_say(batch):
    inputs, _ = batch
    model = small_model()
    out = model({k: v for k, v in inputs.items() if k != "t2"})
    experts = out["modality_malignant"]
    assert experts.shape == (6, 3)
    assert torch.all(experts[:, 1].isnan()) and not experts[:, [0, 2]].isnan().any()
    # the fused logit is the CLS head's plus the mean of the present experts
    model.heads["malignant"].weight.data.zero_()
    model.heads["malignant"].bias.data.zero_()
    out = model(inputs)
    torch.testing.assert_close(out["malignant"], out["modality_malignant"].mean(1))


def test_strided_stem_sees_full_resolution_and_keeps_the_token_grid(batch):
    inputs, _ = batch
    pooled, strided = small_model(stem="pool"), small_model()
    for model in (pooled, strided):
        out = model(inputs)
        assert out["malignant"].shape == (6,) and out["subtype"].shape == (6, 4)
        tokens = model.embed["dce"](inputs["dce"])
        assert tokens.shape == (6, MOMEConfig().tokens_per_modality, SMALL["dim"])
    layers = list(strided.embed["t2"].proj)
    assert not any(isinstance(layer, torch.nn.AvgPool3d) for layer in layers)
    first_conv = next(layer for layer in layers if isinstance(layer, torch.nn.Conv3d))
    assert first_conv.stride == MOMEConfig().stem_pool
    assert isinstance(pooled.embed["t2"].proj[0], torch.nn.AvgPool3d)
    assert pooled.embed["t2"].proj[1].stride == (1, 1, 1)
    # same parameter names and shapes: either stem can start from the other's weights
    strided.load_state_dict(pooled.state_dict())
    with pytest.raises(ValueError, match="stem must be"):
        MOMEConfig(stem="unpooled")


def test_loss_trains_the_chosen_tasks_only(batch):
    inputs, targets = batch
    model = small_model()
    outputs = model(inputs)
    everything = mome_loss(outputs, targets)
    torch.testing.assert_close(
        everything, mome_loss(outputs, targets, tasks=("malignant", "pcr", "subtype"))
    )
    alone = mome_loss(outputs, targets, tasks=("malignant",))
    assert alone < everything
    model.zero_grad()
    alone.backward()
    assert model.heads["malignant"].weight.grad.abs().sum() > 0
    assert model.modality_heads["dce"].weight.grad.abs().sum() > 0  # deep supervision stays
    assert model.heads["pcr"].weight.grad is None  # untouched by the loss
    assert model.heads["subtype"].weight.grad is None
    with pytest.raises(ValueError, match="tasks must be"):
        mome_loss(outputs, targets, tasks=("grade",))
