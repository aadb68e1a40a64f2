"""The breast mpMRI fusion experiment: single modalities, early and late fusion, MOME-mini.

It reproduces the shape of MOME's comparison (arXiv 2408.12606) on synthetic data: train on
two hospitals, test on held-out cases of the same hospitals (internal) and on a third
hospital (external), with every modality and with each one missing at test time. The
fidelity benchmark and the "fusing modalities" lab both call :func:`run_fusion_experiment`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from medai_edu import metrics
from medai_edu.data import BreastMRIConfig, BreastMRIDataset, make_breast_mri_cohort
from medai_edu.data.datasets import MRI_SEQUENCES
from medai_edu.experiments.breast_heads import (
    baseline_head_scores,
    fit_task_heads,
    subtype_scores,
)
from medai_edu.models import create_model
from medai_edu.models.baselines import LateFusion, malignancy_loss
from medai_edu.models.mome import MOMEMini, mome_loss
from medai_edu.models.pretrained import CHECKPOINTS, same_file
from medai_edu.train import History, device_of, fit, load_checkpoint, predict, save_checkpoint

INTERNAL_SITES = (0.5, 0.5, 0.0)  # hospitals A and B; C is kept for external validation

#: MOME-mini's training recipe (its model defaults are the rest), chosen on the validation
#: cases of data seed 0, one training seed, 60 s each: the candidates and their figures are
#: in ``book/reference/mome-mini.md``. One epoch of warm-up, then a cosine decay planned
#: over 9 epochs; on two cores a 60 s budget stops it after about 6 (a 6-epoch schedule
#: that ends within the budget did worse on validation: 0.793 against 0.851).
MOME_RECIPE_FIT = {"epochs": 9, "schedule": "cosine", "warmup_epochs": 1}


@dataclass
class FusionData:
    """Train/validation/test loaders; ``external`` holds cases from the unseen hospital.

    ``train_unshuffled`` is the training cohort in order, without flips (for fitting heads
    on frozen features); ``neoadjuvant_*`` hold neoadjuvant cohorts (malignant tumours of
    2-3 cm, hospitals A/B) for the pCR head.
    """

    train: DataLoader
    val: DataLoader
    test: DataLoader
    external: DataLoader
    train_unshuffled: DataLoader | None = None
    neoadjuvant_train: DataLoader | None = None
    neoadjuvant_val: DataLoader | None = None
    neoadjuvant_test: DataLoader | None = None


def make_fusion_data(
    n_train=1600,
    n_val=300,
    n_test=300,
    seed=0,
    batch_size=32,
    progress=False,
    n_neoadjuvant=(600, 200, 300),
) -> FusionData:
    """Cohorts with disjoint seeds: internal from hospitals A/B, external from hospital C,
    and neoadjuvant (train, validation, test) cohorts of ``n_neoadjuvant`` cases from
    hospitals A/B (``None``: none).

    The training loader shuffles and mirrors cases left-right at random.
    """
    internal = BreastMRIConfig(site_probs=INTERNAL_SITES)
    neoadjuvant = BreastMRIConfig(site_probs=INTERNAL_SITES, neoadjuvant=True)

    def loader(n, offset, shuffle=False, **kwargs):
        cohort = make_breast_mri_cohort(n, seed=seed * 1000 + offset, progress=progress, **kwargs)
        dataset = BreastMRIDataset(cohort, flip=shuffle)
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)

    train = loader(n_train, 1, shuffle=True, config=internal)
    data = FusionData(
        train=train,
        val=loader(n_val, 2, config=internal),
        test=loader(n_test, 3, config=internal),
        external=loader(n_test, 4, site=2),
        train_unshuffled=DataLoader(
            BreastMRIDataset(train.dataset.cohort, flip=False), batch_size=batch_size
        ),
    )
    if n_neoadjuvant:
        n_tr, n_va, n_te = n_neoadjuvant
        data.neoadjuvant_train = loader(n_tr, 5, config=neoadjuvant)
        data.neoadjuvant_val = loader(n_va, 6, config=neoadjuvant)
        data.neoadjuvant_test = loader(n_te, 7, config=neoadjuvant)
    return data


def malignancy_auroc(outputs, targets) -> dict[str, float]:
    return {"auroc": metrics.auroc(targets["malignant"], outputs["malignant"])}


@dataclass
class TrainedModel:
    name: str
    model: torch.nn.Module
    seconds: float
    history: object = None


#: MOME-mini's malignancy loss alone: MOME fine-tunes each task on its own; the pCR and
#: subtype heads are fitted afterwards (:func:`fit_task_heads`).
mome_malignancy_loss = partial(mome_loss, tasks=("malignant",))

#: Every contender: (registered model, its keyword arguments, its loss).
CONTENDERS = {
    **{m: ("mri-cnn", {"modalities": [m]}, malignancy_loss) for m in MRI_SEQUENCES},
    "early fusion": ("mri-cnn", {}, malignancy_loss),
    "mome-mini": ("mome-mini", {}, mome_malignancy_loss),
    "densenet121-3d": ("densenet121-3d", {}, malignancy_loss),
}
#: How each contender is trained, beyond the shared learning rate, weight decay and time
#: budget of :func:`train_model` (the others: a constant rate for up to 30 epochs).
FIT_RECIPES = {"mome-mini": MOME_RECIPE_FIT}
#: The shipped contenders as ``create_model(name, pretrained=tag)`` loads them.
SHIPPED = {
    **{m: ("mri-cnn", m) for m in MRI_SEQUENCES},
    "early fusion": ("mri-cnn", "early-fusion"),
    "mome-mini": ("mome-mini", "breast-mri"),
}
#: Where the shipped teaching checkpoints live (made by ``medai-edu train breast-fusion``).
TEACHING_CHECKPOINTS = CHECKPOINTS / "breast-fusion"


def build_contender(name: str) -> torch.nn.Module:
    if name not in CONTENDERS:
        raise KeyError(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")
    model_name, kwargs, _ = CONTENDERS[name]
    return create_model(model_name, **kwargs)


def train_model(
    name, data: FusionData, epochs=None, time_budget_s=60.0, lr=2e-3, progress=True, seed=0
):
    """Train one contender on the fusion data, keeping the best validation AUROC.

    ``seed`` sets the initial weights, the batch order and the random flips (``fit``).
    ``epochs`` overrides the recipe's (:data:`FIT_RECIPES`; else 30). MOME-mini's pCR and
    subtype heads are then fitted on its frozen backbone when ``data`` has a neoadjuvant
    cohort; their seconds count in the training time."""
    model = build_contender(name)
    recipe = {"epochs": 30, **FIT_RECIPES.get(name, {})}
    if epochs is not None:
        recipe["epochs"] = epochs
    start = time.perf_counter()
    history = fit(
        model,
        data.train,
        data.val,
        loss_fn=CONTENDERS[name][2],
        metrics_fn=malignancy_auroc,
        monitor="val_auroc",
        lr=lr,
        weight_decay=0.05,
        time_budget_s=time_budget_s,
        progress=progress,
        seed=seed,
        **recipe,
    )
    if isinstance(model, MOMEMini) and data.neoadjuvant_train is not None:
        fit_task_heads(model, data)
    return TrainedModel(name, model, time.perf_counter() - start, history)


def save_contenders(
    trained: dict[str, TrainedModel], directory, test_figures=None, **provenance
) -> list[Path]:
    """One checkpoint per trained contender, with its training history, provenance (seed,
    data sizes, command) so that anyone can remake it, and its ``test_figures`` (contender
    -> {figure: value}, see :func:`held_out_figures`) where given."""
    paths = []
    for name, entry in trained.items():
        if name not in CONTENDERS:
            continue  # late fusion is rebuilt from the single-modality members
        history = entry.history.to_dict() if entry.history is not None else {}
        figures = (test_figures or {}).get(name)
        paths.append(
            save_checkpoint(
                entry.model,
                Path(directory) / f"{_file_stem(name)}.pt",
                contender=name,
                seconds=round(entry.seconds, 2),
                history=json.dumps(history),
                **({"test_figures": json.dumps(figures)} if figures else {}),
                **provenance,
            )
        )
    return paths


def held_out_figures(entry: TrainedModel, data: FusionData) -> dict[str, float]:
    """One trained model's figures on the test cases (one seed, no intervals): malignancy
    AUROC internal and at hospital C, and where it has the heads, pCR AUROC (neoadjuvant
    cohort), triple-negative-vs-rest AUROC and subtype balanced accuracy. What the demo
    shows beside each of MOME-mini's answers."""
    scores = case_scores(entry, data)
    return {
        f"{key}_{measure}": round(float(metric_fn(*scores[key])), 4)
        for key, (measure, metric_fn) in MEASURES.items()
        if key in scores
    } | {"n_test": len(data.test.dataset)}


def load_contenders(directory: str | Path | None = None) -> dict[str, TrainedModel]:
    """The shipped contenders (``create_model(name, pretrained=tag)``, checksums checked),
    or every contender :func:`save_contenders` wrote in ``directory``; plus late fusion when
    the three single-modality models are there. Models come back in evaluation mode on the
    CPU."""
    if directory is None or same_file(directory, TEACHING_CHECKPOINTS):
        names = sorted(SHIPPED, key=_file_stem)  # the order of a folder's files, as below
        models = {n: create_model(SHIPPED[n][0], pretrained=SHIPPED[n][1]) for n in names}
        metadata = {name: m.pretrained_cfg["metadata"] for name, m in models.items()}
    else:
        models, metadata = _read_contenders(Path(directory))
    trained = {name: _trained(name, models[name], metadata[name]) for name in models}
    if all(m in trained for m in MRI_SEQUENCES):
        trained["late fusion"] = late_fusion(trained)
    return trained


def _read_contenders(directory: Path) -> tuple[dict, dict]:
    """(models, metadata) by contender name, from the checkpoints in ``directory``."""
    paths = sorted(directory.glob("*.pt"))
    if not paths:
        raise FileNotFoundError(
            f"no checkpoints in {directory}; make them with `medai-edu train breast-fusion`"
        )
    by_file = {_file_stem(n): n for n in CONTENDERS}
    models, metadata = {}, {}
    for path in paths:
        if path.stem not in by_file:
            raise ValueError(f"{path.name} is not a breast-fusion contender ({list(by_file)})")
        name = by_file[path.stem]
        models[name] = build_contender(name)
        metadata[name] = load_checkpoint(models[name], path)
    return models, metadata


def _file_stem(name: str) -> str:
    """The checkpoint file's stem of a contender: ``"early fusion"`` -> ``early-fusion``."""
    return name.replace(" ", "-")


def _trained(name: str, model: torch.nn.Module, meta: dict) -> TrainedModel:
    history = History(**json.loads(meta.get("history", "{}")))
    return TrainedModel(name, model.eval(), float(meta["seconds"]), history)


def late_fusion(single: dict[str, TrainedModel]) -> TrainedModel:
    """Late fusion of already trained single-modality models (no extra training)."""
    members = {m: single[m].model for m in MRI_SEQUENCES}
    seconds = sum(single[m].seconds for m in MRI_SEQUENCES)
    return TrainedModel("late fusion", LateFusion(members), seconds)


def without(inputs: dict, modality: str | None) -> dict:
    return {k: v for k, v in inputs.items() if k != modality}


class _DropModality(torch.nn.Module):
    """Wraps a model so that one modality is missing at test time."""

    def __init__(self, model, modality):
        super().__init__()
        self.model, self.modality = model, modality

    def forward(self, inputs):
        return self.model(without(inputs, self.modality))


def auroc_table(trained: dict[str, TrainedModel], data: FusionData, splits=("test", "external")):
    """AUROC of every model on the test sets, with every modality and each one missing.

    A single-modality model cannot lose another modality; its rows for the others repeat its
    full AUROC (computed once), and losing its own modality leaves it nothing (NaN).
    """
    rows = []
    for name, entry in trained.items():
        device = device_of(entry.model)
        full = {}
        for missing in (None, *MRI_SEQUENCES):
            row = {"model": name, "missing": missing or "none"}
            for split in splits:
                if name == missing:
                    row[split] = float("nan")
                elif name in MRI_SEQUENCES and split in full:
                    row[split] = full[split]
                else:
                    model = _DropModality(entry.model, missing)
                    outputs, targets = predict(model, getattr(data, split), device=device)
                    row[split] = malignancy_auroc(outputs, targets)["auroc"]
                    if missing is None:
                        full[split] = row[split]
            rows.append(row)
    return rows


def train_teaching_checkpoints(
    directory=TEACHING_CHECKPOINTS, seed=0, time_budget_s=90.0, progress=True
) -> list[Path]:
    """Train the five contenders of the lab on :func:`make_fusion_data` and save them.

    This is how the shipped checkpoints were made (``medai-edu train breast-fusion``).
    """
    data = make_fusion_data(seed=seed, progress=progress)
    trained, _ = run_fusion_experiment(data, time_budget_s=time_budget_s, progress=progress)
    provenance = {
        "seed": seed,
        "time_budget_s": time_budget_s,
        "n_train": len(data.train.dataset),
        "n_val": len(data.val.dataset),
        "command": f"medai-edu train breast-fusion --seed {seed} --time-budget {time_budget_s}",
        "torch": str(torch.__version__),
    }
    figures = {"mome-mini": held_out_figures(trained["mome-mini"], data)}
    return save_contenders(trained, directory, test_figures=figures, **provenance)


def run_fusion_experiment(
    data: FusionData | None = None, contenders=None, time_budget_s=60.0, progress=True, seed=0
):
    """Train the contenders (training seed ``seed``) and return (trained models, AUROC rows)."""
    data = data or make_fusion_data()
    contenders = contenders or (*MRI_SEQUENCES, "early fusion", "mome-mini")
    trained = {
        name: train_model(name, data, time_budget_s=time_budget_s, progress=progress, seed=seed)
        for name in contenders
    }
    if all(m in trained for m in MRI_SEQUENCES):
        trained["late fusion"] = late_fusion(trained)
    return trained, auroc_table(trained, data)


# ------------------------------------------------------------- comparisons with uncertainty


def case_scores(entry: TrainedModel, data: FusionData) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every case's score beside its label: ``{key: (y, score)}``, the input of
    :func:`compare_contenders`.

    Malignancy (y (N,) 0/1, score (N,) logit): ``internal`` (held-out cases of hospitals A
    and B), ``hospital_c`` (the unseen hospital, ``data.external``) and ``missing_<m>``
    (internal, modality m removed; absent for the single-modality model of m itself).
    With a neoadjuvant cohort in ``data``, for MOME-mini (its heads) and the CNN baselines
    (linear heads on their frozen features): ``pcr`` (the neoadjuvant test cohort; y 0/1,
    score (N,) logit), ``triple_negative`` (internal; y 1 = triple-negative, 0 = another
    subtype, score (N,) probability) and ``subtype`` (internal; y 0..3, score (N, 4)
    logits); benign cases carry y = -1 there (no subtype) and the metrics skip them.
    """
    device = device_of(entry.model)
    outputs, targets = predict(entry.model, data.test, device=device)
    scores = {"internal": _labelled(targets["malignant"], outputs["malignant"])}
    scores |= _head_scores(entry.model, data, outputs, targets)
    outputs_c, targets_c = predict(entry.model, data.external, device=device)
    scores["hospital_c"] = _labelled(targets_c["malignant"], outputs_c["malignant"])
    for m in MRI_SEQUENCES:
        if entry.name == m:
            continue  # nothing left to score
        if entry.name in MRI_SEQUENCES:  # another modality missing changes nothing
            scores[f"missing_{m}"] = scores["internal"]
            continue
        dropped = _DropModality(entry.model, m)
        outputs_m, targets_m = predict(dropped, data.test, device=device)
        scores[f"missing_{m}"] = _labelled(targets_m["malignant"], outputs_m["malignant"])
    return scores


def _labelled(y: torch.Tensor, score: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    return y.numpy().astype(int), score.float().numpy()


def _head_scores(model, data: FusionData, outputs: dict, targets: dict) -> dict:
    """pCR (on the neoadjuvant test cohort), triple-negative-vs-rest and subtype scores:
    MOME-mini's own heads; for a CNN baseline, the same linear heads fitted on its frozen
    features (:func:`baseline_head_scores`); nothing for other models or without a
    neoadjuvant cohort."""
    if data.neoadjuvant_test is None:
        return {}
    if isinstance(model, MOMEMini):
        out_neo, t_neo = predict(model, data.neoadjuvant_test, device=device_of(model))
        subtype = _labelled(targets["subtype"], outputs["subtype"])
        return {"pcr": _labelled(t_neo["pcr"], out_neo["pcr"])} | subtype_scores(*subtype)
    if hasattr(model, "embed"):
        return baseline_head_scores(model, data)
    return {}


#: What :func:`compare_contenders` measures on each key of :func:`case_scores`.
MEASURES = {
    "internal": ("auroc", metrics.auroc),
    "hospital_c": ("auroc", metrics.auroc),
    "pcr": ("auroc", metrics.auroc),
    "triple_negative": ("auroc", metrics.auroc),
    "subtype": ("balanced_accuracy", metrics.balanced_accuracy),
}


def compare_contenders(
    scores_by_seed: dict, challenger="mome-mini", reference="early fusion", n_boot=1000, seed=0
) -> list[dict]:
    """Every figure of the comparison with two intervals: one over training seeds, one over
    cases.

    scores_by_seed: ``{training seed: {contender: case_scores(...)}}``; every seed must
    score the same test cases (one data set, several trainings). Each row has ``contender``,
    ``measure``, ``split``, ``mean`` (over the seeds), ``per_seed``, ``seed_low/high``
    (Student-t interval of the mean over seeds; NaN with one seed) and ``boot_low/high``
    (percentile bootstrap over cases of the seed-mean figure: a resampled case keeps its
    score from every seed, so the cases are not counted once per seed). Measures:
    ``auroc``/``balanced_accuracy`` per contender and key of :data:`MEASURES`;
    ``auroc_drop`` (full minus ``missing_<m>``, a paired bootstrap on the same cases);
    ``auroc_difference`` (``challenger`` minus ``reference``, paired bootstrap), internal and
    hospital C. Intervals are 95 %.
    """
    first = scores_by_seed[min(scores_by_seed)]
    rows = [row for name in first for row in _contender_rows(scores_by_seed, name, n_boot, seed)]
    if challenger in first and reference in first:
        for key in ("internal", "hospital_c"):
            a = _stacked(scores_by_seed, challenger, key)
            b = _stacked(scores_by_seed, reference, key)
            rows.append(
                {
                    "contender": f"{challenger} - {reference}",
                    "measure": "auroc_difference",
                    "split": key,
                    **_paired_summary(a, b, n_boot, seed),
                }
            )
    return rows


def _contender_rows(scores_by_seed: dict, contender: str, n_boot: int, seed: int) -> list[dict]:
    """One contender's rows of :func:`compare_contenders`: its figures and its drops."""
    keys = scores_by_seed[min(scores_by_seed)][contender]
    rows = []
    for key, (measure, metric_fn) in MEASURES.items():
        if key in keys:
            y, scores = _stacked(scores_by_seed, contender, key)
            summary = _summary(metric_fn, y, scores, n_boot, seed)
            rows.append({"contender": contender, "measure": measure, "split": key, **summary})
    full = _stacked(scores_by_seed, contender, "internal")
    for key in (k for k in keys if k.startswith("missing_")):
        missing = _stacked(scores_by_seed, contender, key)
        summary = _paired_summary(full, missing, n_boot, seed)
        rows.append({"contender": contender, "measure": "auroc_drop", "split": key, **summary})
    return rows


def _stacked(scores_by_seed: dict, contender: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(y (N,), scores (N, S, ...)) of one contender over the S seeds, in seed order."""
    pairs = [scores_by_seed[s][contender][key] for s in sorted(scores_by_seed)]
    y = np.asarray(pairs[0][0])
    if any(not np.array_equal(np.asarray(other), y) for other, _ in pairs[1:]):
        raise ValueError(
            f"the seeds scored different cases for {contender!r} {key}; train every seed on "
            "the same data (the seed varies the training, the bootstrap the cases)"
        )
    return y, np.stack([np.asarray(score) for _, score in pairs], axis=1)


def _seed_mean(metric_fn):
    """``metric_fn`` averaged over the seeds: f(y (N,), scores (N, S, ...)) -> float."""

    def over_seeds(y, scores):
        if metric_fn is metrics.auroc and scores.ndim == 2:
            return _seed_mean_auroc(y, scores)  # the bootstrap calls this a thousand times
        return float(np.mean([metric_fn(y, scores[:, s]) for s in range(scores.shape[1])]))

    return over_seeds


def _seed_mean_auroc(y: np.ndarray, scores: np.ndarray) -> float:
    """Mean over the seeds of the binary AUROC, all seeds in one rank pass (Mann-Whitney U
    from mid-ranks, ties counting one half, as ``metrics.auroc``). y: (N,) 0/1, -1 skipped;
    scores: (N, S). NaN when a class is absent."""
    from scipy.stats import rankdata

    keep = y != metrics.IGNORE_LABEL
    y, scores = y[keep], scores[keep]
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    u = rankdata(scores, axis=0)[y == 1].sum(axis=0) - n_pos * (n_pos + 1) / 2
    return float(np.mean(u / (n_pos * n_neg)))


def _interval(per_seed: list[float]) -> tuple[float, float, float]:
    """(mean, low, high) over the seeds; the interval is NaN with one seed."""
    if len(per_seed) < 2:
        return float(np.mean(per_seed)), float("nan"), float("nan")
    return metrics.seed_interval(per_seed)


def _summary(metric_fn, y, scores, n_boot: int, seed: int) -> dict:
    per_seed = [metric_fn(y, scores[:, s]) for s in range(scores.shape[1])]
    mean, seed_low, seed_high = _interval(per_seed)
    boot_low, boot_high = metrics.bootstrap_ci(_seed_mean(metric_fn), y, scores, n_boot, seed)
    return _row(mean, per_seed, seed_low, seed_high, boot_low, boot_high)


def _paired_summary(a, b, n_boot: int, seed: int) -> dict:
    """Seed-mean AUROC of ``a`` minus that of ``b``; a, b: (y, scores (N, S)) on one y."""
    (y, score_a), (_, score_b) = a, b
    per_seed = [
        metrics.auroc(y, score_a[:, s]) - metrics.auroc(y, score_b[:, s])
        for s in range(score_a.shape[1])
    ]
    mean, seed_low, seed_high = _interval(per_seed)
    _, boot_low, boot_high = metrics.paired_bootstrap_difference(
        _seed_mean(metrics.auroc), y, score_a, score_b, n_boot, seed
    )
    return _row(mean, per_seed, seed_low, seed_high, boot_low, boot_high)


def _row(mean, per_seed, seed_low, seed_high, boot_low, boot_high) -> dict:
    return {
        "mean": float(mean),
        "per_seed": [float(v) for v in per_seed],
        "seed_low": float(seed_low),
        "seed_high": float(seed_high),
        "boot_low": float(boot_low),
        "boot_high": float(boot_high),
    }
