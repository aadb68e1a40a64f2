"""Low-rank adaptation (LoRA, Hu et al. 2021) of MedDr-mini's decoder, with peft.

Each adapted weight matrix ``W`` (d_out, d_in) is frozen and learns ``ΔW = B A`` of rank
``r`` (``B``: d_out x r, ``A``: r x d_in), scaled by ``alpha / r``: a fraction of a percent
of the parameters of a large model, a few percent of MedDr-mini's.
"""

from __future__ import annotations

from torch import nn

#: The decoder blocks' linear layers that LoRA adapts (a regular expression peft matches
#: against full module names); the vision encoder and projector stay frozen, and the
#: embeddings train only with ``add_lora(train_embeddings=True)``.
LORA_TARGETS = r".*decoder\.blocks\.\d+\.(attn\.(qkv|proj)|mlp\.(fc|proj))"

#: The decoder's embeddings that instruction tuning also trains (see :func:`add_lora`).
EMBEDDINGS = ("decoder.wte.weight", "decoder.wpe.weight")


def add_lora(model: nn.Module, rank: int = 16, alpha: int = 32, train_embeddings: bool = True):
    """Freeze ``model`` (a MedDr-mini) and wrap it with LoRA adapters on
    :data:`LORA_TARGETS`; returns the peft model.

    With ``train_embeddings`` the decoder's token and position embeddings (:data:`EMBEDDINGS`)
    stay trainable too. Pretraining never shows the words that only the tuning prompts use
    ("specialist", "similar cases", the digits of a probability), nor the positions past its
    longest sequence: their embeddings are still random, and LoRA on the blocks alone cannot
    learn to read them (the hint was ignored on breast MRI). A big language model has seen
    every token and position before; MedDr-mini learns them here, as one does for added
    tokens."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=LORA_TARGETS, lora_dropout=0.0)
    model = get_peft_model(model, config)
    if train_embeddings:
        for name, parameter in model.named_parameters():
            if name.endswith(EMBEDDINGS):
                parameter.requires_grad_(True)
    return model
