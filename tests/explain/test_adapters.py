"""The adapter registry behind explain(): lookup along the model's class hierarchy, a clear
error naming the supported models, and a new model family added without touching explain."""

import numpy as np
import pytest
import torch
from torch import nn

from medai_edu.explain import Explanation, ModelAdapter, adapters, explain, register_adapter
from medai_edu.explain.adapters import adapter_for, supported_models
from medai_edu.explain.attribution import model_family, supported_methods
from medai_edu.models.baselines import MRICNN
from medai_edu.models.mome import MOMEMini


def test_every_course_model_family_has_its_adapter():
    assert {"MOMEMini", "MSTARMini", "MedDrMini", "MRICNN", "DenseNet3D", "LateFusion"} <= set(
        supported_models()
    )
    assert adapter_for(MOMEMini()).family == "mome-mini"
    assert "routing" in supported_methods(MOMEMini())
    assert model_family(MRICNN()) == "mri"


def test_a_subclass_is_explained_like_its_parent():
    class WiderMOME(MOMEMini):
        pass

    assert adapter_for(WiderMOME()) is adapter_for(MOMEMini())


def test_an_unknown_model_is_a_clear_error_naming_the_supported_models():
    with pytest.raises(ValueError, match="no explanations for Linear.*MOMEMini.*MSTARMini"):
        explain(nn.Linear(2, 2), {"x": torch.zeros(1, 2)}, "gradcam")


def test_a_model_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already has an explanation adapter"):
        register_adapter(MOMEMini)(ModelAdapter)
    with pytest.raises(ValueError, match="at least one model class"):
        register_adapter()


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x):
        return self.linear(x)


def test_a_new_family_plugs_in_through_its_adapter(monkeypatch):
    monkeypatch.setattr(adapters, "_ADAPTERS", dict(adapters._ADAPTERS))

    @register_adapter(_Toy)
    class ToyAdapter(ModelAdapter):
        family, methods = "toy", ("gradient",)

        def explain(self, model, batch, method, target, **options):
            x = batch["x"].clone().requires_grad_(True)
            model(x)[:, 1].sum().backward()
            return Explanation(method, self.family, x.grad.numpy(), np.ones(len(x), int))

    e = explain(_Toy(), {"x": torch.ones(3, 4)}, "gradient")
    assert e.family == "toy" and e.attribution.shape == (3, 4) and e.seconds > 0
    with pytest.raises(ValueError, match=r"toy supports the methods \('gradient',\)"):
        explain(_Toy(), {"x": torch.ones(3, 4)}, "occlusion")
