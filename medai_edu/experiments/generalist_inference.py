"""MedDr-mini answering: a prompt's answer, multiple-choice diagnosis, short reports."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from medai_edu.data.instructions import ImageCases, parse_choice, report
from medai_edu.experiments.generalist_prompts import (
    build_prompt,
    context,
    diagnosis_question,
    encode_example,
    options_of,
)
from medai_edu.models.meddr import MedDrMini
from medai_edu.models.tokenizer import CourseTokenizer


def answer(
    model: MedDrMini,
    tokenizer: CourseTokenizer,
    image: np.ndarray | torch.Tensor,
    prompt: str,
    max_new_tokens: int = 40,
    **sampling,
) -> str:
    """The model's answer to ``prompt`` about ``image`` (3, s, s), greedy unless sampling
    options (temperature, top_k) are given."""
    ids, _ = encode_example(tokenizer, prompt)
    tokens = model.generate(
        torch.as_tensor(image, dtype=torch.float32),
        ids,
        max_new_tokens=max_new_tokens,
        stop_id=tokenizer.eos_id,
        **sampling,
    )
    return tokenizer.decode(tokens).strip()


@dataclass
class DiagnosisRun:
    """Predicted diagnosis index per case (-1: the answer named none), and the texts."""

    predicted: np.ndarray
    answers: list[str] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0


def diagnose(model, tokenizer, cases: ImageCases, retrieved=None, specialist=None):
    """Ask every case's multiple-choice question, optionally with retrieved diagnoses
    (a list per case) and a :class:`Specialist`; parse the answers."""
    predicted, answers, tokens, start = [], [], 0, time.perf_counter()
    for i in range(len(cases)):
        question, _ = diagnosis_question(cases, i)
        prompt = build_prompt(cases.modality, question, *context(i, cases, retrieved, specialist))
        text = answer(model, tokenizer, cases.images[i], prompt, max_new_tokens=12)
        options = options_of(question)
        choice = parse_choice(text, options)
        names = [d.lower() for d in cases.diagnoses]
        predicted.append(-1 if choice is None else names.index(options[choice]))
        answers.append(text)
        tokens += len(tokenizer.encode(text)) + 1
    seconds = time.perf_counter() - start
    return DiagnosisRun(np.array(predicted), answers, tokens, seconds)


def write_reports(model, tokenizer, cases: ImageCases, **sampling) -> list[str]:
    """The model's short report of every case; greedy unless ``sampling`` options
    (temperature, top_k, generator) are given."""
    prompt = build_prompt(cases.modality, report(cases, 0)[0])
    return [
        answer(model, tokenizer, cases.images[i], prompt, **sampling) for i in range(len(cases))
    ]
