"""MedDr-mini's two training stages: pretraining on the bootstrapped instructions, then LoRA
instruction tuning on prompts with retrieval and a specialist's guidance."""

from __future__ import annotations

import numpy as np
import torch

from medai_edu.experiments.generalist_prompts import collate, encode_example, pretraining_examples
from medai_edu.train import train_steps


def _train(model, tokenizer, cases, examples, steps, batch, lr, desc, device) -> list[float]:
    """AdamW (weight decay 0.01) over the trainable parameters, on random batches of
    ``examples``; returns the loss of each step (nats). device: where to train (None: the
    CPU); the model is moved there and stays. Batches are drawn on the CPU by their own
    generator (seed 0), so the picks do not depend on the device."""
    encoded = [encode_example(tokenizer, e.prompt, e.answer) for e in examples]
    images = {m: torch.as_tensor(c.images) for m, c in cases.items()}
    generator = np.random.default_rng(0)

    def draw(step: int):
        pick = generator.choice(len(examples), batch)
        ids, labels = collate([encoded[k] for k in pick], tokenizer.pad_id)
        picture = torch.stack([images[examples[k].modality][examples[k].index] for k in pick])
        blank = torch.tensor([examples[k].blank_image for k in pick])
        picture[blank] = 0.5  # mid-grey: no image
        return picture, ids, labels

    def loss(model, batch) -> torch.Tensor:
        picture, ids, labels = batch
        return model(picture, ids, labels)["loss"]

    device = device or "cpu"
    history = train_steps(
        model, draw, loss, steps=steps, lr=lr, weight_decay=0.01, device=device, desc=desc
    )
    return history["train_loss"]


def pretrain(
    model, tokenizer, cases, steps=400, batch=32, lr=2e-3, device: torch.device | str | None = None
) -> list[float]:
    """Stage 1: the whole model learns the bootstrapped instructions; returns the loss of
    each step (nats). device: where to train (None: the CPU); the model stays there."""
    examples = pretraining_examples(cases)
    return _train(model, tokenizer, cases, examples, steps, batch, lr, "pretraining", device)


def instruction_tune(
    model,
    tokenizer,
    cases,
    examples,
    steps=300,
    batch=32,
    lr=2e-3,
    device: torch.device | str | None = None,
):
    """Stage 2: LoRA on the decoder learns from prompts with retrieval and specialists.
    ``model`` must already be wrapped by :func:`add_lora`. device: where to train (None:
    the CPU); the model stays there."""
    desc = "LoRA instruction tuning"
    return _train(model, tokenizer, cases, examples, steps, batch, lr, desc, device)
