"""One interface over the course's models: ``explain(model, batch, method=...)``.

An attribution says how much each part of the input moved the model's decision for one
class. Every method here returns it in the input's own geometry, so that it can be laid over
the image and scored against the ground truth the synthetic data carry:

* **breast MRI** (MOME-mini and the baselines): a map per modality, (B, Z, Y, X) voxels, and
  their sum; MOME-mini also has its attention rollout over patch tokens, the modality
  contributions (B, M) and the Soft-MoE routing (B, M, E);
* **slides** (mSTAR-mini): one score per tile, (B, N), with each tile's (row, col) on the
  slide's tile grid, so :meth:`Explanation.slide_heatmap` paints it in slide coordinates;
* **image and prompt** (MedDr-mini): a (B, s, s) map of the pixels behind the next token
  the model says (Grad-CAM on its vision encoder, Integrated Gradients, occlusion, and the
  rollout of its decoder's attention back to the visual tokens).

The gradient and perturbation methods come from captum (Grad-CAM ``LayerGradCam``,
``IntegratedGradients``, ``FeatureAblation`` for occlusion), not hand-written versions; the
attention read-outs are the models' own.

Each family's section ends with its adapter (:mod:`~medai_edu.explain.adapters`), registered
for the model classes it explains: :func:`explain` finds it by the model's class, so a new
model family needs a new section and its adapter, not a change here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import FeatureAblation, IntegratedGradients, LayerGradCam
from scipy import ndimage
from torch import nn

from medai_edu.explain.adapters import ModelAdapter, adapter_for, register_adapter
from medai_edu.models.baselines import MRICNN, DenseNet3D, LateFusion
from medai_edu.models.meddr import MedDrMini
from medai_edu.models.mome import CLS, MOMEMini, modality_contributions
from medai_edu.models.mstar import MSTARMini, TransMILAggregator
from medai_edu.train import device_of

#: The methods each model family supports ("mri": any model that takes a dict of MRI
#: volumes and returns a ``"malignant"`` logit, such as the baselines).
METHODS: dict[str, tuple[str, ...]] = {
    "mri": ("gradcam", "integrated_gradients", "occlusion"),
    "mome-mini": (
        "gradcam",
        "integrated_gradients",
        "occlusion",
        "attention_rollout",
        "modality_contributions",
        "routing",
    ),
    "mstar-mini": (
        "attention",
        "attention_rollout",
        "gradcam",
        "integrated_gradients",
        "occlusion",
    ),
    "meddr-mini": ("gradcam", "integrated_gradients", "occlusion", "attention_rollout"),
}

#: Side of the cubes (slices, rows, columns) that MRI occlusion hides at a time.
OCCLUSION_BLOCK = (4, 8, 8)
#: Side in pixels of the squares MedDr-mini's image occlusion hides (mid-grey) at a time.
IMAGE_OCCLUSION_BLOCK = 4


@dataclass
class Explanation:
    """What :func:`explain` returns.

    Attributes
    ----------
    method, family : str
    attribution : np.ndarray
        MRI: (B, Z, Y, X), the sum over modalities; slides: (B, N) per tile, NaN for padding;
        modality contributions: (B, M); routing: (B, M, E).
    target : np.ndarray, shape (B,)
        The class explained for each case (MRI: 1 malignant, 0 benign).
    per_modality : dict of str to np.ndarray
        MRI maps: modality -> (B, Z, Y, X).
    grid : np.ndarray or None, shape (B, N, 2)
        Slides: each tile's (row, col) on the tile grid, -1 for padding.
    axes : tuple of str
        Names of the attribution's axes.
    seconds : float
        Wall time :func:`explain` took for the whole batch.
    """

    method: str
    family: str
    attribution: np.ndarray
    target: np.ndarray
    per_modality: dict[str, np.ndarray] = field(default_factory=dict)
    grid: np.ndarray | None = None
    axes: tuple[str, ...] = ()
    seconds: float = 0.0

    def slide_heatmap(self, i: int) -> np.ndarray:
        """(rows, cols) map of slide ``i``'s tile scores on its tile grid, NaN where no tile
        was read (multiply by the tile size for level-0 pixel coordinates)."""
        if self.grid is None:
            raise ValueError(f"{self.method} on {self.family} has no slide geometry")
        keep = self.grid[i, :, 0] >= 0
        rows, cols = self.grid[i, keep].T
        heatmap = np.full((rows.max() + 1, cols.max() + 1), np.nan)
        heatmap[rows, cols] = self.attribution[i, keep]
        return heatmap


def model_family(model: nn.Module) -> str:
    """The key of :data:`METHODS` for ``model``; ValueError naming the supported models for
    a model that has no adapter."""
    return adapter_for(model).family


def supported_methods(model: nn.Module) -> tuple[str, ...]:
    """The methods :func:`explain` takes for ``model`` (see :data:`METHODS`)."""
    return adapter_for(model).methods


def explain(model: nn.Module, batch: dict, method: str, target=None, **options) -> Explanation:
    """Explain ``model``'s decision on ``batch`` with ``method``.

    Parameters
    ----------
    model : MOMEMini, MSTARMini, MedDrMini or a breast-MRI baseline (evaluation mode is set
        here).
    batch : dict
        MRI: modality -> (B, C, Z, Y, X) tensor (optionally ``"present"``); slides:
        ``tiles`` (B, N, 3, t, t) in [0, 1], ``tile_mask`` (B, N), ``grid`` (B, N, 2);
        MedDr-mini: ``images`` (B, 3, s, s) in [0, 1] and ``input_ids`` (B, T), the prompt
        (``<bos>`` and its tokens); the next token's logit is explained.
    method : str
        One of :func:`supported_methods` ``(model)``.
    target : int or array of int, optional
        The class to explain per case (MedDr-mini: the next token's id); the predicted one
        by default.
    options
        ``n_steps`` (integrated gradients, default 24).

    Raises
    ------
    ValueError
        For a model or method the other does not support, or a batch of the wrong shape.
    """
    adapter = adapter_for(model)
    if method not in adapter.methods:
        raise ValueError(f"{adapter.family} supports the methods {adapter.methods}, not {method!r}")
    model.eval()
    start = time.perf_counter()
    explanation = adapter.explain(model, batch, method, target, **options)
    explanation.seconds = time.perf_counter() - start
    return explanation


# --------------------------------------------------------------------------- breast MRI


def _mri_volumes(adapter, model, batch: dict) -> tuple[list[str], list[torch.Tensor]]:
    if not isinstance(batch, dict):
        raise ValueError("an MRI batch is a dict: modality -> (B, C, Z, Y, X) tensor")
    names = [m for m in batch if m != "present"]
    volumes = [torch.as_tensor(batch[m], dtype=torch.float32) for m in names]
    for name, volume in zip(names, volumes, strict=True):
        if volume.ndim != 5:
            raise ValueError(
                f"{name} must be a batch of volumes (B, C, Z, Y, X), got {tuple(volume.shape)}"
            )
    adapter.check_inputs(model, dict(zip(names, volumes, strict=True)))
    return names, volumes


def _malignant_score(model, names, present):
    """Forward function for captum: the target class's logit (``sign`` +1 malignant, -1
    benign), from the volumes as separate arguments."""

    def score(*args):
        *volumes, sign = args
        inputs = dict(zip(names, volumes, strict=True))
        if present is not None:
            inputs["present"] = present.repeat(len(volumes[0]) // len(present), 1)
        return model(inputs)["malignant"] * sign

    return score


def _explain_mri(adapter, model, batch, method, target, **options) -> Explanation:
    names, volumes = _mri_volumes(adapter, model, batch)
    present = batch.get("present")
    with torch.no_grad():
        logit = model({**dict(zip(names, volumes, strict=True)), **_present(present)})["malignant"]
    target = _targets(target, (logit > 0).long(), classes=2)
    sign = target.float() * 2 - 1
    score = _malignant_score(model, names, present)
    shape = tuple(volumes[0].shape[2:])
    if method in ("modality_contributions", "routing"):
        inputs = {**dict(zip(names, volumes, strict=True)), **_present(present)}
        return adapter.read_out(model, inputs, method, target, sign)
    if method == "gradcam":
        maps = _gradcam_mri(adapter.gradcam_layers(model, names), score, volumes, sign, shape)
    elif method == "integrated_gradients":
        ig = IntegratedGradients(score)
        attributions = ig.attribute(
            tuple(volumes),
            baselines=tuple(torch.zeros_like(v) for v in volumes),
            additional_forward_args=(sign,),
            n_steps=options.get("n_steps", 24),
            internal_batch_size=options.get("internal_batch_size", 64),
        )
        maps = {m: a.sum(1).abs() for m, a in zip(names, attributions, strict=True)}
    elif method == "occlusion":
        maps = _occlusion_mri(score, names, volumes, sign)
    else:  # attention_rollout
        maps = adapter.rollout(model, names, volumes, present, shape)
    per_modality = {m: v.detach().numpy() for m, v in maps.items()}
    total = sum(per_modality.values())
    return Explanation(
        method, adapter.family, total, target.numpy(), per_modality, axes=("case", "z", "y", "x")
    )


def _present(present) -> dict:
    return {} if present is None else {"present": present}


def _targets(target, predicted: torch.Tensor, classes: int) -> torch.Tensor:
    if target is None:
        return predicted
    target = torch.as_tensor(target, dtype=torch.long).expand(len(predicted)).clone()
    if ((target < 0) | (target >= classes)).any():
        raise ValueError(f"target must be a class index in 0..{classes - 1}, got {target}")
    return target


def _gradcam_mri(layers, score, volumes, sign, shape) -> dict[str, torch.Tensor]:
    """Grad-CAM of each of ``layers`` (name -> module; the adapter's choice), trilinearly
    upsampled to the volumes' (Z, Y, X)."""
    maps = {}
    for name, layer in layers.items():
        cam = LayerGradCam(score, layer).attribute(
            tuple(volumes), additional_forward_args=(sign,), relu_attributions=True
        )
        maps[name] = F.interpolate(cam, size=shape, mode="trilinear").squeeze(1)
    return maps


#: Gaussian sigma (slices, rows, columns; voxels) of the blur that hides a region.
HIDE_SIGMA = (1.0, 3.0, 3.0)


def blurred_baseline(volume: torch.Tensor) -> torch.Tensor:
    """What a hidden voxel becomes: the volume blurred by :data:`HIDE_SIGMA` (each case and
    channel), so a small lesion fades into its surroundings. Not 0: an ADC of 0 is the most
    restricted diffusion there is, a sign of malignancy; and a volume with no lesion at all
    is outside anything the model has seen."""
    sigma = (0, 0, *HIDE_SIGMA)
    return torch.from_numpy(ndimage.gaussian_filter(volume.detach().numpy(), sigma=sigma))


def _occlusion_mri(score, names, volumes, sign) -> dict[str, torch.Tensor]:
    """Hide one block of every modality at a time (captum's FeatureAblation with the same
    feature id across modalities, its :func:`blurred_baseline` in its place): the drop in the
    target's logit. The block values are
    then spread over the voxels by trilinear interpolation from the blocks' centres, so the
    map's peak is where the evidence is densest, not a block's corner."""
    shape = volumes[0].shape[2:]
    cells = [torch.arange(s) // b for s, b in zip(shape, OCCLUSION_BLOCK, strict=True)]
    per_axis = [int(c.max()) + 1 for c in cells]
    block = (
        cells[0][:, None, None] * per_axis[1] * per_axis[2]
        + cells[1][None, :, None] * per_axis[2]
        + cells[2][None, None, :]
    )
    masks = tuple(block.expand(1, v.shape[1], *shape) for v in volumes)
    attributions = FeatureAblation(score).attribute(
        tuple(volumes),
        baselines=tuple(blurred_baseline(v) for v in volumes),
        additional_forward_args=(sign,),
        feature_mask=masks,
        perturbations_per_eval=64,
    )
    coarse = attributions[0][
        :, :1, :: OCCLUSION_BLOCK[0], :: OCCLUSION_BLOCK[1], :: OCCLUSION_BLOCK[2]
    ]
    return {"all": F.interpolate(coarse, size=tuple(shape), mode="trilinear").squeeze(1)}


def _rollout_mri(model, names, volumes, present, shape) -> dict[str, torch.Tensor]:
    """Attention rollout (Abnar & Zuidema, 2020) through MOME-mini's multiway and fusion
    blocks: the CLS token's share of every patch token, spread over the patch's voxels."""
    with torch.no_grad():
        model({**dict(zip(names, volumes, strict=True)), **_present(present)})
    blocks = [*model.multiway, *model.fusion]
    rollout = None
    for block in blocks:
        attention = block.attn.last_weights.mean(1)  # (B, T, T)
        eye = torch.eye(attention.shape[-1])
        attention = 0.5 * attention + 0.5 * eye  # the residual connection
        attention = attention / attention.sum(-1, keepdim=True)
        rollout = attention if rollout is None else attention @ rollout
    cls_row = rollout[:, 0]
    cfg = model.config
    patches = [s // p for s, p in zip(cfg.image_size, cfg.patch_size, strict=True)]
    given = [m for m in cfg.modalities if m in names]
    token_modality = torch.cat(
        [torch.full((1,), CLS)]
        + [torch.full((cfg.tokens_per_modality,), i) for i in range(len(given))]
    )
    maps = {}
    for index, m in enumerate(given):
        grid = cls_row[:, token_modality == index].reshape(-1, 1, *patches)
        maps[m] = F.interpolate(grid, size=shape, mode="trilinear").squeeze(1)
    return maps


def _mome_read_out(model, inputs, method, target, sign) -> Explanation:
    """MOME-mini's own read-outs: each modality's contribution to the target's logit (B, M),
    or the Soft-MoE routing's expert usage per modality (B, M, E)."""
    if method == "modality_contributions":
        values = modality_contributions(model, inputs) * sign[:, None]
        axes = ("case", "modality")
    else:
        with torch.no_grad():
            values = model(inputs)["expert_usage"]
        axes = ("case", "modality", "expert")
    return Explanation(method, "mome-mini", values.numpy(), target.numpy(), axes=axes)


@register_adapter(MRICNN, DenseNet3D, LateFusion)
class MRIAdapter(ModelAdapter):
    """Breast-MRI models: a dict of volumes in, a ``"malignant"`` logit out; Grad-CAM reads
    the network's last 3D convolution."""

    family = "mri"
    methods = METHODS[family]

    def explain(self, model, batch, method, target, **options) -> Explanation:
        return _explain_mri(self, model, batch, method, target, **options)

    def check_inputs(self, model, inputs: dict[str, torch.Tensor]) -> None:
        """Nothing beyond the shapes :func:`_mri_volumes` checks."""

    def gradcam_layers(self, model, names: list[str]) -> dict[str, nn.Module]:
        last = [module for module in model.modules() if isinstance(module, nn.Conv3d)][-1]
        return {"all": last}

    def rollout(self, model, names, volumes, present, shape) -> dict[str, torch.Tensor]:
        raise ValueError(f"attention rollout needs a transformer, not {type(model).__name__}")

    def read_out(self, model, inputs, method, target, sign) -> Explanation:
        raise ValueError(f"{method} is a read-out of MOME-mini, not {type(model).__name__}")


@register_adapter(MOMEMini)
class MOMEAdapter(MRIAdapter):
    """MOME-mini: its own input checks, one Grad-CAM per modality (its stems are separate),
    attention rollout and its read-outs (modality contributions, routing)."""

    family = "mome-mini"
    methods = METHODS[family]

    def check_inputs(self, model, inputs: dict[str, torch.Tensor]) -> None:
        model._check_inputs(inputs)

    def gradcam_layers(self, model, names: list[str]) -> dict[str, nn.Module]:
        return {m: model.embed[m].proj[4] for m in names}  # the last 3x3x3 convolution

    def rollout(self, model, names, volumes, present, shape) -> dict[str, torch.Tensor]:
        return _rollout_mri(model, names, volumes, present, shape)

    def read_out(self, model, inputs, method, target, sign) -> Explanation:
        return _mome_read_out(model, inputs, method, target, sign)


# --------------------------------------------------------------------------- slides


def _slide_inputs(model: MSTARMini, batch: dict):
    """tiles, tile_mask and grid, checked and moved to where the model is (CPU or GPU)."""
    if not isinstance(batch, dict) or "tiles" not in batch:
        raise ValueError("a slide batch is a dict with tiles (B, N, 3, t, t), tile_mask, grid")
    tiles = torch.as_tensor(batch["tiles"], dtype=torch.float32)
    t = model.config.tile_size
    if tiles.ndim != 5 or tuple(tiles.shape[2:]) != (3, t, t):
        raise ValueError(f"tiles must be (slides, tiles, 3, {t}, {t}), got {tuple(tiles.shape)}")
    b, n = tiles.shape[:2]
    mask = batch.get("tile_mask")
    mask = torch.ones(b, n, dtype=torch.bool) if mask is None else torch.as_tensor(mask).bool()
    grid = batch.get("grid")
    if mask.shape != (b, n) or (grid is not None and tuple(grid.shape) != (b, n, 2)):
        raise ValueError(f"tile_mask must be ({b}, {n}) and grid ({b}, {n}, 2)")
    device = device_of(model)
    grid = None if grid is None else torch.as_tensor(grid).to(device)
    return tiles.to(device), mask.to(device), grid


def _explain_slides(model, batch, method, target, **options) -> Explanation:
    tiles, mask, grid = _slide_inputs(model, batch)
    with torch.no_grad():
        out = model({"tiles": tiles, "tile_mask": mask, "grid": grid})
    target = _targets(target, out["logits"].argmax(-1), classes=model.config.n_classes)
    target = target.to(tiles.device)

    def score(tiles_, mask_, grid_, presence=None):
        keep = mask_ if presence is None else mask_ & (presence > 0.5)
        logits = model({"tiles": tiles_, "tile_mask": keep, "grid": grid_})["logits"]
        return logits.gather(1, target.repeat(len(logits) // len(target))[:, None])[:, 0]

    if method == "attention" and not isinstance(model.aggregator, TransMILAggregator):
        per_tile = out["attention"]  # ABMIL's gated attention weights
    elif method == "attention":  # the slide (CLS) token's attention in the last layer
        per_tile = _transmil_attention(model, tiles, mask, grid)[0]
    elif method == "attention_rollout":
        per_tile = _transmil_attention(model, tiles, mask, grid)[1]
    elif method == "integrated_gradients":
        ig = IntegratedGradients(lambda x, m, g: score(x, m, g))
        attribution = ig.attribute(
            tiles,
            baselines=torch.zeros_like(tiles),
            additional_forward_args=(mask, grid),
            n_steps=options.get("n_steps", 16),
            internal_batch_size=options.get("internal_batch_size", len(tiles)),
        )
        per_tile = attribution.sum(2).abs().sum((-1, -2))
    elif method == "gradcam":
        layer = model.patch_encoder.net[-3]  # GELU after the last convolution
        cam = LayerGradCam(lambda x, m, g: score(x, m, g), layer).attribute(
            tiles, additional_forward_args=(mask, grid), relu_attributions=True
        )
        per_tile = torch.zeros(mask.shape, device=mask.device)
        per_tile[mask] = cam.mean((1, 2, 3))  # Grad-CAM of each encoded tile, averaged
    else:  # occlusion: drop one tile from the bag at a time
        ablation = FeatureAblation(lambda p, x, m, g: score(x, m, g, p))
        presence = torch.ones(mask.shape, device=mask.device)
        per_tile = ablation.attribute(
            presence,
            baselines=0.0,
            additional_forward_args=(tiles, mask, grid),
            perturbations_per_eval=1,
        )
    per_tile = per_tile.detach().float().masked_fill(~mask, float("nan")).cpu()
    grid_np = None if grid is None else grid.cpu().numpy()
    return Explanation(
        method,
        "mstar-mini",
        per_tile.numpy(),
        target.cpu().numpy(),
        grid=grid_np,
        axes=("case", "tile"),
    )


@torch.no_grad()
def _transmil_attention(model: MSTARMini, tiles, mask, grid):
    """The TransMIL aggregator's attention from the slide (CLS) token to each tile (B, N):
    in its last layer (averaged over heads), and rolled out through all its layers."""
    aggregator = model.aggregator
    if not isinstance(aggregator, TransMILAggregator):
        raise ValueError("attention rollout needs the TransMIL aggregator (abmil has one layer)")
    features = model.encode_tiles(tiles, mask)
    b = features.shape[0]
    keep = torch.cat([mask.new_ones(b, 1), mask], dim=1)
    x, rollout = features, None
    for i, layer in enumerate(aggregator.layers):
        if i == 1 and grid is not None:
            x = torch.cat([x[:, :1], aggregator.ppeg(x[:, 1:], grid)], dim=1)
        if i == 0:
            x = torch.cat([aggregator.cls.expand(b, -1, -1), x], dim=1)
        h = layer.norm1(x)
        _, last = layer.self_attn(h, h, h, key_padding_mask=~keep, need_weights=True)
        eye = torch.eye(last.shape[-1], device=last.device)
        weights = 0.5 * last + 0.5 * eye  # the residual connection
        weights = weights / weights.sum(-1, keepdim=True)
        rollout = weights if rollout is None else weights @ rollout
        x = layer(x, src_key_padding_mask=~keep)
    return last[:, 0, 1:], rollout[:, 0, 1:]


@register_adapter(MSTARMini)
class SlideAdapter(ModelAdapter):
    """mSTAR-mini: one score per tile, in slide geometry."""

    family = "mstar-mini"
    methods = METHODS[family]

    def explain(self, model, batch, method, target, **options) -> Explanation:
        return _explain_slides(model, batch, method, target, **options)


# --------------------------------------------------------------------------- MedDr-mini


def _explain_image_text(model: MedDrMini, batch, method, target, **options) -> Explanation:
    """Which pixels made MedDr-mini say its next token (e.g. the first word of its
    diagnosis) after the prompt: a (B, s, s) map over the image."""
    if not isinstance(batch, dict) or {"images", "input_ids"} - set(batch):
        raise ValueError("a MedDr-mini batch is a dict with images (B, 3, s, s) and input_ids")
    images = torch.as_tensor(batch["images"], dtype=torch.float32)
    ids = torch.as_tensor(batch["input_ids"], dtype=torch.long)
    model.check_images(images)
    if ids.ndim != 2 or len(ids) != len(images):
        raise ValueError(f"input_ids must be ({len(images)}, T), got {tuple(ids.shape)}")
    with torch.no_grad():
        next_logits = model(images, ids)["logits"][:, -1]
    target = _targets(target, next_logits.argmax(-1), classes=model.config.vocab_size)

    def score(pictures, ids_):
        logits = model(pictures, ids_)["logits"][:, -1]
        return logits.gather(1, target.repeat(len(logits) // len(target))[:, None])[:, 0]

    size = tuple(images.shape[-2:])
    if method == "gradcam":
        cam = LayerGradCam(score, model.vision.net[-1]).attribute(
            images, additional_forward_args=(ids,), relu_attributions=True
        )
        attribution = F.interpolate(cam, size=size, mode="bilinear")[:, 0]
    elif method == "integrated_gradients":
        attribution = IntegratedGradients(score).attribute(
            images,
            baselines=torch.full_like(images, 0.5),  # mid-grey: the course's "no image"
            additional_forward_args=(ids,),
            n_steps=options.get("n_steps", 24),
        )
        attribution = attribution.sum(1).abs()
    elif method == "occlusion":
        block = IMAGE_OCCLUSION_BLOCK
        cells = torch.arange(size[0])[:, None] // block * (size[1] // block)
        mask = (cells + torch.arange(size[1])[None] // block).expand(1, 3, *size)
        attribution = FeatureAblation(score).attribute(
            images, baselines=0.5, additional_forward_args=(ids,), feature_mask=mask
        )[:, 0]
    else:  # attention_rollout: from the last text position back to the visual tokens
        attribution = _rollout_visual_tokens(model, images, ids, size)
    return Explanation(
        method,
        "meddr-mini",
        attribution.detach().numpy(),
        target.numpy(),
        axes=("case", "y", "x"),
    )


@torch.no_grad()
def _rollout_visual_tokens(model: MedDrMini, images, ids, size) -> torch.Tensor:
    model(images, ids)
    rollout = None
    for block in model.decoder.blocks:
        attention = block.attn.last_weights.mean(1)
        attention = 0.5 * attention + 0.5 * torch.eye(attention.shape[-1])
        attention = attention / attention.sum(-1, keepdim=True)
        rollout = attention if rollout is None else attention @ rollout
    n = model.config.n_visual_tokens
    side = int(round(n**0.5))
    visual = rollout[:, -1, :n].reshape(-1, 1, side, side)
    return F.interpolate(visual, size=size, mode="bilinear")[:, 0]


@register_adapter(MedDrMini)
class ImageTextAdapter(ModelAdapter):
    """MedDr-mini: a map over the image of what made it say its next token."""

    family = "meddr-mini"
    methods = METHODS[family]

    def explain(self, model, batch, method, target, **options) -> Explanation:
        return _explain_image_text(model, batch, method, target, **options)
