"""Baselines for breast mpMRI fusion, built from MONAI networks.

- ``mri-cnn``: a small 3D CNN of MONAI residual units with global max pooling, on one
  modality, or on several stacked as channels (**early fusion**). A missing modality is
  filled with zeros, the usual (and brittle) way early fusion copes.
- :class:`LateFusion`: average the malignancy logits of single-modality models over the
  modalities a case has (**late fusion**); it degrades gracefully when one is missing.
- ``densenet121-3d``: MONAI's DenseNet121 in 3D on all modalities stacked, the standard
  heavyweight baseline; volumes are zero-padded to >= 32 voxels per side, its minimum.

Inputs follow MOME-mini's: dict modality -> (B, C_m, Z, Y, X). Outputs: {"malignant": (B,)}.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.networks.blocks import ResidualUnit
from monai.networks.nets import DenseNet121
from torch import nn

from medai_edu.models.registry import register_model
from medai_edu.vocabulary import MRI_SEQUENCES

CHANNELS = {"dce": 5, "t2": 1, "dwi": 3}


def _stack(inputs: dict, modalities: tuple[str, ...], channels: dict[str, int]) -> torch.Tensor:
    """Concatenate the modalities' channels; zeros for a missing one (absent or not present)."""
    given = [m for m in modalities if m in inputs]
    if not given:
        raise ValueError(f"none of the modalities {modalities} is in the inputs")
    reference = inputs[given[0]]
    present = inputs.get("present")
    parts = []
    for index, m in enumerate(modalities):
        if m in inputs:
            x = inputs[m]
            if x.ndim != 5 or x.shape[1] != channels[m]:
                raise ValueError(
                    f"{m} must be (batch, {channels[m]}, Z, Y, X), got {tuple(x.shape)}"
                )
            if present is not None:
                x = x * present[:, index, None, None, None].to(x.dtype)
        else:
            x = reference.new_zeros(reference.shape[0], channels[m], *reference.shape[2:])
        parts.append(x)
    return torch.cat(parts, dim=1)


class MRICNN(nn.Module):
    """A small 3D CNN on the stacked channels of ``modalities``.

    MONAI residual units (conv, instance norm, PReLU), each halving the resolution, then a
    global max pool: the lesion may be anywhere, so position must not matter.
    """

    def __init__(self, modalities=MRI_SEQUENCES, channels=(16, 32, 64), dropout=0.1):
        super().__init__()
        self.modalities = tuple(modalities)
        self.channels = {m: CHANNELS[m] for m in self.modalities}
        layers, previous = [], sum(self.channels.values())
        for width in channels:
            layers.append(ResidualUnit(3, previous, width, strides=2, subunits=2, dropout=dropout))
            previous = width
        self.features = nn.Sequential(*layers, nn.AdaptiveMaxPool3d(1), nn.Flatten())
        self.head = nn.Linear(previous, 1)

    def forward(self, inputs: dict) -> dict[str, torch.Tensor]:
        return {"malignant": self.head(self.embed(inputs)).squeeze(-1)}

    def embed(self, inputs: dict) -> torch.Tensor:
        """(B, C) the max-pooled features the head reads (for probes and task heads)."""
        return self.features(_stack(inputs, self.modalities, self.channels))


class LateFusion(nn.Module):
    """Mean malignancy logit of per-modality models over each case's available modalities."""

    def __init__(self, members: dict[str, nn.Module]):
        super().__init__()
        self.members = nn.ModuleDict(members)

    def forward(self, inputs: dict) -> dict[str, torch.Tensor]:
        names = list(self.members)
        given = [m for m in names if m in inputs]
        if not given:
            raise ValueError(f"late fusion needs at least one of {names}")
        batch = inputs[given[0]].shape[0]
        present = inputs.get("present")
        total = torch.zeros(batch, device=inputs[given[0]].device)
        count = torch.zeros(batch, device=total.device)
        for m in given:
            available = torch.ones(batch, device=total.device)
            if present is not None:
                available = present[:, names.index(m)].float()
            total = total + available * self.members[m]({m: inputs[m]})["malignant"]
            count = count + available
        if (count == 0).any():
            raise ValueError("a case has no modality present")
        return {"malignant": total / count}


class DenseNet3D(nn.Module):
    """MONAI DenseNet121 (3D) on all modalities stacked, zero-padded to >= 32 per side."""

    def __init__(self, modalities=MRI_SEQUENCES, min_side: int = 32):
        super().__init__()
        self.modalities = tuple(modalities)
        self.channels = {m: CHANNELS[m] for m in self.modalities}
        self.min_side = min_side
        self.net = DenseNet121(
            spatial_dims=3, in_channels=sum(self.channels.values()), out_channels=1
        )

    def forward(self, inputs: dict) -> dict[str, torch.Tensor]:
        x = _stack(inputs, self.modalities, self.channels)
        pad = []
        for side in reversed(x.shape[2:]):
            extra = max(self.min_side - side, 0)
            pad += [extra // 2, extra - extra // 2]
        return {"malignant": self.net(F.pad(x, pad)).squeeze(-1)}


def malignancy_loss(outputs: dict, targets: dict) -> torch.Tensor:
    """Binary cross-entropy of the malignancy logit."""
    return F.binary_cross_entropy_with_logits(outputs["malignant"], targets["malignant"].float())


@register_model("mri-cnn")
def mri_cnn(**config) -> MRICNN:
    """One modality (``modalities=("t2",)``) or early fusion of several (the default)."""
    return MRICNN(**config)


@register_model("densenet121-3d")
def densenet121_3d(**config) -> DenseNet3D:
    return DenseNet3D(**config)
