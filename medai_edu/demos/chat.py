"""The MedDr-mini demo: questions about an image, answered token by token, with retrieved
cases and a specialist's opinion in the prompt when the user switches them on.

MedDr-mini answers one question at a time: the chat keeps the conversation on screen, but
the model reads only the image and the current question (and the context switched on).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from medai_edu.data.instructions import MODALITIES
from medai_edu.experiments.generalist import build_prompt, encode_example, image_embeddings

#: Tokens kept free for the answer when checking that a prompt fits the context.
ANSWER_ROOM = 24
#: Longest question accepted, in characters (a paragraph), before tokenising it.
MAX_QUESTION_CHARS = 2000


@dataclass
class RetrievedCase:
    """An archived case retrieved for the prompt: its position, diagnosis and similarity."""

    index: int
    diagnosis: str
    similarity: float


def prepare_image(image, size: int = 32) -> np.ndarray:
    """An uploaded picture as MedDr-mini's input: (3, size, size) float32 in [0, 1].

    ``image``: (H, W, 3) or (H, W, 4) RGB(A), or (H, W) grey; uint8 (0-255) or float (0-1).
    """
    from skimage.transform import resize

    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise ValueError(
            f"the image must be a 2D picture (height, width, 3 colours), got shape {array.shape}"
        )
    if min(array.shape[:2]) < 8:
        raise ValueError(f"the image is too small ({array.shape[0]} x {array.shape[1]} px)")
    array = array[..., :3].astype(np.float32)
    if array.max() > 1.0:
        array /= 255.0
    if not np.isfinite(array).all():
        raise ValueError("the image has missing (NaN) or infinite values")
    resized = resize(array, (size, size), anti_aliasing=True, preserve_range=True)
    return np.clip(resized, 0, 1).transpose(2, 0, 1).astype(np.float32)


def retrieve(models, modality: str, image: np.ndarray, k: int = 5) -> list[RetrievedCase]:
    """The ``k`` archived cases of ``modality`` nearest to ``image`` (3, s, s)."""
    index = models.index.indexes[modality]
    result = index.search(image_embeddings(models.generalist, image[None]), k)
    return [
        RetrievedCase(int(j), str(index.labels[j]), float(s))
        for j, s in zip(result.index[0], result.similarity[0], strict=True)
    ]


def chat_prompt(
    tokenizer,
    modality: str,
    question: str,
    retrieved: list[RetrievedCase] | None = None,
    specialist: tuple[str, str, float] | None = None,
    context_tokens: int = 144,
) -> tuple[str, list[int]]:
    """The prompt text and its token ids; ``context_tokens``: what the decoder has for text
    (its block size minus the visual tokens). Clear errors for an empty question, an
    unknown modality and a prompt that does not fit."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown image kind {modality!r}; choose one of {MODALITIES}")
    if question is None or not str(question).strip():
        raise ValueError("the message is empty: type a question about the image")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(
            f"the question is {len(question)} characters long; MedDr-mini reads at most "
            f"{context_tokens} tokens (a sentence or two): ask a shorter question"
        )
    names = [case.diagnosis for case in retrieved] if retrieved else None
    prompt = build_prompt(modality, str(question), names, specialist)
    ids, _ = encode_example(tokenizer, prompt)
    if len(ids) + ANSWER_ROOM > context_tokens:
        raise ValueError(
            f"the prompt is {len(ids)} tokens long, but MedDr-mini's context holds "
            f"{context_tokens} text tokens and needs {ANSWER_ROOM} for the answer: ask a "
            "shorter question (or switch retrieval and the specialist off)"
        )
    return prompt, ids


def stream_answer(
    models, image: np.ndarray, ids: list[int], max_new_tokens: int = 40, temperature=0.0
) -> Iterator[str]:
    """The answer so far after each new token (greedy unless ``temperature`` > 0)."""
    tokenizer, tokens = models.tokenizer, []
    for token in models.generalist.stream(
        torch.as_tensor(image, dtype=torch.float32),
        ids,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        stop_id=tokenizer.eos_id,
    ):
        tokens.append(token)
        yield tokenizer.decode(tokens).strip()
