"""MedDr-mini's text: the prompts, the training examples and the tokenizer fitted on them.

The prompt is plain text after the image's visual tokens, e.g. ``image: breast mri.
similar cases: malignant 4 of 5, benign 1 of 5. specialist mome-mini: malignant (0.91).
question: ... answer:``; only the answer's tokens are learned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from medai_edu.data.instructions import (
    IMAGE_NOUNS,
    MODALITIES,
    ImageCases,
    case_instructions,
    multiple_choice,
    report,
    vqa_pairs,
)
from medai_edu.models.meddr import IGNORE_INDEX
from medai_edu.models.tokenizer import CourseTokenizer

if TYPE_CHECKING:
    from medai_edu.experiments.generalist_specialists import Specialist


# --------------------------------------------------------------------------- prompts


def context(i: int, cases: ImageCases, retrieved=None, specialist=None):
    """(similar cases, specialist hint) for case ``i``'s prompt. With a specialist that
    brings its own similar cases (GSCo), those stand in for MedDr-mini's own retrieval."""
    hint = specialist.hint(i, cases.diagnoses) if specialist is not None else None
    similar = retrieved[i] if retrieved else None
    if similar and specialist is not None and specialist.neighbours is not None:
        similar = specialist.neighbours[i]
    return similar, hint


def build_prompt(
    modality: str,
    question: str,
    retrieved: list[str] | None = None,
    specialist: tuple[str, str, float] | None = None,
) -> str:
    """The text after the visual tokens, up to ``answer:``.

    retrieved: diagnoses of the most similar cases, nearest first; specialist: (name,
    diagnosis, probability).
    """
    if modality not in IMAGE_NOUNS:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
    if not question or not question.strip():
        raise ValueError("the question is empty: ask something about the image")
    parts = [f"image: {IMAGE_NOUNS[modality]}."]
    if retrieved:
        parts.append(f"similar cases: {summarise_retrieved(retrieved)}.")
    if specialist:
        name, diagnosis, probability = specialist
        parts.append(f"specialist {name}: {diagnosis} ({probability:.2f}).")
    parts += [f"question: {question.strip()}", "answer:"]
    return " ".join(parts)


def summarise_retrieved(retrieved: list[str]) -> str:
    """The retrieved diagnoses as counts, most common first (ties: the nearer case's first),
    e.g. ``"malignant 4 of 5, benign 1 of 5"``: easier for a small model to read than a
    list of five names."""
    counts: dict[str, int] = {}
    for name in retrieved:
        counts[str(name)] = counts.get(str(name), 0) + 1
    ranked = sorted(counts, key=lambda name: -counts[name])  # stable: nearer first on ties
    return ", ".join(f"{name} {counts[name]} of {len(retrieved)}" for name in ranked)


def encode_example(tokenizer: CourseTokenizer, prompt: str, answer: str | None = None):
    """Token ids ``<bos> prompt [answer <eos>]`` and their labels: at each position the next
    token when it belongs to the answer, else ``IGNORE_INDEX`` (the prompt is not learned)."""
    prompt_ids = [tokenizer.bos_id, *tokenizer.encode(prompt)]
    if answer is None:
        return prompt_ids, None
    answer_ids = [*tokenizer.encode(" " + answer), tokenizer.eos_id]
    ids = prompt_ids + answer_ids
    labels = [IGNORE_INDEX] * (len(prompt_ids) - 1) + answer_ids + [IGNORE_INDEX]
    return ids, labels


def collate(pairs, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (ids, labels) pairs to one (B, T) batch each."""
    length = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), length), pad_id, dtype=torch.long)
    labels = torch.full((len(pairs), length), IGNORE_INDEX, dtype=torch.long)
    for row, (i, lab) in enumerate(pairs):
        ids[row, : len(i)] = torch.tensor(i)
        labels[row, : len(lab)] = torch.tensor(lab)
    return ids, labels


def options_of(question: str) -> list[str]:
    """The option names of a multiple-choice question, in the order they are offered."""
    listed = question.split("options:", 1)[-1]
    return [name.strip() for name in re.findall(r"\([a-z]\) ([^(]+?)(?=\s*\(|\.?$)", listed)]


# --------------------------------------------------------------------------- examples


def fit_tokenizer(cases: dict[str, ImageCases], vocab_size=768, seed=0) -> CourseTokenizer:
    """BPE on the course's own text: every prompt and answer the training cases make."""
    rng = np.random.default_rng(seed)
    texts = []
    for c in cases.values():
        for i in range(len(c)):
            for question, answer in case_instructions(c, i, rng):
                texts += [build_prompt(c.modality, question), answer]
        texts.append("similar cases: " + ", ".join(f"{d.lower()} 1 of 5" for d in c.diagnoses))
    # the words and digits the specialists' hints use, which no template writes
    texts.append("specialist mome-mini: mstar-mini: 0.123456789 ().")
    return CourseTokenizer(vocab_size).fit(texts)


@dataclass
class Example:
    """One training example: which image, and the prompt and answer text."""

    modality: str
    index: int
    prompt: str
    answer: str
    blank_image: bool = False  # the image is hidden: the answer must come from the prompt


def diagnosis_question(cases: ImageCases, i: int) -> tuple[str, str]:
    """The multiple-choice question (options in a fixed order) and, as the answer, the
    diagnosis by name: ``"malignant."``. A letter and a name are two things a small model
    can get out of step ("(a) malignant" when (a) is benign); the name alone cannot."""
    question, _ = multiple_choice(cases, i)
    return question, f"{cases.diagnoses[int(cases.diagnosis[i])].lower()}."


def pretraining_examples(cases: dict[str, ImageCases]) -> list[Example]:
    """Every bootstrapped instruction of every case (visual questions, multiple choice with
    the options in a fixed order, report), with no retrieval or specialist."""
    return [
        Example(m, i, build_prompt(m, q), a)
        for m, c in cases.items()
        for i in range(len(c))
        for q, a in [*vqa_pairs(c, i), diagnosis_question(c, i), report(c, i)]
    ]


def tuning_examples(
    cases: dict[str, ImageCases],
    retrieved: dict[str, list[list[str]]],
    specialists: dict[str, Specialist],
    seed: int = 0,
    repeats: int = 2,
    report_share: float = 0.25,
    blank_share: float = 0.5,
    context_share: float = 0.7,
) -> list[Example]:
    """Multiple-choice diagnosis with every mix of context (retrieval and the specialist
    each present with probability ``context_share``), the image hidden in ``blank_share``
    of those with context, plus the reports of ``report_share`` of the cases (so that LoRA
    does not forget how to write one).

    retrieved: per modality, the diagnoses of each training case's neighbours (leave-one-out);
    specialists: per modality, out-of-fold predictions on the training cases.
    """
    rng = np.random.default_rng(seed)
    examples = []
    for m, c in cases.items():
        for i in range(len(c)):
            for _ in range(repeats):
                use_retrieval, use_specialist = rng.random(2) < context_share
                similar, hint = context(
                    i,
                    c,
                    retrieved[m] if use_retrieval else None,
                    specialists.get(m) if use_specialist else None,
                )
                question, answer = diagnosis_question(c, i)
                prompt = build_prompt(m, question, similar, hint)
                # Sometimes hide the image when there is context, so that the model has to
                # learn to read the context (modality dropout on the image).
                blank = bool(use_retrieval or use_specialist) and rng.random() < blank_share
                examples.append(Example(m, i, prompt, answer, blank))
            if rng.random() < report_share:  # a few reports, so LoRA does not unlearn them
                question, text = report(c, i)
                examples.append(Example(m, i, build_prompt(m, question), text))
    return examples
