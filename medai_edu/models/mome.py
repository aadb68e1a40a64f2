"""MOME-mini: a mixture of modality experts for multiparametric breast MRI, at toy width.

After MOME (Luo et al., arXiv 2408.12606; code LLYXC/MOME, MIT), which fine-tunes a BEiT-3
style multiway transformer on DCE, T2 and DWI volumes. The mini version keeps its structure:

1. one 3D patch embedding per modality (DCE phases as channels; T2; DWI b-values and ADC),
   plus a position and a modality embedding, and a shared CLS token;
2. **multiway blocks**: self-attention whose mask keeps each modality's tokens attending only
   within their modality (the CLS token sees all), then a feed-forward "adapter" chosen by the
   token's modality;
3. **fusion blocks**: attention across all modalities, then one shared **Soft-MoE** layer
   (Puigcerver et al., 2023): every expert slot is a softmax-weighted mix of all tokens
   (dispatch), and every token a softmax-weighted mix of all slot outputs (combine);
4. a malignancy head on the CLS token; pCR and molecular-subtype heads on the CLS and every
   modality's pooled tokens.

Where it departs from MOME, and why. MOME fine-tunes a pretrained BEiT-3 on full-size
volumes; MOME-mini trains every weight from scratch in about a minute on two CPU cores. What
is said of MOME below is from the paper (arXiv 2408.12606) and its released code
(LLYXC/MOME); everything else describes MOME-mini only.

* **Stem.** MOME embeds each sequence with a trainable 3D convolutional stem (strided 3x3x3
  convolutions on the full-resolution volume, then a max pool). MOME-mini's stem
  (:class:`PatchEmbed3d`) is smaller: by default (``stem="strided"``) a 3x3x3 convolution
  strided 2x2 in-plane on the full-resolution voxels, so it sees the edges that tell a
  spiculated margin from a circumscribed one, with instance norm after each convolution.
  ``stem="pool"`` (the first version) averages 2x2 in-plane voxels (2 mm to 4 mm) before any
  filter sees them, which blurs those edges. The stem keeps each feature's maximum over its
  8x8x8-voxel patch (32 tokens per modality), so a lesion stands out in its token.
* **Soft-MoE replaces the feed-forward layer.** MOME keeps BEiT-3's feed-forward networks and
  adds small adapters beside them (per-modality adapters in the early layers, a Soft-MoE
  adapter in the late ones). MOME-mini has no separate feed-forward network: the
  per-modality MLPs and the Soft-MoE *are* the blocks' feed-forward layers.
* **The CLS token sees every modality in the multiway blocks.** There, MOME-mini's
  attention mask keeps each modality's tokens within their modality, but lets the shared CLS
  token attend to all tokens.
* **Tasks.** MOME's code fine-tunes one task per run (diagnosis, treatment response or
  subtype) with a cosine learning-rate schedule. MOME-mini's recipe
  (:func:`medai_edu.experiments.train_model`) trains the backbone on malignancy alone
  (``mome_loss(..., tasks=("malignant",))``), one epoch of warm-up then a cosine decay;
  the pCR and subtype heads are then fitted as linear heads on the frozen backbone
  (:func:`medai_edu.experiments.fit_task_heads`), pCR on a neoadjuvant cohort. They read the
  CLS state and every modality's pooled tokens, not the CLS alone.
* **Not pretrained.** MOME starts from a BEiT-3 pretrained on millions of images and
  texts; MOME-mini learns every weight from a few thousand synthetic cases.
* all modalities share one position embedding: the sequences are co-registered;
* residual branches start small (LayerScale, as in BEiT), so early training does not scramble
  the stem's features;
* no final LayerNorm on the CLS token (see :meth:`MOMEMini.forward`);
* each modality expert also has its own malignancy logit, from the maximum of its tokens
  after the multiway blocks; it is trained (deep supervision, in :func:`mome_loss`) and the
  mean over the modalities a case has is added to the CLS head's logit, so every modality
  counts from the first step and the fused CLS learns what they miss together;
* modality dropout while training (``modality_dropout``, 0.1 by default: about 27 % of
  training cases lose at least one of three modalities).

A case may lack any modality: an absent modality's tokens are dropped (not computed), and a
modality marked missing for some cases in a batch (``inputs["present"]``) is masked out of
attention and dispatch, so it changes nothing downstream. Modality dropout during training
teaches the model to cope.

Inputs: dict modality -> (B, C_m, Z, Y, X) float, optionally ``present``: (B, M) bool.
Outputs: dict with ``malignant`` (B,) and ``pcr`` (B,) logits, ``subtype`` (B, S) logits,
``modality_malignant`` (B, M): each modality expert's own logit (NaN where absent),
``cls_attention`` (B, M): the CLS token's last attention mass per modality, and
``expert_usage`` (B, M, E): each modality's mean Soft-MoE combine weight per expert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from medai_edu.models.registry import register_model
from medai_edu.vocabulary import MRI_SEQUENCES

CLS = -1  # token-modality index of the CLS token
STEMS = ("pool", "strided")  # how the convolutional stem reduces the voxels (PatchEmbed3d)
TASKS = ("malignant", "pcr", "subtype")  # the heads mome_loss can train


@dataclass
class MOMEConfig:
    """Sizes of MOME-mini. ``image_size`` must be divisible by ``patch_size``."""

    modalities: tuple[str, ...] = MRI_SEQUENCES
    in_channels: tuple[int, ...] = (5, 1, 3)
    image_size: tuple[int, int, int] = (16, 32, 32)
    patch_size: tuple[int, int, int] = (8, 8, 8)
    stem_channels: int = 16
    stem_pool: tuple[int, int, int] = (1, 2, 2)
    stem: str = "strided"
    stem_norm: bool = True
    dim: int = 64
    heads: int = 4
    mlp_ratio: float = 2.0
    multiway_depth: int = 1
    fusion_depth: int = 1
    experts: int = 4
    slots_per_expert: int = 4
    subtypes: int = 4
    dropout: float = 0.1
    layer_scale: float = 0.1
    modality_dropout: float = 0.1

    def __post_init__(self):
        self.modalities, self.in_channels = tuple(self.modalities), tuple(self.in_channels)
        self.image_size, self.patch_size = tuple(self.image_size), tuple(self.patch_size)
        if len(self.modalities) != len(self.in_channels):
            raise ValueError("modalities and in_channels must have the same length")
        if any(s % p for s, p in zip(self.image_size, self.patch_size, strict=True)):
            raise ValueError(f"image_size {self.image_size} is not divisible by {self.patch_size}")
        if self.fusion_depth < 1:
            raise ValueError(
                "MOME-mini needs at least one fusion block (its read-outs use the last)"
            )
        if self.stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {self.stem!r}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")

    @property
    def tokens_per_modality(self) -> int:
        return math.prod(s // p for s, p in zip(self.image_size, self.patch_size, strict=True))


# --------------------------------------------------------------------------- building blocks


class PatchEmbed3d(nn.Module):
    """Embed each non-overlapping 3D patch of a volume as a token.

    Plain ViT patchify (a strided convolution) when ``stem_channels`` is 0. Otherwise a small
    convolutional stem (as in hybrid ViTs): a 3x3x3 convolution, a 2x max pool, another 3x3x3
    convolution, then the maximum of each feature over the rest of the patch and a 1x1x1
    projection to the token. The lesion then stands out in its patch's token, which lets a toy
    transformer learn in seconds where MOME starts from a pretrained BEiT-3.

    stem: how the first convolution reduces the voxels by ``stem_pool``. "pool" averages
        ``stem_pool`` voxels first (cheap on a CPU, but the filter then sees 4 mm voxels, in
        which a lesion's sharp or blurred edge looks much the same); "strided" runs the first
        convolution on the full-resolution voxels with stride ``stem_pool``, so it sees the
        edges. Both give the same token grid and the same parameter names and shapes.
    """

    def __init__(
        self,
        in_channels,
        dim,
        patch_size,
        stem_channels=0,
        stem_pool=(1, 1, 1),
        stem="pool",
        stem_norm=False,
    ):
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if not stem_channels:
            self.proj = nn.Conv3d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
            return
        rest = tuple(p // (s * 2) for p, s in zip(patch_size, stem_pool, strict=True))
        if any(r < 1 for r in rest) or any(
            p % (s * 2) for p, s in zip(patch_size, stem_pool, strict=True)
        ):
            raise ValueError(f"patch_size {patch_size} must be a multiple of 2 * {stem_pool}")
        strided = stem == "strided"
        self.proj = nn.Sequential(
            # Identity keeps the layers' indices, so either stem loads the other's weights.
            nn.Identity() if strided else nn.AvgPool3d(stem_pool),
            nn.Conv3d(
                in_channels,
                stem_channels,
                kernel_size=3,
                padding=1,
                stride=tuple(stem_pool) if strided else 1,
            ),
            _norm(stem_channels, stem_norm),
            nn.GELU(),
            nn.MaxPool3d(2),
            nn.Conv3d(stem_channels, 2 * stem_channels, kernel_size=3, padding=1),
            _norm(2 * stem_channels, stem_norm),
            nn.GELU(),
            nn.MaxPool3d(rest),
            nn.Conv3d(2 * stem_channels, dim, kernel_size=1),
        )

    def forward(self, volume: torch.Tensor) -> torch.Tensor:  # (B, C, Z, Y, X) -> (B, N, D)
        return self.proj(volume).flatten(2).transpose(1, 2)


def _norm(channels: int, on: bool) -> nn.Module:
    """Instance norm of each case's feature maps (affine), or nothing."""
    return nn.InstanceNorm3d(channels, affine=True) if on else nn.Identity()


class MLP(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim)
        )


class Attention(nn.Module):
    """Multi-head self-attention with a boolean "may attend" mask; keeps its last weights.

    Written out (not fused) so that the weights can be read for explanations.
    """

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.last_weights: torch.Tensor | None = None  # (B, H, T, T)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        weights = scores.softmax(dim=-1)
        self.last_weights = weights.detach()
        out = (self.dropout(weights) @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(out)


class SoftMoE(nn.Module):
    """Soft mixture of experts (Puigcerver et al., 2023), with masked tokens.

    logits (B, T, E*S) = x @ phi. Dispatch: softmax over *tokens* per slot, so every slot is
    a convex mix of the valid tokens. Each expert (an MLP) processes its S slots. Combine:
    softmax over *slots* per token, so every token gets a convex mix of the slot outputs.
    """

    def __init__(self, dim: int, hidden: int, experts: int, slots_per_expert: int, dropout):
        super().__init__()
        self.experts_n, self.slots = experts, slots_per_expert
        self.phi = nn.Parameter(torch.randn(dim, experts * slots_per_expert) / math.sqrt(dim))
        self.experts = nn.ModuleList(MLP(dim, hidden, dropout) for _ in range(experts))
        self.last_combine: torch.Tensor | None = None  # (B, T, E)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        logits = x @ self.phi
        dispatch = logits.masked_fill(~valid[..., None], float("-inf")).softmax(dim=1)
        slots = torch.einsum("bts,btd->bsd", dispatch, x).reshape(b, self.experts_n, self.slots, d)
        processed = torch.stack([expert(slots[:, e]) for e, expert in enumerate(self.experts)], 1)
        combine = logits.softmax(dim=2)
        self.last_combine = combine.detach().reshape(b, t, self.experts_n, self.slots).sum(-1)
        return torch.einsum("bts,bsd->btd", combine, processed.reshape(b, -1, d))


class MultiwayBlock(nn.Module):
    """Shared attention (kept inside each modality by the mask), per-modality FFN adapters."""

    def __init__(self, cfg: MOMEConfig):
        super().__init__()
        hidden = int(cfg.dim * cfg.mlp_ratio)
        self.norm1, self.norm2 = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.attn = Attention(cfg.dim, cfg.heads, cfg.dropout)
        self.adapters = nn.ModuleDict(
            {m: MLP(cfg.dim, hidden, cfg.dropout) for m in cfg.modalities}
        )
        self.cls_adapter = MLP(cfg.dim, hidden, cfg.dropout)
        self.gamma1 = nn.Parameter(torch.full((cfg.dim,), cfg.layer_scale))
        self.gamma2 = nn.Parameter(torch.full((cfg.dim,), cfg.layer_scale))

    def forward(self, x, allowed, token_modality, modalities):
        x = x + self.gamma1 * self.attn(self.norm1(x), allowed)
        h = self.norm2(x)
        out = torch.empty_like(h)
        cls = token_modality == CLS
        out[:, cls] = self.cls_adapter(h[:, cls])
        for index, name in enumerate(modalities):
            mine = token_modality == index
            if mine.any():
                out[:, mine] = self.adapters[name](h[:, mine])
        return x + self.gamma2 * out


class FusionBlock(nn.Module):
    """Attention across all modalities, then the shared Soft-MoE."""

    def __init__(self, cfg: MOMEConfig):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.attn = Attention(cfg.dim, cfg.heads, cfg.dropout)
        hidden = int(cfg.dim * cfg.mlp_ratio)
        self.moe = SoftMoE(cfg.dim, hidden, cfg.experts, cfg.slots_per_expert, cfg.dropout)
        self.gamma1 = nn.Parameter(torch.full((cfg.dim,), cfg.layer_scale))
        self.gamma2 = nn.Parameter(torch.full((cfg.dim,), cfg.layer_scale))

    def forward(self, x, allowed, valid):
        x = x + self.gamma1 * self.attn(self.norm1(x), allowed)
        return x + self.gamma2 * self.moe(self.norm2(x), valid)


# --------------------------------------------------------------------------- the model


class MOMEMini(nn.Module):
    """MOME-mini; see the module docstring for inputs and outputs."""

    def __init__(self, config: MOMEConfig | None = None):
        super().__init__()
        self.config = cfg = config or MOMEConfig()
        n = cfg.tokens_per_modality
        self.embed = nn.ModuleDict(
            {
                m: PatchEmbed3d(
                    c,
                    cfg.dim,
                    cfg.patch_size,
                    cfg.stem_channels,
                    cfg.stem_pool,
                    cfg.stem,
                    cfg.stem_norm,
                )
                for m, c in zip(cfg.modalities, cfg.in_channels, strict=True)
            }
        )
        # One position embedding for all modalities: the sequences are co-registered, so the
        # same patch of every modality shows the same tissue.
        self.position = nn.Parameter(torch.zeros(1, n, cfg.dim))
        self.modality_embedding = nn.Parameter(torch.zeros(len(cfg.modalities), cfg.dim))
        nn.init.trunc_normal_(self.position, std=0.02)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.modality_embedding, std=0.02)
        self.multiway = nn.ModuleList(MultiwayBlock(cfg) for _ in range(cfg.multiway_depth))
        self.fusion = nn.ModuleList(FusionBlock(cfg) for _ in range(cfg.fusion_depth))
        self.heads = nn.ModuleDict(
            {
                "malignant": nn.Linear(cfg.dim, 1),
                "pcr": nn.Linear((1 + len(cfg.modalities)) * cfg.dim, 1),
                "subtype": nn.Linear((1 + len(cfg.modalities)) * cfg.dim, cfg.subtypes),
            }
        )
        # Deep supervision of each modality expert: a malignancy logit from the maximum of its
        # tokens after the multiway blocks, so every modality learns to see the lesion itself.
        self.modality_heads = nn.ModuleDict({m: nn.Linear(cfg.dim, 1) for m in cfg.modalities})

    # -- input checking and token assembly

    def _check_inputs(self, inputs: dict) -> tuple[list[str], torch.Tensor]:
        cfg = self.config
        unknown = set(inputs) - set(cfg.modalities) - {"present"}
        if unknown:
            raise ValueError(
                f"unknown modalities {sorted(unknown)}; MOME-mini takes {cfg.modalities}"
            )
        given = [m for m in cfg.modalities if m in inputs]
        if not given:
            raise ValueError(f"no modality given; MOME-mini takes any of {cfg.modalities}")
        batch = inputs[given[0]].shape[0]
        for m in given:
            x = inputs[m]
            channels = cfg.in_channels[cfg.modalities.index(m)]
            if x.ndim != 5 or x.shape[1] != channels:
                raise ValueError(
                    f"{m} must be (batch, {channels}, *{cfg.image_size}), got {tuple(x.shape)}"
                )
            if tuple(x.shape[2:]) != cfg.image_size or x.shape[0] != batch:
                raise ValueError(
                    f"{m} has shape {tuple(x.shape)}; expected ({batch}, "
                    f"{channels}, *{cfg.image_size})"
                )
        present = inputs.get("present")
        device = inputs[given[0]].device
        if present is None:
            present = torch.ones(batch, len(cfg.modalities), dtype=torch.bool, device=device)
        present = present.bool().clone()
        for index, m in enumerate(cfg.modalities):
            if m not in inputs:
                present[:, index] = False
        empty = (~present.any(dim=1)).nonzero().flatten().tolist()
        if empty:
            raise ValueError(f"case(s) {empty} have no modality present; nothing to diagnose")
        return given, present

    def _modality_dropout(self, present: torch.Tensor) -> torch.Tensor:
        """Randomly hide modalities while training, always keeping one per case."""
        keep = torch.rand(present.shape, device=present.device) >= self.config.modality_dropout
        dropped = present & keep
        lost_all = ~dropped.any(dim=1)
        dropped[lost_all] = present[lost_all]
        return dropped

    def _tokens(self, inputs, given, present):
        cfg = self.config
        batch = present.shape[0]
        parts = [self.cls_token.expand(batch, -1, -1)]
        token_modality = [torch.full((1,), CLS)]
        for m in given:
            index = cfg.modalities.index(m)
            parts.append(self.embed[m](inputs[m]) + self.position + self.modality_embedding[index])
            token_modality.append(torch.full((cfg.tokens_per_modality,), index))
        token_modality = torch.cat(token_modality).to(present.device)
        valid = torch.ones(batch, len(token_modality), dtype=torch.bool, device=present.device)
        valid[:, 1:] = present[:, token_modality[1:]]
        return torch.cat(parts, dim=1), token_modality, valid

    @staticmethod
    def _attention_masks(token_modality, valid):
        """(B, T, T) "may attend" masks for the multiway and the fusion blocks.

        A token may attend to valid tokens (multiway: of its own modality; the CLS token: of
        any); a masked token attends only to itself, so its row stays finite and nobody reads it.
        """
        same = token_modality[:, None] == token_modality[None, :]
        from_cls = (token_modality == CLS)[:, None].expand_as(same)
        eye = torch.eye(len(token_modality), dtype=torch.bool, device=valid.device)
        keys = valid[:, None, :]
        multiway = (keys & (same | from_cls)) | eye
        fusion = keys | eye
        return multiway, fusion

    # -- forward

    def forward(self, inputs: dict) -> dict[str, torch.Tensor]:
        given, present = self._check_inputs(inputs)
        if self.training and self.config.modality_dropout > 0:
            present = self._modality_dropout(present)
        cls, pooled, token_modality, valid = self._encode(inputs, given, present)
        per_modality = self._modality_logits(pooled, present)
        # No final LayerNorm on the CLS token: trained from scratch for seconds, its state is
        # a shared offset plus a small case-specific part, and a LayerNorm washes that out.
        # The fused decision adds the modality experts' mean opinion (over the modalities the
        # case has): each modality counts from the first step, the CLS learns what they miss.
        experts = torch.nan_to_num(per_modality).sum(1) / (~per_modality.isnan()).sum(1)
        # pCR and subtype read everything (CLS and every modality's tokens): they are fitted
        # after the backbone, whose CLS learned malignancy only (see fit_task_heads).
        task_features = torch.cat([cls, pooled.flatten(1)], dim=1)
        outputs = {
            "malignant": self.heads["malignant"](cls).squeeze(-1) + experts,
            "pcr": self.heads["pcr"](task_features).squeeze(-1),
            "subtype": self.heads["subtype"](task_features),
            "modality_malignant": per_modality,
        }
        return outputs | self._read_out(token_modality, valid)

    def features(self, inputs: dict) -> torch.Tensor:
        """(B, (1 + M) * dim) features for probes and task heads on the frozen model: the CLS
        state after the fusion blocks (what the malignancy head reads), then each modality's
        max-pooled tokens after the multiway blocks (what its expert head reads; zeros where
        the modality is absent). No modality dropout, whatever the mode. The pCR and subtype
        heads read exactly these."""
        given, present = self._check_inputs(inputs)
        cls, pooled, _, _ = self._encode(inputs, given, present)
        return torch.cat([cls, pooled.flatten(1)], dim=1)

    def _encode(self, inputs, given, present):
        """The blocks: (CLS (B, D) after the fusion blocks, pooled (B, M, D) each modality's
        max-pooled tokens after the multiway blocks (zeros where absent), token_modality,
        valid)."""
        x, token_modality, valid = self._tokens(inputs, given, present)
        multiway_mask, fusion_mask = self._attention_masks(token_modality, valid)
        for block in self.multiway:
            x = block(x, multiway_mask, token_modality, self.config.modalities)
        pooled = x.new_zeros(x.shape[0], len(self.config.modalities), x.shape[2])
        for index in range(len(self.config.modalities)):
            mine = token_modality == index
            if mine.any():
                has = valid[:, mine][:, :1].to(x.dtype)
                pooled[:, index] = x[:, mine].max(dim=1).values * has
        for block in self.fusion:
            x = block(x, fusion_mask, valid)
        return x[:, 0], pooled, token_modality, valid

    def _modality_logits(self, pooled, present) -> torch.Tensor:
        """(B, M) malignancy logits of each modality expert alone; NaN where it is absent."""
        logits = torch.stack(
            [
                self.modality_heads[m](pooled[:, i]).squeeze(-1)
                for i, m in enumerate(self.config.modalities)
            ],
            dim=1,
        )
        return torch.where(present, logits, torch.full_like(logits, float("nan")))

    def _read_out(self, token_modality, valid) -> dict[str, torch.Tensor]:
        """Per-modality CLS attention (last fusion block) and Soft-MoE expert usage."""
        n_modalities = len(self.config.modalities)
        one_hot = F.one_hot(token_modality.clamp(min=0), n_modalities).float()
        one_hot[token_modality == CLS] = 0
        cls_weights = self.fusion[-1].attn.last_weights[:, :, 0].mean(1)  # (B, T)
        cls_attention = cls_weights @ one_hot  # (B, M)
        combine = torch.stack([b.moe.last_combine for b in self.fusion]).mean(0)  # (B, T, E)
        token_weights = one_hot[None] * valid[..., None]  # (B, T, M)
        counts = token_weights.sum(1).clamp(min=1)  # (B, M)
        usage = torch.einsum("btm,bte->bme", token_weights, combine) / counts[..., None]
        return {"cls_attention": cls_attention, "expert_usage": usage}


# --------------------------------------------------------------------------- loss and read-outs


def mome_loss(
    outputs: dict, targets: dict, weights=(1.0, 0.5, 0.5, 0.5), tasks=TASKS
) -> torch.Tensor:
    """Malignancy BCE + pCR BCE + subtype cross-entropy + the modality experts' malignancy
    BCE (over the modalities each case has); -1 targets (benign cases) are ignored.

    tasks: the heads to train, a subset of ("malignant", "pcr", "subtype"); the modality
        experts' term goes with "malignant". E.g. ``functools.partial(mome_loss,
        tasks=("malignant",))`` trains malignancy on its own, as MOME fine-tunes each task.
    """
    tasks = _check_tasks(tasks)
    w_malignant, w_pcr, w_subtype, w_modality = weights
    # a zero tied to the graph, so a batch with no usable target still backpropagates
    loss = outputs[tasks[0]].sum() * 0.0
    if "malignant" in tasks:
        loss = loss + w_malignant * F.binary_cross_entropy_with_logits(
            outputs["malignant"], targets["malignant"].float()
        )
    per_modality = outputs.get("modality_malignant")
    if "malignant" in tasks and w_modality and per_modality is not None:
        has = ~per_modality.isnan()
        repeated = targets["malignant"].float()[:, None].expand_as(per_modality)
        loss = loss + w_modality * F.binary_cross_entropy_with_logits(
            per_modality[has], repeated[has]
        )
    has_pcr = targets["pcr"] >= 0 if "pcr" in tasks else None
    if has_pcr is not None and has_pcr.any():
        loss = loss + w_pcr * F.binary_cross_entropy_with_logits(
            outputs["pcr"][has_pcr], targets["pcr"][has_pcr].float()
        )
    if "subtype" in tasks and (targets["subtype"] >= 0).any():
        loss = loss + w_subtype * F.cross_entropy(
            outputs["subtype"], targets["subtype"], ignore_index=-1
        )
    return loss


def _check_tasks(tasks) -> tuple[str, ...]:
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ValueError(f"tasks must be a non-empty subset of {TASKS}, got {tasks}")
    return tasks


@torch.no_grad()
def modality_contributions(model: MOMEMini, inputs: dict, head: str = "malignant"):
    """How much each modality moves a decision: logit(all) - logit(without it).

    Returns (B, M): positive = the modality pushed towards the positive class. A modality
    that is absent, or the only one present, contributes 0 (there is nothing to compare).
    """
    model.eval()
    _, present = model._check_inputs(inputs)
    full = model(inputs)[head]
    if full.ndim > 1:
        raise ValueError(f"contributions are defined for the binary heads, not {head!r}")
    result = torch.zeros(present.shape, device=full.device)
    for index, _m in enumerate(model.config.modalities):
        without = present.clone()
        without[:, index] = False
        usable = present[:, index] & without.any(dim=1)
        if not usable.any():
            continue
        ablated = model({**inputs, "present": torch.where(usable[:, None], without, present)})
        result[:, index] = torch.where(usable, full - ablated[head], torch.zeros_like(full))
    return result


@register_model("mome-mini")
def mome_mini(**config) -> MOMEMini:
    """MOME-mini with :class:`MOMEConfig` defaults, overridden by keyword arguments."""
    return MOMEMini(MOMEConfig(**config))
