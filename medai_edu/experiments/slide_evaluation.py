"""A fair comparison of slide encoders: every encoder is read by the same slide heads.

mSTAR's claim is that whole-slide multimodal pretraining puts knowledge into the *patch
features*. To test it, each encoder's frozen patch features go through the same heads:

* ``"mean"``: the tile features averaged, then logistic regression (or a Cox model);
* ``"abmil"``: a gated-attention MIL head (Ilse et al., 2018) trained from scratch for the
  task on that encoder's features, so no encoder gets a pretrained aggregator the others
  lack.

Few-shot draws are paired: at each draw every encoder sees the same k slides per class, so
differences between encoders come with intervals over draws. Survival is scored by
repeated cross-validation grouped by patient, with a penalised Cox model and a
discrete-time survival ABMIL, against the generator's oracle. Zero-shot classification
compares slides with class-prompt reports in the aligned space.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from torch import nn
from tqdm.auto import tqdm

from medai_edu import metrics
from medai_edu.data.pathology import CONCEPT_NAMES, TUMOUR_TYPES, SlideBags, log_hazard_ratio
from medai_edu.experiments.slide_probes import (
    fit_penalised_cox,
    patch_features,
    slide_embeddings,
)
from medai_edu.models.mstar import ABMIL, MSTARMini

#: A slide-level ceiling for few-shot classification: the same heads on the true concepts.
ORACLE = "oracle (true concepts)"


# --------------------------------------------------------------------------- features


def encoder_features(models: dict[str, MSTARMini], bags: SlideBags) -> dict[str, torch.Tensor]:
    """{name: (S, N, D) frozen patch features} of every encoder on ``bags``."""
    return {name: patch_features(model, bags) for name, model in models.items()}


def mean_pool(features: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """(S, N, D) tile features, (S, N) mask -> (S, D) mean over each slide's tiles."""
    weights = mask[..., None].float()
    return ((features * weights).sum(1) / weights.sum(1).clamp(min=1)).numpy()


def concept_matrix(bags: SlideBags) -> np.ndarray:
    """(S, C) the true concepts of each slide (the oracle's input)."""
    return np.column_stack([bags.concepts[name].numpy() for name in CONCEPT_NAMES])


# --------------------------------------------------------------------------- the ABMIL head


class AttentionHead(nn.Module):
    """A fresh ABMIL head: tile features (standardised) -> attention pooling -> outputs.

    ``covariates`` (B, K) (e.g. the stage) join the pooled vector before the last layer.
    With ``shared_score``, one score of the slide (and one of the covariates) shifts every
    output by the same amount, plus a learned offset per output: the discrete-time
    proportional-odds survival model, with far fewer weights to fit on few slides.
    """

    def __init__(
        self, dim: int, outputs: int, covariates: int = 0, hidden: int = 32, shared_score=False
    ):
        super().__init__()
        self.pool = ABMIL(dim, hidden=hidden, dropout=0.25)
        self.shared_score = shared_score
        if shared_score:
            self.out = nn.Linear(dim, 1)
            self.covariate_score = nn.Linear(covariates, 1, bias=False) if covariates else None
            self.offsets = nn.Parameter(torch.zeros(outputs))
        else:
            self.out = nn.Linear(dim + covariates, outputs)
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def forward(self, features, mask, covariates=None):
        pooled, _ = self.pool((features - self.mean) / self.std, mask)
        if self.shared_score:
            score = self.out(pooled)  # (B, 1)
            if self.covariate_score is not None:
                score = score + self.covariate_score(covariates)
            return self.offsets + score
        if covariates is not None:
            pooled = torch.cat([pooled, covariates], dim=-1)
        return self.out(pooled)


def fit_attention_head(
    features,
    mask,
    loss_fn,
    outputs,
    covariates=None,
    steps=120,
    lr=3e-3,
    seed=0,
    shared_score=False,
) -> AttentionHead:
    """Train an :class:`AttentionHead` on all given slides at once (full batch, AdamW).

    features (S, N, D); mask (S, N) bool; ``loss_fn(outputs (S, O)) -> loss``."""
    torch.manual_seed(seed)
    n_covariates = 0 if covariates is None else covariates.shape[1]
    head = AttentionHead(features.shape[-1], outputs, n_covariates, shared_score=shared_score)
    tiles = features[mask]
    head.mean.copy_(tiles.mean(0))
    head.std.copy_(tiles.std(0) + 1e-6)
    head.train()
    if shared_score:
        _fit_baseline(head, features, mask, loss_fn, covariates)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(head(features, mask, covariates)).backward()
        optimizer.step()
    return head.eval()


def _fit_baseline(head: AttentionHead, features, mask, loss_fn, covariates, steps=200):
    """Fit the offsets and the covariates' score first, the slide's score held at 0: the
    slide then has to earn its place beyond the covariates (e.g. beyond the stage), and the
    few covariate weights are not left half-trained by a small learning rate."""
    nn.init.zeros_(head.out.weight)
    nn.init.zeros_(head.out.bias)
    baseline = [head.offsets]
    if head.covariate_score is not None:
        nn.init.zeros_(head.covariate_score.weight)
        baseline.append(head.covariate_score.weight)
    optimizer = torch.optim.Adam(baseline, lr=5e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(head(features, mask, covariates)).backward()
        optimizer.step()


# --------------------------------------------------------------------------- few-shot


def _support(labels: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    classes = np.unique(labels)
    return np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), shots, replace=False) for c in classes]
    )


def _mean_head_auroc(train_x, train_y, test_x, test_y) -> float:
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    clf = LogisticRegression(max_iter=500, C=1.0).fit((train_x - mean) / std, train_y)
    return metrics.auroc(test_y, clf.predict_proba((test_x - mean) / std))


def _abmil_auroc(train_f, train_m, train_y, test_f, test_m, test_y, seed) -> float:
    targets = torch.as_tensor(train_y)
    n_classes = int(train_y.max()) + 1
    head = fit_attention_head(
        train_f, train_m, lambda out: F.cross_entropy(out, targets), n_classes, seed=seed
    )
    with torch.no_grad():
        proba = head(test_f, test_m).softmax(-1).numpy()
    return metrics.auroc(test_y, proba)


def few_shot_draws(
    features: dict[str, torch.Tensor],
    support: SlideBags,
    test_features: dict[str, torch.Tensor],
    test: SlideBags,
    label: str = "tumour_type",
    shots=(1, 2, 4, 8, 16),
    draws: int = 20,
    heads=("mean", "abmil"),
    seed: int = 0,
    oracle: bool = True,
    progress: bool = True,
) -> list[dict]:
    """Rows {encoder, head, shots, draw, auroc}: few-shot slide classification by ``label``
    (tumour_type or grade), every encoder and head on the same k slides per class at each
    draw (paired). With ``oracle``, the mean head on the true concepts too (the ceiling).

    features / test_features: {encoder: (S, N, D)} from :func:`encoder_features`.
    """
    y_train = getattr(support, label).numpy()
    y_test = getattr(test, label).numpy()
    classes = np.unique(y_train)
    y_train, y_test = np.searchsorted(classes, y_train), np.searchsorted(classes, y_test)
    per_class = np.bincount(y_train).min()
    pooled = {k: mean_pool(v, support.tile_mask) for k, v in features.items()}
    pooled_test = {k: mean_pool(v, test.tile_mask) for k, v in test_features.items()}
    if oracle:
        pooled[ORACLE], pooled_test[ORACLE] = concept_matrix(support), concept_matrix(test)
    rng = np.random.default_rng(seed)
    plan = [(k, d) for k in shots if k <= per_class for d in range(draws)]
    rows = []
    for k, d in tqdm(plan, desc=f"few-shot {label}", disable=not progress):
        pick = _support(y_train, k, rng)
        for name in pooled:
            for head in heads:
                if head == "abmil" and name == ORACLE:
                    continue  # the concepts are slide-level: no tiles to attend to
                if head == "mean":
                    auroc = _mean_head_auroc(pooled[name][pick], y_train[pick],
                                             pooled_test[name], y_test)  # fmt: skip
                else:
                    auroc = _abmil_auroc(
                        features[name][pick], support.tile_mask[pick], y_train[pick],
                        test_features[name], test.tile_mask, y_test, seed=d,
                    )  # fmt: skip
                rows.append({"encoder": name, "head": head, "shots": k, "draw": d, "auroc": auroc})
    return rows


def summarise_draws(rows: list[dict]) -> list[dict]:
    """Rows {encoder, head, shots, auroc (mean over draws), low, high (2.5 / 97.5 %)}."""
    out = []
    keys = dict.fromkeys((r["encoder"], r["head"], r["shots"]) for r in rows)
    for encoder, head, k in keys:
        key = (encoder, head, k)
        values = np.array(
            [r["auroc"] for r in rows if (r["encoder"], r["head"], r["shots"]) == key]
        )
        low, high = np.percentile(values, [2.5, 97.5])
        out.append(
            {
                "encoder": encoder,
                "head": head,
                "shots": k,
                "auroc": float(values.mean()),
                "low": float(low),
                "high": float(high),
            }
        )
    return out


def paired_difference(
    rows: list[dict], first: str, second: str, head: str, shots: int, n_boot=2000, seed=0
) -> dict[str, float]:
    """Mean AUROC of ``first`` minus ``second`` over the paired draws, with a 95 % bootstrap
    interval over draws: {difference, low, high, draws}."""

    def values(name):
        chosen = [r for r in rows if (r["encoder"], r["head"], r["shots"]) == (name, head, shots)]
        return np.array([r["auroc"] for r in sorted(chosen, key=lambda r: r["draw"])])

    diff = values(first) - values(second)
    rng = np.random.default_rng(seed)
    boots = rng.choice(diff, (n_boot, len(diff))).mean(1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"difference": float(diff.mean()), "low": float(low), "high": float(high),
            "draws": len(diff)}  # fmt: skip


# --------------------------------------------------------------------------- survival


def stage_covariates(bags: SlideBags) -> torch.Tensor:
    """(S, 3) one-hot stage II, III, IV (stage I is the reference)."""
    return F.one_hot(bags.stage.clamp(min=1) - 1, 4)[:, 1:].float()


def patient_folds(patients: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """(S,) fold of each slide; all slides of a patient fall in the same fold."""
    unique = rng.permutation(np.unique(patients))
    fold_of = {p: i % folds for i, p in enumerate(unique)}
    return np.array([fold_of[p] for p in patients])


def _cox_risk(train_x, train, test_x, penalties=(0.01, 0.1, 1.0), seed=0) -> np.ndarray:
    """Penalised Cox on standardised inputs; the penalty picked by inner 3-fold CV."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    z, z_test = (train_x - mean) / std, (test_x - mean) / std
    event, months = train["event"], train["months"]
    inner = patient_folds(train["patient"], 3, np.random.default_rng(seed))
    scores = []
    for penalty in penalties:
        risk = np.zeros(len(z))
        for f in range(3):
            fit, held = inner != f, inner == f
            w = fit_penalised_cox(z[fit], event[fit], months[fit], penalty)
            risk[held] = (torch.as_tensor(z[held], dtype=torch.float32) @ w).numpy()
        scores.append(metrics.concordance_index(risk, event, months))
    w = fit_penalised_cox(z, event, months, penalties[int(np.argmax(scores))])
    return (torch.as_tensor(z_test, dtype=torch.float32) @ w).numpy()


def discrete_time_loss(logits, event, interval) -> torch.Tensor:
    """Negative log-likelihood of a discrete-time survival model (Zadeh & Schmid, IEEE
    TPAMI 2021): logits (S, K) of the hazard in each interval; interval (S,) index of the
    interval holding each slide's time; event (S,) 1 = death, 0 = censored."""
    hazard = torch.sigmoid(logits).clamp(1e-6, 1 - 1e-6)
    survival = torch.cumprod(1 - hazard, dim=1)
    before = torch.cat([torch.ones_like(survival[:, :1]), survival[:, :-1]], dim=1)
    idx = interval[:, None]
    died = -torch.log(before.gather(1, idx)) - torch.log(hazard.gather(1, idx))
    censored = -torch.log(survival.gather(1, idx))
    return torch.where(event[:, None].bool(), died, censored).mean()


def _abmil_survival_risk(train_f, train_m, train, test_f, test_m, covariates, bins=4, seed=0):
    months, event = train["months"], train["event"]
    edges = np.quantile(months[event == 1], np.linspace(0, 1, bins + 1)[1:-1])
    interval = torch.as_tensor(np.searchsorted(edges, months))
    cov, cov_test = covariates
    event_t = torch.as_tensor(event)
    head = fit_attention_head(
        train_f, train_m, lambda out: discrete_time_loss(out, event_t, interval), bins,
        covariates=cov, steps=100, lr=1e-2, seed=seed, shared_score=True,
    )  # fmt: skip
    with torch.no_grad():
        hazard = torch.sigmoid(head(test_f, test_m, cov_test))
    return -torch.cumprod(1 - hazard, dim=1).sum(1).numpy()  # fewer expected months: riskier


def survival_cross_validation(
    features: dict[str, torch.Tensor],
    bags: SlideBags,
    heads=("cox", "abmil"),
    with_stage: bool = True,
    folds: int = 5,
    repeats: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> dict[tuple[str, str], np.ndarray]:
    """Out-of-fold risk of every slide: {(encoder, head): (repeats, S)}.

    Folds are grouped by patient. ``"cox"``: penalised Cox on mean-pooled features (and
    the stage); ``"abmil"``: a discrete-time survival ABMIL on the tiles (stage joins
    before the last layer). ``with_stage=False`` uses the slide alone.
    """
    rng = np.random.default_rng(seed)
    table = {
        "event": bags.event.numpy(),
        "months": bags.months.numpy(),
        "patient": bags.patient.numpy(),
    }
    stage = stage_covariates(bags) if with_stage else torch.zeros(len(bags), 0)
    pooled = {
        k: np.hstack([mean_pool(v, bags.tile_mask), stage.numpy()]) for k, v in features.items()
    }
    risks = {(k, h): np.zeros((repeats, len(bags))) for k in features for h in heads}
    plan = [(r, f) for r in range(repeats) for f in range(folds)]
    fold_sets = [patient_folds(table["patient"], folds, rng) for _ in range(repeats)]
    for r, f in tqdm(plan, desc="survival folds", disable=not progress):
        test = fold_sets[r] == f
        train = {k: v[~test] for k, v in table.items()}
        for name, feats in features.items():
            if "cox" in heads:
                risks[name, "cox"][r, test] = _cox_risk(
                    pooled[name][~test], train, pooled[name][test]
                )
            if "abmil" in heads:
                covariates = (stage[~test], stage[test]) if with_stage else (None, None)
                risks[name, "abmil"][r, test] = _abmil_survival_risk(
                    feats[~test], bags.tile_mask[~test], train, feats[test], bags.tile_mask[test],
                    covariates, seed=r * folds + f,
                )  # fmt: skip
    return risks


def cindex_summary(risks: np.ndarray, bags: SlideBags) -> dict[str, float]:
    """Harrell's C of out-of-fold risks (repeats, S): mean over repeats, min and max."""
    values = [metrics.concordance_index(r, bags.event, bags.months) for r in risks]
    return {
        "c_index": float(np.mean(values)),
        "low": float(min(values)),
        "high": float(max(values)),
    }


def paired_cindex_difference(first, second, bags: SlideBags, n_boot=500, seed=0) -> dict:
    """C(first) - C(second) of out-of-fold risks (repeats, S), averaged over repeats, with
    a 95 % interval from a bootstrap over patients."""
    rng = np.random.default_rng(seed)
    patients = bags.patient.numpy()
    unique = np.unique(patients)
    rows_of = {p: np.flatnonzero(patients == p) for p in unique}
    event, months = bags.event.numpy(), bags.months.numpy()

    def c(risks, rows):
        return np.mean(
            [metrics.concordance_index(r[rows], event[rows], months[rows]) for r in risks]
        )

    everyone = np.arange(len(patients))
    difference = c(first, everyone) - c(second, everyone)
    boots = []
    for _ in range(n_boot):
        rows = np.concatenate([rows_of[p] for p in rng.choice(unique, len(unique))])
        if event[rows].any():
            boots.append(c(first, rows) - c(second, rows))
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"difference": float(difference), "low": float(low), "high": float(high)}


def cohort_oracle_cindex(bags: SlideBags, with_stage: bool = True) -> float:
    """Harrell's C of the generator's true linear predictor on these slides (the ceiling on
    this cohort); without the stage term if ``with_stage`` is False."""
    risk = []
    for i in range(len(bags)):
        concepts = {name: float(v[i]) for name, v in bags.concepts.items()}
        stage = int(bags.stage[i]) or None
        lp = log_hazard_ratio(int(bags.tumour_type[i]), int(bags.grade[i]), concepts, stage)
        if not with_stage and stage:
            lp -= log_hazard_ratio(0, 2, {"necrosis": 0, "lymphocytic_infiltrate": 1}, stage)
        risk.append(lp)
    return metrics.concordance_index(np.array(risk), bags.event, bags.months)


# --------------------------------------------------------------------------- zero-shot

#: Class prompts: what a report of each type says, in the reports' own words (no type name).
CLASS_PROMPTS = {
    "adenocarcinoma": (
        "glands with open lumina lined by columnar cells",
        "acinar and papillary glands",
        "positive for TTF-1 and napsin A and negative for p40",
    ),
    "squamous cell carcinoma": (
        "nests of polygonal cells with eosinophilic cytoplasm and keratin pearls",
        "keratinisation and intercellular bridges",
        "positive for p40 and negative for TTF-1",
    ),
    "small cell carcinoma": (
        "sheets of small cells with scant cytoplasm, salt and pepper chromatin and "
        "nuclear moulding",
        "densely packed small cells with crush artefact",
        "positive for synaptophysin, chromogranin and INSM1",
    ),
}


@torch.no_grad()
def zero_shot_predict(model: MSTARMini, tokenizer, bags: SlideBags, prompts=None) -> np.ndarray:
    """(S, C) cosine similarity of each slide (aggregator embedding) to each class's prompts
    (report embeddings, averaged per class), in :data:`TUMOUR_TYPES` order."""
    prompts = CLASS_PROMPTS if prompts is None else prompts
    model.eval()
    slides = F.normalize(torch.as_tensor(slide_embeddings(model, bags, "aggregator")), dim=-1)
    classes = []
    for name in TUMOUR_TYPES:
        text = F.normalize(model.report_encoder(tokenizer.transform(list(prompts[name]))), dim=-1)
        classes.append(F.normalize(text.mean(0), dim=-1))
    return (slides @ torch.stack(classes).T).numpy()


def zero_shot_accuracy(
    model: MSTARMini, tokenizer, bags: SlideBags, prompts=None
) -> dict[str, float]:
    """Zero-shot tumour-type accuracy, balanced accuracy and AUROC (chance: 1/3, 1/3, 0.5);
    ``prompts`` as in :func:`zero_shot_predict`."""
    scores = zero_shot_predict(model, tokenizer, bags, prompts)
    y = bags.tumour_type.numpy()
    proba = torch.as_tensor(scores / 0.05).softmax(-1).numpy()
    return {
        "accuracy": float((scores.argmax(1) == y).mean()),
        "balanced_accuracy": metrics.balanced_accuracy(y, proba),
        "auroc": metrics.auroc(y, proba),
    }
