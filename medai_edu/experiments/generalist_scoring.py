"""How good MedDr-mini's reports are: BLEU, ROUGE-L and the hallucination rate."""

from __future__ import annotations

import numpy as np

from medai_edu.data.instructions import ImageCases, hallucinated_findings, report, report_findings


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
