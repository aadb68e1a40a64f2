"""The same retrieval-augmented, specialist-informed prompting with a real model on disk.

For a student who has a pretrained model in a local Hugging Face ``transformers`` folder
(``save_pretrained`` output): the prompt is built exactly as for MedDr-mini
(:func:`medai_edu.experiments.generalist_prompts.build_prompt`), the model answers. Nothing
is ever downloaded: every load is ``local_files_only``. A vision-language model (a folder with an
image processor, loaded as ``AutoModelForImageTextToText``) also gets the image; a text-only
language model answers from the retrieved diagnoses and the specialist's prediction alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from medai_edu.experiments.generalist_prompts import build_prompt


class TransformersGeneralist:
    """Retrieval-augmented diagnosis with a local ``transformers`` model.

    >>> generalist = TransformersGeneralist("/models/my-vlm")
    >>> generalist.answer("breast-mri", "is it malignant?", image, retrieved=["malignant"])
    """

    def __init__(self, path: str | Path, device: str = "cpu"):
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no model folder at {path}")
        if not (path / "config.json").exists():
            raise ValueError(f"{path} is not a transformers model folder (no config.json)")
        from transformers import AutoConfig

        self.path, self.device = path, device
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        self.is_vision_language = hasattr(config, "vision_config")
        self.model, self.processor = self._load(path)
        self.model.to(device).eval()
        self.last_prompt: str | None = None  # what the model was last asked, for checks
        self.last_inputs: dict = {}

    def _load(self, path: Path):
        from transformers import (
            AutoModelForCausalLM,
            AutoModelForImageTextToText,
            AutoProcessor,
            AutoTokenizer,
        )

        if self.is_vision_language:
            model = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True)
            return model, AutoProcessor.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        return model, AutoTokenizer.from_pretrained(path, local_files_only=True)

    @torch.no_grad()
    def answer(
        self,
        modality: str,
        question: str,
        image: np.ndarray | None = None,
        retrieved: list[str] | None = None,
        specialist: tuple[str, str, float] | None = None,
        max_new_tokens: int = 40,
    ) -> str:
        """The model's greedy answer; ``image`` (3, H, W) or (H, W, 3) in [0, 1] is used by a
        vision-language model only."""
        prompt = build_prompt(modality, question, retrieved, specialist)
        self.last_prompt = prompt
        if self.is_vision_language:
            if image is None:
                raise ValueError("this is a vision-language model: give the image")
            # The processor expands its image token into the image's patch embeddings.
            image_token = getattr(self.processor, "image_token", "<image>")
            text = f"{image_token}\n{prompt}"
            inputs = self.processor(images=_pil(image), text=text, return_tensors="pt")
            tokenizer = self.processor.tokenizer
        else:
            inputs = self.processor(prompt, return_tensors="pt")
            tokenizer = self.processor
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        self.last_inputs = inputs
        output = self.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
        new = output[0, inputs["input_ids"].shape[1] :]
        return tokenizer.decode(new, skip_special_tokens=True).strip()


def _pil(image: np.ndarray):
    from PIL import Image

    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[0] in (1, 3):
        image = image.transpose(1, 2, 0)
    return Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8).squeeze())
