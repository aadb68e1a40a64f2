"""MedDr-mini: a generalist medical vision-language model, written from scratch at toy width.

After MedDr (He et al., arXiv 2404.15127; code sunanhe/MedDr, MIT), which joins a vision
encoder (InternViT) to a language model (InternLM) through an MLP projector and fine-tunes
it with LoRA on instruction data bootstrapped from diagnosis labels. The mini version keeps
the three parts and writes the language model out in full, in the spirit of nanoGPT:

* a **vision encoder**: a small CNN turning a (3, 32, 32) image into a 4 x 4 grid of
  visual features, one token per cell (the ViT's patch tokens in the real model);
* a **projector**: a two-layer MLP from vision features into the decoder's embedding space;
* a **causal transformer decoder**: token and position embeddings, pre-norm blocks of causal
  self-attention and an MLP, a language-model head tied to the token embedding.

The sequence is ``[visual tokens] [prompt tokens] [answer tokens]``: the visual tokens come
first, so every text token can attend to the image; the loss is on the answer only.
:meth:`MedDrMini.generate` decodes greedily, or samples with a temperature and top-k, and
can stream tokens as they come.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from medai_edu.models.registry import register_model

IGNORE_INDEX = -100  # positions the loss skips (image, prompt, padding)


@dataclass
class MedDrConfig:
    """Sizes of MedDr-mini."""

    image_size: int = 32
    vision_dim: int = 64  # the vision encoder's feature size, before the projector
    vocab_size: int = 768
    block_size: int = 160  # longest sequence, visual tokens included
    dim: int = 128  # the decoder's embedding size (nanoGPT's n_embd)
    depth: int = 4  # decoder blocks (n_layer)
    heads: int = 4  # attention heads per block (n_head)
    dropout: float = 0.0

    def __post_init__(self):
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")
        if self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {self.image_size}")

    @property
    def n_visual_tokens(self) -> int:
        return (self.image_size // 8) ** 2


# --------------------------------------------------------------------------- vision


class VisionEncoder(nn.Module):
    """(B, 3, s, s) images in [0, 1] -> (B, (s/8)^2, vision_dim) visual tokens."""

    def __init__(self, dim: int = 64):
        super().__init__()
        layers, previous = [], 3
        for width in (32, 64, dim):
            layers += [nn.Conv2d(previous, width, 3, stride=2, padding=1), nn.GroupNorm(8, width)]
            layers += [nn.GELU()]
            previous = width
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        grid = self.net((images - 0.5) / 0.25)  # (B, D, s/8, s/8)
        return grid.flatten(2).transpose(1, 2)


class Projector(nn.Module):
    """Vision features into the decoder's embedding space: Linear, GELU, Linear (as in
    LLaVA-1.5 and InternVL)."""

    def __init__(self, vision_dim: int, dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(vision_dim, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


# --------------------------------------------------------------------------- decoder


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions <= t only."""

    def __init__(self, config: MedDrConfig):
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.dim, 3 * config.dim)
        self.proj = nn.Linear(config.dim, config.dim)
        self.dropout = nn.Dropout(config.dropout)
        causal = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("causal", causal, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        # (B, T, C) -> (B, heads, T, C / heads)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])
        scores = scores.masked_fill(~self.causal[:t, :t], float("-inf"))
        weights = scores.softmax(dim=-1)
        self.last_weights = weights.detach()  # (B, heads, T, T), for attention rollout
        weights = self.dropout(weights)
        out = (weights @ v).transpose(1, 2).reshape(b, t, c)
        return self.dropout(self.proj(out))


class MLP(nn.Module):
    def __init__(self, config: MedDrConfig):
        super().__init__()
        self.fc = nn.Linear(config.dim, 4 * config.dim)
        self.proj = nn.Linear(4 * config.dim, config.dim)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: MedDrConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.dim)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.dim)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Decoder(nn.Module):
    """A GPT: embeddings in, next-token logits out. Accepts embeddings (so that visual
    tokens can be put in front of the text) as well as token ids."""

    def __init__(self, config: MedDrConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.dim)
        self.wpe = nn.Embedding(config.block_size, config.dim)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
        self.ln_f = nn.LayerNorm(config.dim)
        self.lm_head = nn.Linear(config.dim, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying, as in GPT-2

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(B, T, dim) input embeddings -> (B, T, vocab) logits."""
        t = embeddings.shape[1]
        if t > self.config.block_size:
            raise ValueError(
                f"sequence of {t} tokens is longer than the context ({self.config.block_size})"
            )
        positions = torch.arange(t, device=embeddings.device)
        x = self.drop(embeddings + self.wpe(positions))
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


# --------------------------------------------------------------------------- the model


class MedDrMini(nn.Module):
    """MedDr-mini; see the module docstring."""

    def __init__(self, config: MedDrConfig | None = None):
        super().__init__()
        self.config = cfg = config or MedDrConfig()
        self.vision = VisionEncoder(cfg.vision_dim)
        self.projector = Projector(cfg.vision_dim, cfg.dim)
        self.decoder = Decoder(cfg)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def check_images(self, images: torch.Tensor) -> None:
        s = self.config.image_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, s, s):
            raise ValueError(f"images must be (batch, 3, {s}, {s}), got {tuple(images.shape)}")

    def embed(self, images: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, V + T, dim): projected visual tokens, then the text's token embeddings."""
        self.check_images(images)
        visual = self.projector(self.vision(images))
        return torch.cat([visual, self.decoder.wte(input_ids)], dim=1)

    def forward(self, images, input_ids, labels=None) -> dict[str, torch.Tensor]:
        """images (B, 3, s, s); input_ids (B, T) long; labels (B, T) long, the next token to
        predict at each text position or ``IGNORE_INDEX``. Returns logits over the text
        positions (B, T, vocab) and, with labels, the mean cross-entropy ``loss`` (nats)."""
        logits = self.decoder(self.embed(images, input_ids))[:, self.config.n_visual_tokens :]
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX
            )
        return out

    @torch.no_grad()
    def stream(
        self,
        image: torch.Tensor,
        prompt_ids: list[int],
        max_new_tokens: int = 40,
        temperature: float = 0.0,
        top_k: int | None = None,
        stop_id: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Iterator[int]:
        """Yield new token ids one at a time for one image (3, s, s) and a prompt.

        ``temperature`` 0 is greedy decoding; above 0, sample from softmax(logits / T),
        restricted to the ``top_k`` most likely tokens when given. Stops at ``stop_id``
        (not yielded) or at the context length. The model runs where its parameters are;
        the next token is picked on the CPU (so a CPU ``generator`` works on a GPU too).
        """
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.eval()
        device = next(self.parameters()).device
        ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        images = torch.as_tensor(image)[None].to(device)
        room = self.config.block_size - self.config.n_visual_tokens
        for _ in range(max_new_tokens):
            if ids.shape[1] >= room:
                return
            logits = self.decoder(self.embed(images, ids))[0, -1]
            next_id = _pick(logits.cpu(), temperature, top_k, generator)
            if next_id == stop_id:
                return
            yield next_id
            ids = torch.cat([ids, torch.tensor([[next_id]], device=device)], dim=1)

    def generate(self, image, prompt_ids, **options) -> list[int]:
        """All of :meth:`stream`'s tokens at once."""
        return list(self.stream(image, prompt_ids, **options))


def _pick(logits: torch.Tensor, temperature: float, top_k: int | None, generator) -> int:
    """The next token: argmax, or a sample from the (top-k) tempered distribution."""
    if temperature == 0:
        return int(logits.argmax())
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return int(torch.multinomial(logits.softmax(-1), 1, generator=generator))


@register_model("meddr-mini")
def meddr_mini(**config) -> MedDrMini:
    """MedDr-mini with :class:`MedDrConfig` defaults, overridden by keyword arguments."""
    return MedDrMini(MedDrConfig(**config))
