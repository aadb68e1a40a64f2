"""medai-edu benchmarks: one JSON line per figure on standard output and in
benchmarks/results/<name>.jsonl (committed from the run a note quotes).

    python benchmarks/run.py            # every benchmark
    python benchmarks/run.py --only data  # those whose name contains "data"

Each line: {"benchmark", "value", "unit", "target" (or null), "met" (or null), ...details}.
Speed and memory targets live here, never as timed assertions in tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

BENCHMARKS: dict[str, Callable[[], Iterator[dict]]] = {}


def benchmark(name: str):
    def register(fn):
        BENCHMARKS[name] = fn
        return fn

    return register


def figure(name, value, unit, target=None, higher_is_better=True, **details) -> dict:
    met = None
    if target is not None:
        met = bool(value >= target) if higher_is_better else bool(value <= target)
    return {
        "benchmark": name,
        "value": round(float(value), 4),
        "unit": unit,
        "target": target,
        "met": met,
        **details,
    }


@benchmark("data.breast_mri")
def bench_breast_mri() -> Iterator[dict]:
    from medai_edu.data import BreastMRIConfig, make_breast_mri_cohort

    n = 500
    make_breast_mri_cohort(2, seed=0)  # warm caches and imports
    start = time.perf_counter()
    cohort = make_breast_mri_cohort(n, seed=0)
    seconds = time.perf_counter() - start
    shape = "x".join(map(str, BreastMRIConfig().shape))
    yield figure(
        "data.breast_mri.cases_per_s",
        n / seconds,
        "cases/s",
        target=50,
        n=n,
        seconds=round(seconds, 2),
        shape=shape,
        modalities_channels=9,
    )
    yield figure("data.breast_mri.megabytes", cohort.dce.nbytes * 9 / 5 / 1e6, "MB", n=n)


@benchmark("data.slides")
def bench_slides() -> Iterator[dict]:
    from medai_edu.data.pathology import SlideConfig, make_slide, write_slide

    config = SlideConfig()
    n = 3
    make_slide(0, SlideConfig(width=512, height=512))  # warm imports
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        size = 0
        for seed in range(n):
            path = write_slide(make_slide(seed, config), Path(tmp) / f"slide{seed}.tiff")
            size += path.stat().st_size
        seconds = time.perf_counter() - start
    yield figure(
        "data.slides.slides_per_s",
        n / seconds,
        "slides/s",
        target=0.2,
        n=n,
        seconds=round(seconds, 2),
        size=f"{config.width}x{config.height}",
        megabytes_per_slide=round(size / n / 1e6, 2),
    )


def _seconds_to(history, target: float) -> float | None:
    """Training seconds until the validation AUROC first reached ``target`` (None if never)."""
    elapsed = 0.0
    for record in history.records:
        elapsed += record["seconds"]
        if record.get("val_auroc", 0) >= target:
            return elapsed
    return None


MOME_ORACLE_TOLERANCE = 0.02  # MOME-mini's target: the oracle ceiling minus this
MOME_REFERENCE_LEVEL = 0.8  # a validation AUROC both MOME-mini and DenseNet reach, for speed


def _mome_target() -> float:
    """The validation AUROC whose training time is timed: the oracle ceiling minus the
    tolerance (the issue's target for MOME-mini's internal AUROC)."""
    from medai_edu.data import oracle_auroc

    return round(oracle_auroc() - MOME_ORACLE_TOLERANCE, 4)


def _bench_seeds() -> tuple[int, ...]:
    """Training seeds of the MOME comparison: 3, or ``MEDAI_BENCH_SEEDS`` of them."""
    n = int(os.environ.get("MEDAI_BENCH_SEEDS", "3"))
    if n < 1:
        raise ValueError(f"MEDAI_BENCH_SEEDS must be >= 1, got {n}")
    return tuple(range(n))


@benchmark("mome")
def bench_mome_fidelity() -> Iterator[dict]:
    """MOME's comparison on synthetic data: single modalities, early/late fusion, MOME-mini,
    each trained with several seeds on one data set; every figure is a mean over the seeds
    with a 95 % interval over the seeds and one over the test cases (bootstrap)."""
    from medai_edu.experiments import make_fusion_data

    data = make_fusion_data()
    trained, rows = _train_and_compare(data, _bench_seeds(), time_budget_s=60)
    yield from _mome_auroc_figures(rows)
    yield from _mome_difference_figures(rows)
    yield from _mome_drop_figures(rows)
    yield from _mome_head_figures(rows)
    yield from _mome_oracle_figures(data, rows)
    yield from _mome_speed_figures(data, trained, densenet_budget_s=240)


def _train_and_compare(data, seeds, time_budget_s: float, n_boot: int = 1000):
    """Train every contender once per seed on ``data``; return ({seed: {contender:
    TrainedModel}}, the rows of ``compare_contenders``)."""
    from medai_edu.experiments import case_scores, compare_contenders, run_fusion_experiment

    trained, scores = {}, {}
    for seed in seeds:
        trained[seed], _ = run_fusion_experiment(
            data, time_budget_s=time_budget_s, progress=False, seed=seed
        )
        scores[seed] = {name: case_scores(entry, data) for name, entry in trained[seed].items()}
    return trained, compare_contenders(scores, n_boot=n_boot)


def _pick(rows, contender, measure, split) -> dict | None:
    found = [
        r for r in rows if (r["contender"], r["measure"], r["split"]) == (contender, measure, split)
    ]
    return found[0] if found else None


def _uncertainty(row: dict, prefix: str = "") -> dict:
    """A row's intervals as figure details (NaN seed bounds with one seed become null)."""

    def r(v):
        return None if math.isnan(v) else round(v, 4)

    return {
        f"{prefix}seed_ci95": [r(row["seed_low"]), r(row["seed_high"])],
        f"{prefix}bootstrap_ci95": [r(row["boot_low"]), r(row["boot_high"])],
        f"{prefix}per_seed": [r(v) for v in row["per_seed"]],
    }


def _mome_auroc_figures(rows) -> Iterator[dict]:
    """Every contender's malignancy AUROC, internal (hospitals A, B) and on hospital C."""
    for row in rows:
        if row["measure"] == "auroc" and row["split"] in ("internal", "hospital_c"):
            name = f"mome.auroc.{row['split']}"
            yield figure(
                name, row["mean"], "AUROC", contender=row["contender"], **_uncertainty(row)
            )


def _mome_difference_figures(rows, target: float = 0.02) -> Iterator[dict]:
    """MOME-mini minus early fusion: met when the mean gap reaches the target and its
    intervals (over cases; over seeds where there are several) lie above 0."""
    for split in ("internal", "hospital_c"):
        row = _pick(rows, "mome-mini - early fusion", "auroc_difference", split)
        above_zero = row["boot_low"] > 0 and not row["seed_low"] <= 0  # NaN: one seed
        yield {
            **figure(
                f"mome.mome_minus_early_fusion.{split}",
                row["mean"],
                "AUROC",
                target,
                **_uncertainty(row),
            ),
            "met": bool(row["mean"] >= target and above_zero),
            "met_rule": "mean >= target and both 95 % intervals above 0",
        }


def _mome_drop_figures(rows) -> Iterator[dict]:
    """AUROC lost (internal) with each modality missing: MOME-mini should lose less."""
    from medai_edu.data import MRI_SEQUENCES

    for m in MRI_SEQUENCES:
        mome = _pick(rows, "mome-mini", "auroc_drop", f"missing_{m}")
        early = _pick(rows, "early fusion", "auroc_drop", f"missing_{m}")
        yield {
            **figure(
                f"mome.drop_without_{m}",
                mome["mean"],
                "AUROC",
                round(early["mean"], 4),
                higher_is_better=False,
                **_uncertainty(mome),
            ),
            "met": bool(mome["mean"] < early["mean"]),
            "early_fusion_drop": round(early["mean"], 4),
            **_uncertainty(early, prefix="early_fusion_"),
        }


def _mome_head_figures(rows) -> Iterator[dict]:
    """pCR AUROC (neoadjuvant test cohort), triple-negative-vs-rest AUROC and subtype
    balanced accuracy of MOME-mini, beside the baseline with the best internal malignancy
    AUROC among those given the same heads (the CNNs: linear heads on frozen features)."""
    from medai_edu.data import pcr_oracle_auroc

    with_heads = {r["contender"] for r in rows if r["split"] == "pcr"}
    baselines = [
        r
        for r in rows
        if r["measure"] == "auroc"
        and r["split"] == "internal"
        and r["contender"] in with_heads - {"mome-mini"}
    ]
    best = max(baselines, key=lambda r: r["mean"])["contender"]
    yield figure("mome.pcr_oracle_auroc", pcr_oracle_auroc(), "AUROC", split="neoadjuvant")
    for measure, split, target in (
        ("auroc", "pcr", 0.75),
        ("auroc", "triple_negative", 0.85),
        ("balanced_accuracy", "subtype", None),
    ):
        mome, baseline = _pick(rows, "mome-mini", measure, split), _pick(rows, best, measure, split)
        details = {
            "best_baseline": best,
            "best_baseline_value": None,
            "note": f"{best} has a malignancy head only",
        }
        if baseline is not None:
            details = {
                "best_baseline": best,
                "best_baseline_value": round(baseline["mean"], 4),
                **_uncertainty(baseline, prefix="best_baseline_"),
            }
        unit = "AUROC" if measure == "auroc" else "balanced accuracy"
        yield figure(
            f"mome.{split}_{measure}", mome["mean"], unit, target, **_uncertainty(mome), **details
        )


def _mome_oracle_figures(data, rows, tolerance: float = MOME_ORACLE_TOLERANCE) -> Iterator[dict]:
    """The oracle ceiling (exact AUROC of the true malignancy probability) and MOME-mini's
    gap to it, internal."""
    from medai_edu.data import oracle_auroc

    oracle = oracle_auroc(data.test.dataset.cohort.config)
    yield figure("mome.oracle_auroc", oracle, "AUROC", split="internal")
    mome = _pick(rows, "mome-mini", "auroc", "internal")
    yield figure(
        "mome.gap_to_oracle",
        oracle - mome["mean"],
        "AUROC",
        tolerance,
        higher_is_better=False,
        mome_auroc=round(mome["mean"], 4),
        mome_bootstrap_ci95=[round(mome["boot_low"], 4), round(mome["boot_high"], 4)],
    )


def _mome_speed_figures(data, trained, densenet_budget_s: float) -> Iterator[dict]:
    """MOME-mini's training seconds to the target validation AUROC (mean over the seeds
    that reached it), beside MONAI's DenseNet121-3D (one seed)."""
    from medai_edu.experiments import train_model

    target = _mome_target()
    runs = [seeded["mome-mini"] for seeded in trained.values()]
    reached = [_seconds_to(run.history, target) for run in runs]
    hit = [s for s in reached if s is not None]
    mome_seconds = float(np.mean(hit)) if hit else float("nan")
    yield figure(
        "mome.best_val_auroc",
        np.mean([max(run.history["val_auroc"]) for run in runs]),
        "AUROC",
        target,
        per_seed=[round(max(run.history["val_auroc"]), 4) for run in runs],
        training_seconds=[round(run.seconds, 1) for run in runs],
    )
    yield figure(
        f"mome.seconds_to_{target}",
        mome_seconds,
        "s",
        target=60,
        higher_is_better=False,
        per_seed=[None if s is None else round(s, 1) for s in reached],
        seeds_reached=f"{len(hit)}/{len(runs)}",
    )
    densenet = train_model("densenet121-3d", data, time_budget_s=densenet_budget_s, progress=False)
    densenet_reached = _seconds_to(densenet.history, target)
    mome_or_total = mome_seconds if hit else float(np.mean([run.seconds for run in runs]))
    yield figure(
        "mome.densenet_seconds_ratio",
        (densenet_reached or densenet.seconds) / max(mome_or_total, 1e-6),
        "x",
        densenet_seconds=round(densenet.seconds, 1),
        densenet_reached_target=densenet_reached is not None,
        densenet_best_val_auroc=round(max(densenet.history["val_auroc"]), 4),
    )
    # A level both can reach, so that the speed ratio means something when neither
    # reaches the target.
    level = MOME_REFERENCE_LEVEL
    mome_at = [_seconds_to(run.history, level) for run in runs]
    densenet_at = _seconds_to(densenet.history, level)
    mome_mean = float(np.mean([s for s in mome_at if s is not None])) if any(mome_at) else None
    yield figure(
        f"mome.densenet_seconds_ratio_at_{level}",
        densenet_at / mome_mean if densenet_at and mome_mean else float("nan"),
        "x",
        mome_seconds_per_seed=[None if s is None else round(s, 1) for s in mome_at],
        densenet_seconds=None if densenet_at is None else round(densenet_at, 1),
    )


@benchmark("wsi.throughput")
def bench_wsi_throughput() -> Iterator[dict]:
    """Tissue mask, tiling and patch features on a 20,480^2 slide vs a plain OpenSlide loop."""
    from medai_edu.bench import benchmark_tiling

    for record in benchmark_tiling(feature="conv"):
        ratio = record.get("ratio_to_plain")
        if ratio is not None:
            record = {**record, "target_ratio": 3.0, "met": bool(ratio >= 3.0)}
        yield record


@benchmark("mstar")
def bench_mstar() -> Iterator[dict]:
    """mSTAR's comparison in miniature, made fair: four patch encoders read by the same
    slide heads, few-shot with paired draws, survival by repeated grouped cross-validation
    against the oracle, zero-shot by class prompts, label leakage, pretraining time."""
    from medai_edu.data.pathology import make_slide_bags

    train = make_slide_bags(120, seed=0, progress=True)  # pretraining cohort
    held = make_slide_bags(180, seed=1, progress=True)  # held-out cohort, other patients
    from medai_edu.experiments import pretrain_all

    start = time.perf_counter()
    encoders = pretrain_all(train)
    yield figure(
        "mstar.pretraining_seconds",
        time.perf_counter() - start,
        "s",
        target=180.0,
        higher_is_better=False,
        slides=len(train),
    )
    yield from _mstar_feature_change(encoders, held)
    yield from _mstar_few_shot(encoders, held)
    yield from _mstar_survival(encoders, held)
    yield from _mstar_zero_shot(encoders, held)
    yield from _mstar_label_leakage(encoders, train, held)


def _mstar_models(encoders) -> dict:
    from medai_edu.experiments import ENCODER_NAMES

    return {ENCODER_NAMES[key]: getattr(encoders, key) for key in ENCODER_NAMES}


def _mstar_feature_change(encoders, held) -> Iterator[dict]:
    from medai_edu.experiments import patch_features

    before = patch_features(encoders.stage1, held)[held.tile_mask]
    after = patch_features(encoders.stage2, held)[held.tile_mask]
    cosine = torch.nn.functional.cosine_similarity(before, after).mean()
    yield figure(
        "mstar.stage2_feature_cosine_to_stage1",
        cosine,
        "cosine",
        tiles=len(before),
        note="1.0 would mean stage 2 left the patch features unchanged",
    )


def _split_by_patient(bags, share: float = 0.5, seed: int = 0):
    patients = bags.patient.numpy()
    unique = np.random.default_rng(seed).permutation(np.unique(patients))
    chosen = set(unique[: int(len(unique) * share)].tolist())
    support = np.array([p in chosen for p in patients])
    return bags.subset(np.flatnonzero(support)), bags.subset(np.flatnonzero(~support))


def _mstar_few_shot(encoders, held) -> Iterator[dict]:
    from medai_edu.experiments import (
        encoder_features,
        few_shot_draws,
        paired_difference,
        summarise_draws,
    )

    support, test = _split_by_patient(held)
    models = _mstar_models(encoders)
    features, test_features = encoder_features(models, support), encoder_features(models, test)
    targets = {
        ("abmil", "(a) random"): 0.10,
        ("abmil", "(b) tiles alone"): 0.03,
        ("mean", "(b) tiles alone"): 0.02,
        ("mean", "(a) random"): None,
    }
    for label in ("tumour_type", "grade"):
        rows = few_shot_draws(features, support, test_features, test, label=label)
        summary = summarise_draws(rows)
        for row in summary:
            yield {
                "benchmark": f"mstar.few_shot.{label}.{row['head']}",
                **{k: _round(v) for k, v in row.items()},
                "draws": 20,
                "support_slides": len(support),
                "test_slides": len(test),
            }
        for (head, other), target in targets.items():
            diff = paired_difference(rows, "(d) stage 2", other, head, 4)
            met = None if target is None else bool(diff["difference"] >= target and diff["low"] > 0)
            yield {
                "benchmark": f"mstar.{label}.{head}.d_minus_{other[1]}_at_4",
                "value": round(diff["difference"], 4),
                "unit": "AUROC",
                "target": target,
                "met": met,
                "low": round(diff["low"], 4),
                "high": round(diff["high"], 4),
                "interval": "95 % bootstrap over paired draws",
            }
        for head in ("mean", "abmil"):
            _plot_few_shot([r for r in summary if r["head"] == head], label, head)


def _mstar_survival(encoders, held) -> Iterator[dict]:
    from medai_edu.data.pathology import survival_oracle_cindex
    from medai_edu.experiments import (
        cindex_summary,
        cohort_oracle_cindex,
        encoder_features,
        paired_cindex_difference,
        survival_cross_validation,
    )

    models = _mstar_models(encoders)
    features = encoder_features(models, held)
    oracle = cohort_oracle_cindex(held)
    generator = survival_oracle_cindex()
    yield figure("mstar.survival.oracle_cindex.cohort", oracle, "C-index", slides=len(held))
    yield figure(
        "mstar.survival.oracle_cindex.generator",
        generator["oracle"],
        "C-index",
        stage_only=round(generator["stage_only"], 4),
        slide_only=round(generator["slide_only"], 4),
        cases=4000,
    )
    for with_stage in (True, False):
        risks = survival_cross_validation(features, held, with_stage=with_stage)
        inputs = "stage + slide" if with_stage else "slide alone"
        for (name, head), risk in risks.items():
            summary = cindex_summary(risk, held)
            yield figure(
                f"mstar.survival.{head}.{'stage_slide' if with_stage else 'slide'}",
                summary["c_index"],
                "C-index",
                encoder=name,
                inputs=inputs,
                repeat_low=round(summary["low"], 4),
                repeat_high=round(summary["high"], 4),
                folds=5,
                repeats=3,
            )
        if not with_stage:
            continue
        for head in ("cox", "abmil"):
            diff = paired_cindex_difference(
                risks["(d) stage 2", head], risks["(a) random", head], held
            )
            met = bool(diff["difference"] >= 0.03 and diff["low"] > 0)
            yield {
                "benchmark": f"mstar.survival.{head}.d_minus_a",
                "value": round(diff["difference"], 4),
                "unit": "C-index",
                "target": 0.03,
                "met": met,
                "low": round(diff["low"], 4),
                "high": round(diff["high"], 4),
                "interval": "95 % bootstrap over patients",
            }
            d = cindex_summary(risks["(d) stage 2", head], held)["c_index"]
            yield figure(
                f"mstar.survival.{head}.d_gap_to_oracle",
                oracle - d,
                "C-index",
                target=0.05,
                higher_is_better=False,
                oracle=round(oracle, 4),
            )
        _plot_kaplan_meier(risks["(d) stage 2", "cox"].mean(0), held)


def _mstar_zero_shot(encoders, held) -> Iterator[dict]:
    from medai_edu.experiments import retrieval_recall, slide_embeddings, zero_shot_accuracy

    tokens = encoders.tokenizer.transform(held.reports)
    for key, name in (("stage1", "(c) stage 1"), ("stage2", "(d) stage 2")):
        model = getattr(encoders, key)
        scores = zero_shot_accuracy(model, encoders.tokenizer, held)
        yield figure(
            f"mstar.zero_shot.tumour_type.{key}",
            scores["accuracy"],
            "accuracy",
            encoder=name,
            chance=round(1 / 3, 4),
            balanced_accuracy=round(scores["balanced_accuracy"], 4),
            auroc=round(scores["auroc"], 4),
            slides=len(held),
        )
        with torch.no_grad():
            reports = model.report_encoder(tokens).numpy()
        recall = retrieval_recall(slide_embeddings(model, held, "aggregator"), reports)
        for k in (1, 5):
            yield figure(
                f"mstar.retrieval_recall@{k}.{key}",
                recall[f"recall@{k}"],
                "fraction",
                encoder=name,
                chance=round(k / len(held), 4),
            )


def _mstar_label_leakage(encoders, train, held) -> Iterator[dict]:
    """Stage 1 on reports that name the diagnosis vs on morphology-only reports: zero-shot
    by the diagnosis names alone. High with the leaky reports: they taught the labels."""
    import copy

    from medai_edu.data.pathology import CaseConfig, make_slide_bags
    from medai_edu.experiments import train_stage1, zero_shot_accuracy
    from medai_edu.models import ReportTokenizer

    names = {
        "adenocarcinoma": ("invasive adenocarcinoma",),
        "squamous cell carcinoma": ("squamous cell carcinoma",),
        "small cell carcinoma": ("small cell carcinoma",),
    }
    leaky = make_slide_bags(len(train), seed=0, cases=CaseConfig(report="diagnostic"))
    for style, bags in (("morphology", train), ("diagnostic", leaky)):
        torch.manual_seed(0)
        model = copy.deepcopy(encoders.tiles_only)
        tokenizer = ReportTokenizer(model.config.vocab_size).fit(bags.reports)
        train_stage1(model, bags, tokenizer)
        scores = zero_shot_accuracy(model, tokenizer, held, prompts=names)
        yield figure(
            f"mstar.label_leakage.zero_shot_by_name.{style}_reports",
            scores["accuracy"],
            "accuracy",
            chance=round(1 / 3, 4),
        )


def _plot_kaplan_meier(risk, held) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medai_edu.viz import plot_kaplan_meier

    tertile = np.searchsorted(np.quantile(risk, [1 / 3, 2 / 3]), risk)
    fig = plot_kaplan_meier(
        held.months.numpy(),
        held.event.numpy(),
        tertile,
        ["lowest third of risk", "middle third", "highest third"],
        "Held-out slides by (d)'s out-of-fold Cox risk (stage + slide)",
    )
    out = Path(__file__).resolve().parent / "results"
    fig.savefig(out / "mstar_kaplan_meier.png", dpi=120)
    plt.close(fig)


@benchmark("meddr.fidelity")
def bench_meddr_fidelity() -> Iterator[dict]:
    """MedDr-mini: diagnosis accuracy alone, with retrieval, with the specialist, with both;
    report BLEU, ROUGE-L and hallucination rate; training time and decoding speed."""
    from medai_edu.experiments import (
        accuracy_table,
        make_generalist_data,
        report_scores,
        train_generalist,
        write_reports,
    )

    start = time.perf_counter()
    data = make_generalist_data(n_train=300, n_test=100, seed=0)
    yield figure("meddr.data_seconds", time.perf_counter() - start, "s")
    trained = train_generalist(data)
    yield figure("meddr.training_seconds", trained.seconds["total"], "s", 180, False)
    rows = accuracy_table(trained, data)
    for row in rows:
        yield {"benchmark": "meddr.accuracy", **{k: _round(v) for k, v in row.items()}}
    yield from _meddr_targets(rows)
    speeds = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r]
    yield figure("meddr.generation_tokens_per_s", float(np.median(speeds)), "tokens/s")
    for modality, cases in data.test.items():
        reports = write_reports(trained.model, trained.tokenizer, cases)
        scores = report_scores(reports, cases)
        for name, value in scores.items():
            yield figure(f"meddr.report.{name}", value, REPORT_UNITS[name], modality=modality)


#: Units of :func:`medai_edu.experiments.generalist.report_scores`' figures.
REPORT_UNITS = {
    "bleu": "BLEU (0-100)",
    "rouge_l": "F1 (0-1)",
    "hallucination_rate": "fraction",
    "correct_findings": "fraction",
}


def _meddr_targets(rows) -> Iterator[dict]:
    """Retrieval's gain (mean over modalities, points) and the full system against the
    specialist alone (each modality that has one)."""
    acc = {(r["modality"], r["setting"]): r["accuracy"] for r in rows}
    modalities = sorted({m for m, _ in acc})
    gain = np.mean([acc[m, "+ retrieval"] - acc[m, "generalist"] for m in modalities])
    yield figure("meddr.retrieval_gain_points", 100 * gain, "points", 5.0)
    for m in modalities:
        if (m, "specialist alone") in acc:
            margin = acc[m, "+ both"] - acc[m, "specialist alone"]
            yield figure(f"meddr.{m}.full_minus_specialist", 100 * margin, "points", 0.0)


@benchmark("xaim.explanations")
def bench_xaim_explanations() -> Iterator[dict]:
    """Each explanation method of MOME-mini (breast-MRI lesions) and mSTAR-mini (tumour
    tiles of a slide): pointing game, mask overlap, deletion and insertion areas against a
    random attribution, the randomisation sanity check, and time per explanation."""
    from medai_edu.experiments import (
        fit_slide_classifier,
        make_mri_cases,
        make_slide_cases,
        mri_method_table,
        slide_method_table,
    )
    from medai_edu.models import create_model

    mome = create_model("mome-mini", pretrained=True)
    rows = mri_method_table(mome, make_mri_cases(40))
    stage2 = create_model("mstar-mini", pretrained="stage2")
    slides = fit_slide_classifier(stage2, make_slide_cases(60, 21).bags)
    rows += slide_method_table(slides, make_slide_cases(40))
    for row in rows:
        details = {"model": row["model"], "method": row["method"]}
        yield figure(
            "xaim.pointing_game",
            row["pointing_game"],
            "fraction",
            None,
            chance=round(row["random_pointing_game"], 3),
            **details,
        )
        yield figure("xaim.mask_overlap", row["mask_overlap"], "IoU (0-1)", **details)
        deletion = figure(
            "xaim.deletion_area",
            row["deletion_area"],
            "area (0-1)",
            random=round(row["random_deletion_area"], 3),
            p=round(row["deletion_p"], 4),
            **details,
        )
        deletion |= {"target": "below random (Wilcoxon p < 0.05)", "met": row["deletion_p"] < 0.05}
        yield deletion
        yield figure(
            "xaim.insertion_area",
            row["insertion_area"],
            "area (0-1)",
            random=round(row["random_insertion_area"], 3),
            **details,
        )
        yield figure("xaim.sanity_correlation", row["sanity_correlation"], "Spearman r", **details)
        yield figure("xaim.seconds_per_explanation", row["seconds_per_explanation"], "s", **details)
    yield _best_pointing_line(rows)


IG_OR_GRADCAM = ("gradcam", "integrated_gradients")


def _best_pointing_line(rows) -> dict:
    """The target: Grad-CAM or Integrated Gradients finds MOME-mini's lesions in >= 80 %."""
    best = max(
        (r for r in rows if r["model"] == "mome-mini" and r["method"] in IG_OR_GRADCAM),
        key=lambda r: r["pointing_game"],
    )
    return figure(
        "xaim.pointing_game.gradcam_or_ig",
        best["pointing_game"],
        "fraction",
        0.8,
        model="mome-mini",
        method=best["method"],
    )


@benchmark("xaim.concepts")
def bench_xaim_concepts() -> Iterator[dict]:
    """Concept bottlenecks on held-out cases: each concept's accuracy, the diagnosis made
    from the concepts, how often the textual explanation of a correct diagnosis cites only
    true concepts; a test-time intervention; TCAV on MOME-mini, which never saw a concept."""
    from medai_edu.data import make_breast_mri_cohort
    from medai_edu.data.pathology import make_slide_bags
    from medai_edu.explain import (
        ALL_TILES,
        concept_accuracy,
        fit_mri_concepts,
        fit_slide_concepts,
        slide_concept_labels,
        text_agreement,
    )

    mri = fit_mri_concepts()
    test = make_breast_mri_cohort(400, seed=1)
    slides = fit_slide_concepts()
    test_slides = make_slide_bags(120, seed=22, max_tiles=ALL_TILES)
    for name, model, truth, diagnosis, data in [
        ("mri", mri, test.concepts(), test.malignant, test),
        ("slides", slides, slide_concept_labels(test_slides), test_slides.tumour_type, test_slides),
    ]:
        x = model.features(data)
        predicted = {k: p.argmax(1) for k, p in model.bottleneck.predict_concepts(x).items()}
        truth = {k: np.asarray(truth[k]) for k in predicted}
        accuracy = concept_accuracy(predicted, truth)
        for concept, value in accuracy.items():
            target = 0.9 if concept == "mean" else None
            yield figure(
                f"xaim.concepts.{name}.accuracy", value, "fraction", target, concept=concept
            )
        right = model.bottleneck.predict(x) == np.asarray(diagnosis)
        yield figure(f"xaim.concepts.{name}.diagnosis_accuracy", right.mean(), "fraction")
        agreement = text_agreement(model.bottleneck, x, truth, diagnosis)
        yield figure(f"xaim.concepts.{name}.text_agreement", agreement, "fraction", 0.9)
        yield figure(f"xaim.concepts.{name}.fit_seconds", sum(model.seconds.values()), "s")
    yield from _intervention_and_tcav(mri, test)


def _intervention_and_tcav(mri, test) -> Iterator[dict]:
    from medai_edu.data import make_breast_mri_cohort
    from medai_edu.explain import tcav
    from medai_edu.models import create_model

    x = mri.features(test)
    for value in ("washout", "persistent"):
        p = mri.bottleneck.predict_proba(x, interventions={"kinetic": value})[:, 1].mean()
        yield figure("xaim.concepts.mri.intervention", p, "mean P(malignant)", kinetic=value)
    yield figure(
        "xaim.concepts.mri.intervention",
        mri.bottleneck.predict_proba(x)[:, 1].mean(),
        "mean P(malignant)",
        kinetic="as predicted",
    )
    mome = create_model("mome-mini", pretrained=True)
    cohort = make_breast_mri_cohort(300, seed=5)
    yield from _tcav_lines(mome, cohort, tcav)


def _tcav_lines(mome, cohort, tcav) -> Iterator[dict]:
    from torch.utils.data import DataLoader

    from medai_edu.data import BreastMRIDataset

    inputs, _ = next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=len(cohort))))

    def select(flags):
        return {m: v[torch.as_tensor(flags)] for m, v in inputs.items()}

    malignant = select(cohort.malignant == 1)
    rng = np.random.default_rng(0)
    concepts = {
        ("dce", "washout kinetics"): cohort.kinetic == 2,
        ("dce", "persistent kinetics"): cohort.kinetic == 0,
        ("dwi", "restricted diffusion"): cohort.diffusion_restricted == 1,
        ("dce", "random half of the cases"): rng.random(len(cohort)) < 0.5,
    }
    for (layer, concept), flags in concepts.items():
        result = tcav(
            mome,
            mome.embed[layer],
            select(flags),
            select(~flags),
            malignant,
            lambda out: out["malignant"],
        )
        yield figure(
            "xaim.tcav",
            result["score"],
            "fraction of malignant cases",
            layer=layer,
            concept=concept,
            random=round(result["random_score"], 3),
            p=round(result["p_value"], 5),
            cav_accuracy=round(result["cav_accuracy"], 3),
        )


@benchmark("demo.load")
def bench_demo_load() -> Iterator[dict]:
    """The demo app with a class at once: start-up time with the models cached, then 20
    gradio_client users at once, 5 single-case requests each, per tab: p50 and p95
    latency and the error count (127.0.0.1, the server and the clients on the same cores)."""
    from medai_edu.demos import TAB_CALLS, measure_load, start_server, stop_server

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "demo.log")
        try:
            yield figure("demo.start_seconds", server.start_seconds, "s", 20.0, False)
            for tab in TAB_CALLS:
                result = measure_load(server.url, tab, clients=20, requests=5)
                details = {"tab": tab, "clients": 20, "requests": len(result.latencies)}
                target = 2.0 if tab in ("mome-mini", "mstar-mini") else None
                p95 = result.percentile(95)
                yield figure("demo.latency_p50", result.percentile(50), "s", **details)
                yield figure("demo.latency_p95", p95, "s", target, False, **details)
                errors = len(result.errors)
                yield figure(
                    "demo.errors", errors, "count", 0, False, **details, first=result.errors[:1]
                )
        finally:
            stop_server(server.process)


@benchmark("grading.throughput")
def bench_grading() -> Iterator[dict]:
    """40 submissions of one assignment (20 correct, 10 partly correct, 10 broken, from the
    samples in autograder/samples/), graded by plain ``nbgrader autograde`` and by
    ``medai-edu grade`` (2 workers, sandboxed) on copies of the same course: wall time,
    throughput ratio (target 1.7x on 2 cores) and whether the honest submissions got
    identical scores."""
    import shutil
    import subprocess

    from nbgrader.api import Gradebook

    from medai_edu.grading import grade_assignment

    assignment = "data-and-metrics"
    root = Path(__file__).resolve().parents[1] / "autograder"
    mix = {"alice": 20, "bob": 10, "carol": 10}
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as tmp:
        courses = {}
        for who in ("nbgrader", "medai"):
            course = Path(tmp) / who
            shutil.copytree(root, course, ignore=shutil.ignore_patterns("gradebook.db", "release"))
            subprocess.run(
                [
                    nbgrader,
                    "generate_assignment",
                    assignment,
                    "--force",
                    f"--CourseDirectory.root={course}",
                ],
                cwd=course,
                check=True,
                capture_output=True,
                env=env,
            )
            for sample, count in mix.items():
                for k in range(count):
                    folder = course / "submitted" / f"{sample}-{k:02d}" / assignment
                    folder.mkdir(parents=True)
                    shutil.copy(
                        root / "samples" / assignment / sample / f"{assignment}.ipynb", folder
                    )
            courses[who] = course
        start = time.perf_counter()
        subprocess.run(
            [
                nbgrader,
                "autograde",
                assignment,
                "--force",
                f"--CourseDirectory.root={courses['nbgrader']}",
            ],
            cwd=courses["nbgrader"],
            check=True,
            capture_output=True,
            env=env,
        )
        plain = time.perf_counter() - start
        start = time.perf_counter()
        grade_assignment(courses["medai"], assignment, jobs=2, progress=False)
        ours = time.perf_counter() - start
        scores = {}
        for who, course in courses.items():
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                scores[who] = {
                    s.student.id: s.score for s in gb.find_assignment(assignment).submissions
                }
        similarity = list(_similarity_200(root, courses["medai"] / "release", assignment))
    honest = [s for s in scores["nbgrader"] if not s.startswith("carol")]
    same = sum(abs(scores["nbgrader"][s] - scores["medai"][s]) < 1e-9 for s in honest)
    yield figure("grading.nbgrader_autograde_seconds", plain, "s", submissions=40)
    yield figure("grading.medai_grade_seconds", ours, "s", submissions=40, jobs=2)
    yield figure("grading.throughput_ratio", plain / ours, "x", 1.7)
    yield figure(
        "grading.identical_honest_scores", same, "submissions", len(honest), honest=len(honest)
    )
    yield from similarity


def _similarity_200(root: Path, release: Path, assignment: str) -> Iterator[dict]:
    """The similarity report for 200 submissions: each student's solution cells drawn at
    random from the three samples' (so many pairs are alike, the report's worst case),
    with every identifier renamed per student."""
    import random
    import re
    import shutil

    import nbformat

    from medai_edu.grading import course_report, grade_id

    rng = random.Random(0)
    samples = [
        nbformat.read(root / "samples" / assignment / who / f"{assignment}.ipynb", 4)
        for who in ("alice", "bob", "carol")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(root / "source", course / "source")
        shutil.copytree(release, course / "release")  # the starter code, as students got it
        for k in range(200):
            nb = nbformat.from_dict(dict(samples[0]))
            for cell in nb.cells:
                if (grade_id(cell) or "").endswith("_solution"):
                    donor = rng.choice(samples)
                    source = next(c.source for c in donor.cells if grade_id(c) == grade_id(cell))
                    cell.source = re.sub(r"\b(n|i|y|p|scores)\b", rf"\1_{k}", source)
            folder = course / "submitted" / f"student-{k:03d}" / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{assignment}.ipynb")
        start = time.perf_counter()
        pairs = course_report(course, assignment, Path(tmp) / "report.html")
        seconds = time.perf_counter() - start
    yield figure(
        "grading.similarity_seconds", seconds, "s", submissions=200, pairs_reported=len(pairs)
    )


@benchmark("hub.load")
def bench_hub_load() -> Iterator[dict]:
    """10 students at once on the local hub: log in through the form, start a server, run the
    first three cells of lab 1 (imports, a DICOM header, a figure) in a new kernel."""
    from medai_edu.bench import first_cells, simulate_class

    repo = Path(__file__).resolve().parents[1]
    lab = repo / "labs" / "medical-ai" / "01-medical-images-as-data.ipynb"
    students = 10
    start = time.perf_counter()
    result = simulate_class(repo / "labs" / "hub", first_cells(lab), students)
    wall = time.perf_counter() - start
    spawn, cells = result.spawn_seconds, result.cell_seconds
    yield figure("hub.spawn_p50_seconds", result.percentile(spawn, 50), "s", students=students)
    yield figure("hub.spawn_p95_seconds", result.percentile(spawn, 95), "s", students=students)
    yield figure("hub.cell_round_trip_p95_seconds", result.percentile(cells, 95), "s")
    yield figure("hub.errors", len(result.errors), "errors", 0, higher_is_better=False)
    yield figure("hub.hub_memory_peak_mb", result.hub_rss_mb, "MiB", proxy=result.proxy_rss_mb)
    yield figure("hub.class_wall_seconds", wall, "s", students=students)
    for error in result.errors:
        print(error, file=sys.stderr)


@benchmark("labs.execution")
def bench_labs() -> Iterator[dict]:
    """Each lab's wall time, top to bottom in a fresh kernel, against its budget."""
    import nbformat
    from nbclient import NotebookClient

    root = Path(__file__).resolve().parents[1] / "labs"
    for path in sorted(root.rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        client.execute()
        budget = LAB_BUDGETS_S.get(path.stem, 60)
        name = f"labs.{path.parent.name}.{path.stem}"
        yield figure(name, time.perf_counter() - start, "s", budget, higher_is_better=False)


@benchmark("book.build")
def bench_book() -> Iterator[dict]:
    """The book as `make book` builds it, into an empty output folder: the first build
    (every lab and lecture note executed), then a rebuild with nothing changed (all from
    the execution cache); and each notebook's execution time as the cache recorded it.
    Targets on 2 cores: under 15 minutes, and under 1 minute."""
    import subprocess

    from jupyter_cache import get_cache

    root = Path(__file__).resolve().parents[1]
    jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
    with tempfile.TemporaryDirectory(prefix="medai-book-") as tmp:
        command = [jupyter_book, "build", str(root / "book"), "--path-output", tmp]
        command += ["--warningiserror", "--keep-going"]
        seconds = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            seconds.append(time.perf_counter() - start)
        cache = get_cache(str(Path(tmp) / "_build" / ".jupyter_cache"))
        executed = {
            Path(record.uri).relative_to(root).with_suffix("").as_posix(): record.data
            for record in cache.list_cache_records()
        }
    yield figure("book.first_build_seconds", seconds[0], "s", 15 * 60, higher_is_better=False)
    yield figure("book.cached_rebuild_seconds", seconds[1], "s", 60, higher_is_better=False)
    for name, data in sorted(executed.items()):
        yield figure(f"book.execute.{name}", data.get("execution_seconds", float("nan")), "s")


#: Labs with a budget other than a minute on 2 CPU cores.
LAB_BUDGETS_S = {"05-build-a-medical-gpt": 120}


def _round(value):
    return round(value, 4) if isinstance(value, float) else value


def _plot_few_shot(rows, label, head) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medai_edu.viz import plot_few_shot_curves

    title = f"Few-shot {label.replace('_', ' ')}, held-out slides, {head} head for all"
    fig = plot_few_shot_curves(rows, title)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    fig.savefig(out / f"mstar_few_shot_{label}_{head}.png", dpi=120)
    plt.close(fig)


def _strict(line: dict) -> dict:
    """NaN (a figure that does not exist, e.g. a never-reached target) becomes JSON null."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in line.items()}


def environment() -> dict:
    return {
        "benchmark": "environment",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run benchmarks whose name contains this text")
    args = parser.parse_args(argv)
    print(json.dumps(environment()), flush=True)
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    for name, fn in BENCHMARKS.items():
        if args.only and args.only not in name:
            continue
        with open(results / f"{name}.jsonl", "w", encoding="utf-8") as record:
            record.write(json.dumps(environment()) + "\n")
            for line in fn():
                text = json.dumps(_strict(line))
                print(text, flush=True)
                record.write(text + "\n")
                record.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
