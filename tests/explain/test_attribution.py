"""explain(): every method returns the input's geometry, lands on the lesion for the trained
MOME-mini, and bad input is a clear error."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from medai_edu.data.breast_mri import make_breast_mri_cohort
from medai_edu.data.datasets import BreastMRIDataset
from medai_edu.experiments.breast_fusion import load_contenders
from medai_edu.explain.attribution import METHODS, explain, supported_methods
from medai_edu.explain.metrics import pointing_game_accuracy
from medai_edu.models import create_model


@pytest.fixture(scope="module")
def mri_cases():
    cohort = make_breast_mri_cohort(12, seed=7)
    inputs, targets = next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=12)))
    return inputs, targets["mask"].numpy() > 0.5


@pytest.fixture(scope="module")
def contenders():
    return load_contenders()


@pytest.mark.parametrize("method", ["gradcam", "integrated_gradients", "occlusion"])
def test_mri_maps_have_the_volume_geometry_for_every_mri_model(contenders, mri_cases, method):
    inputs, _ = mri_cases
    few = {m: v[:3] for m, v in inputs.items()}
    for name in ("mome-mini", "early fusion"):
        e = explain(contenders[name].model, few, method, n_steps=4)
        assert e.attribution.shape == (3, 16, 32, 32)
        assert np.isfinite(e.attribution).all()
        if method != "occlusion":  # occlusion is signed: hiding a region can raise the score
            assert (e.attribution >= 0).all()
        assert e.attribution.reshape(3, -1).max(1).min() > 0, "every case gets a map"
    assert set(e.target) <= {0, 1}


def test_mome_integrated_gradients_point_at_the_lesion(contenders, mri_cases):
    inputs, mask = mri_cases
    e = explain(contenders["mome-mini"].model, inputs, "integrated_gradients")
    assert set(e.per_modality) == {"dce", "t2", "dwi"}
    np.testing.assert_allclose(sum(e.per_modality.values()), e.attribution, rtol=1e-6)
    assert pointing_game_accuracy(e.attribution, mask) >= 0.75
    # ... which a map of the same values in random places would not do
    rng = np.random.default_rng(0)
    shuffled = np.stack([rng.permutation(a.ravel()).reshape(a.shape) for a in e.attribution])
    assert pointing_game_accuracy(shuffled, mask) < 0.5


def test_mome_read_outs(contenders, mri_cases):
    inputs, _ = mri_cases
    model = contenders["mome-mini"].model
    rollout = explain(model, inputs, "attention_rollout")
    assert rollout.attribution.shape == (12, 16, 32, 32)
    contributions = explain(model, inputs, "modality_contributions")
    assert contributions.attribution.shape == (12, 3)
    assert contributions.axes == ("case", "modality")
    routing = explain(model, inputs, "routing")
    assert routing.attribution.shape == (12, 3, model.config.experts)
    np.testing.assert_allclose(routing.attribution.sum(-1), 1, atol=1e-5)


def test_explaining_the_other_class_flips_the_contributions(contenders, mri_cases):
    inputs, _ = mri_cases
    model = contenders["mome-mini"].model
    malignant = explain(model, inputs, "modality_contributions", target=1)
    benign = explain(model, inputs, "modality_contributions", target=0)
    np.testing.assert_allclose(malignant.attribution, -benign.attribution, atol=1e-6)
    assert (malignant.target == 1).all()


def test_a_method_the_model_does_not_support_is_a_clear_error(contenders, mri_cases):
    inputs, _ = mri_cases
    with pytest.raises(ValueError, match="supports the methods"):
        explain(contenders["early fusion"].model, inputs, "attention_rollout")
    with pytest.raises(ValueError, match="supports the methods"):
        explain(contenders["mome-mini"].model, inputs, "lime")
    with pytest.raises(ValueError, match="no explanations for"):
        explain(torch.nn.Linear(2, 2), inputs, "gradcam")
    assert "routing" in supported_methods(contenders["mome-mini"].model)
    assert set(METHODS["mri"]) < set(METHODS["mome-mini"])


def test_a_batch_of_the_wrong_shape_is_a_clear_error(contenders, mri_cases):
    inputs, _ = mri_cases
    model = contenders["mome-mini"].model
    with pytest.raises(ValueError, match=r"\(B, C, Z, Y, X\)"):
        explain(model, {m: v[0] for m, v in inputs.items()}, "gradcam")  # no batch axis
    with pytest.raises(ValueError, match="dict"):
        explain(model, inputs["dce"], "gradcam")
    with pytest.raises(ValueError, match="class index"):
        explain(model, inputs, "gradcam", target=2)


def test_a_missing_modality_is_explained_with_the_others():
    torch.manual_seed(0)
    model = create_model("mome-mini").eval()
    cohort = make_breast_mri_cohort(2, seed=3)
    inputs, _ = next(iter(DataLoader(BreastMRIDataset(cohort, modalities=("dce", "dwi")))))
    e = explain(model, inputs, "integrated_gradients", n_steps=4)
    assert set(e.per_modality) == {"dce", "dwi"}
    assert e.attribution.shape == (1, 16, 32, 32)


@pytest.mark.parametrize("method", METHODS["meddr-mini"])
def test_meddr_maps_are_over_the_image_and_explain_the_next_token(method):
    from medai_edu.data.instructions import make_image_cases
    from medai_edu.experiments.generalist import build_prompt, encode_example, load_generalist

    model, tokenizer, _ = load_generalist()
    cases = make_image_cases("ihc", 3, seed=4)
    ids, _ = encode_example(tokenizer, build_prompt("ihc", "is the stain dab positive?"))
    batch = {"images": torch.as_tensor(cases.images), "input_ids": torch.tensor([ids] * 3)}
    e = explain(model, batch, method, n_steps=4)
    assert e.attribution.shape == (3, 32, 32) and np.isfinite(e.attribution).all()
    with torch.no_grad():
        greedy = model(batch["images"], batch["input_ids"])["logits"][:, -1].argmax(-1)
    np.testing.assert_array_equal(e.target, greedy.numpy())
    if method != "occlusion":
        assert (e.attribution >= 0).all()


def test_a_meddr_batch_without_a_prompt_or_of_the_wrong_shape_is_a_clear_error():
    from medai_edu.experiments.generalist import load_generalist

    model, _, _ = load_generalist()
    with pytest.raises(ValueError, match="input_ids"):
        explain(model, {"images": torch.zeros(1, 3, 32, 32)}, "gradcam")
    with pytest.raises(ValueError, match=r"images must be \(batch, 3, 32, 32\)"):
        explain(model, {"images": torch.zeros(1, 32, 32), "input_ids": torch.ones(1, 4)}, "gradcam")
