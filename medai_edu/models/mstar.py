"""mSTAR-mini: a whole-slide model pretrained with reports and gene expression, at toy width.

After mSTAR (Xu et al., arXiv 2407.15362), which injects slide-level multimodal knowledge
(pathology reports, RNA-seq) into a pathology foundation model in two stages. Written from
the paper; nothing is taken from its code (CC-BY-NC-ND). The mini version keeps the parts:

* a **patch encoder** (a small CNN) turning every tile into a feature vector;
* a **slide aggregator** over a slide's tile features: a TransMIL-style transformer (a CLS
  token, self-attention and a convolutional position encoding over the tile grid) or gated
  **ABMIL** attention pooling; both give a slide embedding and per-tile attention;
* a **report encoder** (word embeddings averaged, then an MLP) and a **gene encoder** (MLP);
* projection heads into one shared embedding space.

Stage 1 aligns slide, report and genes with a symmetric contrastive (InfoNCE) loss
(:func:`contrastive_loss`). Stage 2, "self-taught", freezes the stage-1 aggregator and
trains the patch encoder so that each tile's new feature predicts the frozen aggregator's
contextualised token for that tile (:meth:`MSTARMini.tile_tokens`), while the slide
embedding it gives still aligns with the report: what the aggregator learned from the
whole slide and its report moves down into the patch features
(:func:`medai_edu.experiments.slide_pretraining.train_stage2`).

Inputs: ``tiles`` (B, N, 3, t, t) float in [0, 1] with ``tile_mask`` (B, N) bool for
slides of unequal size, or precomputed ``features`` (B, N, D); ``report_tokens`` (B, L) long
(0 = padding); ``genes`` (B, G) float, standardised.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from medai_edu.models.registry import register_model


@dataclass
class MSTARConfig:
    """Sizes of mSTAR-mini."""

    tile_size: int = 64
    feature_dim: int = 64  # patch feature size
    dim: int = 64  # the shared slide / report / gene space
    aggregator: str = "transmil"  # or "abmil"
    heads: int = 4  # attention heads of the TransMIL aggregator
    depth: int = 2  # TransMIL layers
    vocab_size: int = 512
    n_genes: int = 51
    n_classes: int = 3
    dropout: float = 0.1
    temperature: float = 0.07

    def __post_init__(self):
        if self.aggregator not in ("transmil", "abmil"):
            raise ValueError(f"aggregator must be 'transmil' or 'abmil', got {self.aggregator!r}")
        if self.tile_size % 8:
            raise ValueError(f"tile_size must be a multiple of 8, got {self.tile_size}")


# --------------------------------------------------------------------------- encoders


class PatchEncoder(nn.Module):
    """(B, 3, t, t) tiles in [0, 1] -> (B, D) features: four strided convolutions, mean pool."""

    def __init__(self, feature_dim: int = 64):
        super().__init__()
        widths = (16, 32, 64, feature_dim)
        layers, previous = [], 3
        for width in widths:
            layers += [
                nn.Conv2d(previous, width, 3, stride=2, padding=1),
                nn.BatchNorm2d(width),
                nn.GELU(),
            ]
            previous = width
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        return self.net((tiles - 0.5) / 0.25)


class ABMIL(nn.Module):
    """Gated attention pooling (Ilse et al., 2018): a weight per tile, their weighted mean."""

    def __init__(self, dim: int, hidden: int = 64, dropout: float = 0.1):
        super().__init__()
        self.value = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Dropout(dropout))
        self.gate = nn.Sequential(nn.Linear(dim, hidden), nn.Sigmoid())
        self.score = nn.Linear(hidden, 1)
        self.out = nn.Linear(dim, dim)

    def forward(self, features, mask, grid=None):
        logits = self.score(self.value(features) * self.gate(features)).squeeze(-1)
        attention = logits.masked_fill(~mask, float("-inf")).softmax(dim=1)  # (B, N)
        return self.out(torch.einsum("bn,bnd->bd", attention, features)), attention

    def tile_tokens(self, features, mask, grid=None):
        """(B, N, D): ABMIL has no context between tiles, so each tile's own output."""
        return self.out(features)


class PPEG(nn.Module):
    """TransMIL's position encoding: depth-wise convolutions over tiles laid on their grid."""

    def __init__(self, dim: int):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(dim, dim, k, padding=k // 2, groups=dim) for k in (3, 5)
        )

    def forward(self, tokens, grid):
        """tokens (B, N, D); grid (B, N, 2) long (row, col), -1 for padding."""
        b, n, d = tokens.shape
        rows, cols = int(grid[..., 0].max()) + 1, int(grid[..., 1].max()) + 1
        canvas = tokens.new_zeros(b, d, rows, cols)
        valid = grid[..., 0] >= 0
        bi, ni = valid.nonzero(as_tuple=True)
        canvas[bi, :, grid[bi, ni, 0], grid[bi, ni, 1]] = tokens[bi, ni]
        mixed = canvas + sum(conv(canvas) for conv in self.convs)
        out = tokens.clone()
        out[bi, ni] = mixed[bi, :, grid[bi, ni, 0], grid[bi, ni, 1]]
        return out


class TransMILAggregator(nn.Module):
    """A CLS token and pre-norm transformer layers over the tiles; PPEG after the first."""

    def __init__(self, dim: int, heads: int, depth: int, dropout: float):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
            )
            for _ in range(depth)
        )
        self.ppeg = PPEG(dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, features, mask, grid=None):
        x = self._states(features, mask, grid)
        cls, tiles = x[:, 0], x[:, 1:]
        # Attention read-out: how similar each tile's final state is to the CLS (softmax).
        scores = torch.einsum("bd,bnd->bn", cls, tiles) / math.sqrt(x.shape[-1])
        attention = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)
        return cls, attention

    def tile_tokens(self, features, mask, grid=None):
        """(B, N, D) each tile's final state: its feature, contextualised by the whole slide."""
        return self._states(features, mask, grid)[:, 1:]

    def _states(self, features, mask, grid=None):
        """(B, 1 + N, D): the CLS and tile tokens after the last layer and the final norm."""
        b = features.shape[0]
        x = features
        keep = torch.cat([mask.new_ones(b, 1), mask], dim=1)
        for i, layer in enumerate(self.layers):
            if i == 1 and grid is not None:
                x = torch.cat([x[:, :1], self.ppeg(x[:, 1:], grid)], dim=1)
            if i == 0:
                x = torch.cat([self.cls.expand(b, -1, -1), x], dim=1)
            x = layer(x, src_key_padding_mask=~keep)
        return self.norm(x)


class ReportEncoder(nn.Module):
    """Mean of word embeddings (padding ignored), then an MLP: a bag-of-words text encoder."""

    def __init__(self, vocab_size: int, dim: int, dropout: float):
        super().__init__()
        self.words = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        present = (tokens > 0).float()
        summed = (self.words(tokens) * present[..., None]).sum(1)
        return self.mlp(summed / present.sum(1, keepdim=True).clamp(min=1))


def _mlp(inputs: int, dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim)
    )


# --------------------------------------------------------------------------- the model


class MSTARMini(nn.Module):
    """mSTAR-mini; see the module docstring."""

    def __init__(self, config: MSTARConfig | None = None):
        super().__init__()
        self.config = cfg = config or MSTARConfig()
        self.patch_encoder = PatchEncoder(cfg.feature_dim)
        if cfg.aggregator == "transmil":
            self.aggregator = TransMILAggregator(cfg.feature_dim, cfg.heads, cfg.depth, cfg.dropout)
        else:
            self.aggregator = ABMIL(cfg.feature_dim, dropout=cfg.dropout)
        self.report_encoder = ReportEncoder(cfg.vocab_size, cfg.dim, cfg.dropout)
        self.gene_encoder = _mlp(cfg.n_genes, cfg.dim, cfg.dropout)
        self.slide_projection = nn.Linear(cfg.feature_dim, cfg.dim)
        self.classifier = nn.Linear(cfg.dim, cfg.n_classes)
        self.risk = nn.Linear(cfg.dim, 1)

    def encode_tiles(self, tiles: torch.Tensor, tile_mask: torch.Tensor | None = None):
        """(B, N, 3, t, t) -> (B, N, D) patch features; padded tiles are not encoded."""
        b, n = tiles.shape[:2]
        t = self.config.tile_size
        if tiles.ndim != 5 or tiles.shape[2:] != (3, t, t):
            raise ValueError(
                f"tiles must be (slides, tiles, 3, {t}, {t}), got {tuple(tiles.shape)}"
            )
        mask = tile_mask if tile_mask is not None else tiles.new_ones(b, n, dtype=torch.bool)
        features = tiles.new_zeros(b, n, self.config.feature_dim)
        features[mask] = self.patch_encoder(tiles[mask])
        return features

    def encode_slide(self, features, tile_mask=None, grid=None):
        """(B, N, D) patch features -> slide embedding (B, E) and tile attention (B, N)."""
        if features.ndim != 3 or features.shape[-1] != self.config.feature_dim:
            raise ValueError(
                f"features must be (slides, tiles, {self.config.feature_dim}), "
                f"got {tuple(features.shape)}"
            )
        b, n = features.shape[:2]
        mask = tile_mask if tile_mask is not None else features.new_ones(b, n, dtype=torch.bool)
        if not mask.any(dim=1).all():
            raise ValueError("every slide needs at least one tile with tissue")
        pooled, attention = self.aggregator(features, mask, grid)
        return self.slide_projection(pooled), attention

    def tile_tokens(self, features, tile_mask=None, grid=None) -> torch.Tensor:
        """(B, N, D) patch features -> (B, N, D) each tile's token after the aggregator,
        which has seen the whole slide (stage 2's distillation target)."""
        b, n = features.shape[:2]
        mask = tile_mask if tile_mask is not None else features.new_ones(b, n, dtype=torch.bool)
        return self.aggregator.tile_tokens(features, mask, grid)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """Slide embedding (and report / gene embeddings when given), class logits, risk."""
        mask = batch.get("tile_mask")
        features = batch.get("features")
        if features is None:
            features = self.encode_tiles(batch["tiles"], mask)
        slide, attention = self.encode_slide(features, mask, batch.get("grid"))
        out = {
            "slide": slide,
            "attention": attention,
            "logits": self.classifier(slide),
            "risk": self.risk(slide).squeeze(-1),
        }
        if "report_tokens" in batch:
            out["report"] = self.report_encoder(batch["report_tokens"])
        if "genes" in batch:
            out["genes"] = self.gene_encoder(batch["genes"])
        return out


# --------------------------------------------------------------------------- losses


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP): row i of ``a`` should match row i of ``b``, not the others."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def stage1_loss(out: dict, temperature: float = 0.07) -> torch.Tensor:
    """Align the slide with its report and its genes (and report with genes)."""
    return (
        contrastive_loss(out["slide"], out["report"], temperature)
        + contrastive_loss(out["slide"], out["genes"], temperature)
        + 0.5 * contrastive_loss(out["report"], out["genes"], temperature)
    )


def cox_loss(risk: torch.Tensor, event: torch.Tensor, months: torch.Tensor) -> torch.Tensor:
    """Negative Cox partial log-likelihood (Efron ties), via torchsurv."""
    from torchsurv.loss.cox import neg_partial_log_likelihood

    return neg_partial_log_likelihood(risk, event.bool(), months.float())


# --------------------------------------------------------------------------- report tokens


class ReportTokenizer:
    """Word-level tokenizer fitted on reports: lower case, words and numbers, most frequent
    ``vocab_size - 2`` kept; 0 pads, 1 is an unknown word."""

    def __init__(self, vocab_size: int = 512):
        self.vocab_size = vocab_size
        self.index: dict[str, int] = {}

    @staticmethod
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z]+|\d+", text.lower())

    def fit(self, reports) -> ReportTokenizer:
        counts = Counter(w for r in reports for w in self.words(r))
        common = [w for w, _ in counts.most_common(self.vocab_size - 2)]
        self.index = {w: i + 2 for i, w in enumerate(common)}
        return self

    def transform(self, reports, max_length: int = 160) -> torch.Tensor:
        """(R, max_length) long token ids."""
        if not self.index:
            raise RuntimeError("fit the tokenizer on reports first")
        out = torch.zeros(len(reports), max_length, dtype=torch.long)
        for i, report in enumerate(reports):
            ids = [self.index.get(w, 1) for w in self.words(report)][:max_length]
            out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out


@register_model("mstar-mini")
def mstar_mini(**config) -> MSTARMini:
    """mSTAR-mini with :class:`MSTARConfig` defaults, overridden by keyword arguments."""
    return MSTARMini(MSTARConfig(**config))
