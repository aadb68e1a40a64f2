"""How well MedDr-mini does: diagnosis accuracy in each prompt setting, report quality."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from medai_edu.data.instructions import ImageCases, hallucinated_findings, report, report_findings
from medai_edu.experiments.generalist_inference import diagnose

if TYPE_CHECKING:
    from medai_edu.experiments.generalist import GeneralistData, TrainedGeneralist

#: Settings of the comparison: (retrieval in the prompt, specialist in the prompt).
SETTINGS = {
    "generalist": (False, False),
    "+ retrieval": (True, False),
    "+ specialist": (False, True),
    "+ both": (True, True),
}


def accuracy_table(trained: TrainedGeneralist, data: GeneralistData) -> list[dict]:
    """Rows {modality, setting, accuracy, n}: the generalist alone, with retrieval, with the
    specialist, with both, and the specialist alone; plus decoding speed."""
    rows = []
    model, tokenizer = trained.model, trained.tokenizer
    for m, cases in data.test.items():
        retrieved = trained.index.retrieve(model, m, cases.images)
        specialist = data.test_specialists.get(m)
        for setting, (use_retrieval, use_specialist) in SETTINGS.items():
            if use_specialist and specialist is None:
                continue
            run = diagnose(
                model,
                tokenizer,
                cases,
                retrieved if use_retrieval else None,
                specialist if use_specialist else None,
            )
            accuracy = float((run.predicted == cases.diagnosis).mean())
            rows.append(
                {
                    "modality": m,
                    "setting": setting,
                    "accuracy": accuracy,
                    "n": len(cases),
                    "tokens_per_s": run.tokens / run.seconds,
                }
            )
        if specialist is not None:
            alone = float((specialist.probabilities.argmax(1) == cases.diagnosis).mean())
            rows.append({"modality": m, "setting": "specialist alone", "accuracy": alone})
    return rows


def report_scores(generated: list[str], cases: ImageCases) -> dict[str, float]:
    """BLEU (sacrebleu, 0-100) and ROUGE-L F1 (rouge-score, 0-1) against the template
    reports; the hallucination rate (the fraction of reports naming a finding the case
    does not have) and the share of the cases' findings stated correctly (0-1)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    references = [report(cases, i)[1] for i in range(len(cases))]
    bleu = sacrebleu.corpus_bleu(generated, [references]).score
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rouge = np.mean(
        [scorer.score(r, g)["rougeL"].fmeasure for r, g in zip(references, generated, strict=True)]
    )
    wrong = [bool(hallucinated_findings(g, cases, i)) for i, g in enumerate(generated)]
    right = [_correct_share(g, cases, i) for i, g in enumerate(generated)]
    return {
        "bleu": float(bleu),
        "rouge_l": float(rouge),
        "hallucination_rate": float(np.mean(wrong)),
        "correct_findings": float(np.mean(right)),
    }


def _correct_share(text: str, cases: ImageCases, i: int) -> float:
    """Fraction of case ``i``'s concepts the text states with the right value (an empty or
    garbled report hallucinates nothing, and gets nothing right either)."""
    stated = report_findings(text, cases.modality)
    truth = cases.concepts_of(i)
    return sum(stated.get(k) == v for k, v in truth.items()) / len(truth)
