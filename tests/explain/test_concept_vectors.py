"""TCAV (medai_edu.explain.concept_vectors)."""

import numpy as np
import pytest
import torch
from torch import nn

from medai_edu.explain.concept_models import mri_concept_features
from medai_edu.explain.concept_vectors import (
    concept_activation_vector,
    directional_derivatives,
    layer_activations,
    tcav,
    tcav_score,
)


class _UsesFirstDirection(nn.Module):
    """A model whose logit rises with the first activation everywhere, and wiggles with
    the others (so the gradients differ between cases)."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Identity()

    def forward(self, x):
        h = self.layer(x)
        return {"logit": 2 * h[:, 0] + torch.sin(3 * h[:, 1:]).sum(1)}


def test_tcav_finds_a_used_concept_and_not_a_random_one():
    model = _UsesFirstDirection()
    generator = torch.Generator().manual_seed(0)
    cases = torch.randn(200, 6, generator=generator)
    with_concept = torch.randn(60, 6, generator=generator) + torch.tensor([2.0, 0, 0, 0, 0, 0])
    without = torch.randn(60, 6, generator=generator)

    def target(out):
        return out["logit"]

    used = tcav(model, model.layer, with_concept, without, cases, target, seed=0)
    assert used["score"] > 0.95 and used["significant"] and used["cav_accuracy"] > 0.8
    assert 0.2 < used["random_score"] < 0.8
    other = torch.randn(60, 6, generator=generator)
    random = tcav(model, model.layer, other, without, cases, target, seed=0)
    assert not random["significant"] and 0.2 < random["score"] < 0.8

    cav = concept_activation_vector(with_concept.numpy(), without.numpy())
    assert cav[0] > 0.9 and np.linalg.norm(cav) == pytest.approx(1)
    derivatives = directional_derivatives(model, model.layer, cases, cav, target)
    assert derivatives.shape == (200,) and tcav_score(derivatives) > 0.95
    assert layer_activations(model, model.layer, cases[:7]).shape == (7, 6)
    with pytest.raises(ValueError, match="dimensions"):
        directional_derivatives(model, model.layer, cases, cav[:3], target)
    with pytest.raises(ValueError, match=">= 2 examples"):
        concept_activation_vector(with_concept[:1].numpy(), without.numpy())


def test_tcav_on_the_shipped_mome_mini(small_cohort):
    """Washout kinetics push MOME-mini towards malignancy, persistent kinetics away."""
    from medai_edu.experiments.breast_fusion import load_contenders

    model = load_contenders()["mome-mini"].model.eval()
    cohort = small_cohort
    inputs = next(iter(_batches(cohort)))
    malignant = torch.as_tensor(cohort.malignant == 1)

    def pick(mask):
        return {k: v[torch.as_tensor(mask)] for k, v in inputs.items()}

    def target(out):
        return out["malignant"]

    washout = cohort.kinetic == 2
    layer = model.embed["dce"]
    result = tcav(model, layer, pick(washout), pick(~washout), pick(malignant), target)
    assert result["score"] > 0.8 and result["significant"]
    assert 0.2 < result["random_score"] < 0.8
    persistent = cohort.kinetic == 0
    result = tcav(model, layer, pick(persistent), pick(~persistent), pick(malignant), target)
    assert result["score"] < 0.2 and result["significant"]
    features = mri_concept_features(model, cohort.subset(np.arange(6)))
    assert features.shape == (6, 4 * model.config.dim)
    with torch.no_grad():  # the pCR head reads exactly these features
        pcr = model({k: v[:6] for k, v in inputs.items()})["pcr"]
        by_hand = model.heads["pcr"](torch.from_numpy(features)).squeeze(-1)
        assert torch.allclose(by_hand, pcr, atol=1e-5)


def _batches(cohort):
    from medai_edu.explain.concept_models import _mri_batches

    return _mri_batches(cohort, batch_size=len(cohort))
