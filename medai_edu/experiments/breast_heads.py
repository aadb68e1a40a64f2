"""pCR and subtype heads fitted after the backbone, and evaluated on their own cohorts.

MOME fine-tunes each task on its own (diagnosis, treatment response, subtype). MOME-mini's
backbone learns malignancy alone; then each other task gets a linear head on the frozen
backbone's features (:meth:`MOMEMini.features`: the CLS state and every modality's
max-pooled tokens), fitted by logistic regression on that task's own cases:

- **pCR** on a neoadjuvant cohort (malignant tumours of 2-3 cm treated before surgery;
  ``BreastMRIConfig(neoadjuvant=True)``), the only cases with a treatment response;
- **subtype** on the malignant cases of the training cohort (benign lesions have none).

The regularisation is chosen on the task's validation cases; test cases are never seen.
The same recipe on the early-fusion CNN's features (:meth:`MRICNN.embed`) is the baseline.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from medai_edu import metrics
from medai_edu.models.mome import MOMEMini

#: Inverse regularisation strengths tried on the validation cases.
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


@torch.no_grad()
def frozen_features(model: torch.nn.Module, loader) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(features (N, F), targets {name: (N,)}) of every case in ``loader``, model in eval
    mode: MOME-mini's :meth:`~MOMEMini.features` or a CNN's :meth:`embed`."""
    encode = model.features if isinstance(model, MOMEMini) else model.embed
    was_training = model.training
    model.eval()
    features, targets = [], {}
    for inputs, batch_targets in loader:
        features.append(encode(inputs).float().numpy())
        for name, value in batch_targets.items():
            targets.setdefault(name, []).append(value.numpy())
    model.train(was_training)
    return np.concatenate(features), {k: np.concatenate(v) for k, v in targets.items()}


def fit_linear_head(x_train, y_train, x_val, y_val, task: str):
    """A standardised logistic regression, its strength chosen on validation.

    task: "pcr" (binary, scored by AUROC) or "subtype" (multinomial, class-balanced, scored
    by balanced accuracy). Returns (weight (K, F), bias (K,)) acting on the raw features,
    the scaler folded in, and the validation score of the chosen strength.
    """
    if task not in ("pcr", "subtype"):
        raise ValueError(f"task must be 'pcr' or 'subtype', got {task!r}")
    if len(np.unique(y_train)) < 2:
        raise ValueError(f"the {task} head needs training cases of at least two classes")
    scaler = StandardScaler().fit(x_train)
    best = None
    for c in C_GRID:
        head = LogisticRegression(
            C=c, max_iter=2000, class_weight="balanced" if task == "subtype" else None
        )
        head.fit(scaler.transform(x_train), y_train)
        if task == "pcr":
            score = metrics.auroc(y_val, head.decision_function(scaler.transform(x_val)))
        else:
            score = metrics.balanced_accuracy(y_val, head.predict(scaler.transform(x_val)))
        if best is None or score > best[0]:
            best = (score, head)
    score, head = best
    coef, intercept = head.coef_, head.intercept_
    if task == "subtype":
        coef, intercept = _every_subtype(head)
    weight = coef / scaler.scale_  # (K, F): standardising folded into the weights
    bias = intercept - weight @ scaler.mean_
    return weight, bias, float(score)


def _every_subtype(head: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """(coef (4, F), intercept (4,)) with a row per subtype, whichever subtypes the
    training cases had: a subtype never seen is never predicted."""
    from medai_edu.data import SUBTYPES

    coef = np.zeros((len(SUBTYPES), head.coef_.shape[1]))
    intercept = np.full(len(SUBTYPES), -1e4)
    if len(head.classes_) == 2:  # one row: the second class against the first
        coef[head.classes_[1]], intercept[head.classes_[1]] = head.coef_[0], head.intercept_[0]
        intercept[head.classes_[0]] = 0.0
    else:
        coef[head.classes_], intercept[head.classes_] = head.coef_, head.intercept_
    return coef, intercept


def fit_task_heads(model: MOMEMini, data) -> dict[str, float]:
    """Fit MOME-mini's pCR and subtype heads on the frozen backbone, in place.

    data: a :class:`FusionData` with neoadjuvant loaders. Returns each head's validation
    score (pCR AUROC, subtype balanced accuracy). The malignancy path is untouched.
    """
    scores = {}
    for task, (x_train, y_train, x_val, y_val) in _task_cases(model, data).items():
        weight, bias, scores[task] = fit_linear_head(x_train, y_train, x_val, y_val, task)
        head = model.heads[task]
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(weight, dtype=head.weight.dtype))
            head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))
    return scores


def _task_cases(model, data) -> dict[str, tuple]:
    """Each task's (x_train, y_train, x_val, y_val): pCR from the neoadjuvant cohort,
    subtype from the malignant cases."""
    x_tr, t_tr = frozen_features(model, data.train_unshuffled)
    x_va, t_va = frozen_features(model, data.val)
    x_ntr, t_ntr = frozen_features(model, data.neoadjuvant_train)
    x_nva, t_nva = frozen_features(model, data.neoadjuvant_val)
    cancer_tr, cancer_va = t_tr["subtype"] >= 0, t_va["subtype"] >= 0
    return {
        "pcr": (x_ntr, t_ntr["pcr"], x_nva, t_nva["pcr"]),
        "subtype": (
            x_tr[cancer_tr],
            t_tr["subtype"][cancer_tr],
            x_va[cancer_va],
            t_va["subtype"][cancer_va],
        ),
    }


def baseline_head_scores(model: torch.nn.Module, data) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The same heads on a baseline's frozen features, scored on the test cases like
    :func:`case_scores` scores MOME-mini's: ``pcr`` (neoadjuvant test cohort),
    ``triple_negative`` and ``subtype`` (malignant internal test cases; -1 elsewhere)."""
    cases = _task_cases(model, data)
    x_test, t_test = frozen_features(model, data.test)
    x_neo, t_neo = frozen_features(model, data.neoadjuvant_test)
    w, b, _ = fit_linear_head(*cases["pcr"], "pcr")
    scores = {"pcr": (t_neo["pcr"].astype(int), (x_neo @ w.T + b)[:, 0])}
    w, b, _ = fit_linear_head(*cases["subtype"], "subtype")
    return scores | subtype_scores(t_test["subtype"].astype(int), x_test @ w.T + b)


def subtype_scores(subtype: np.ndarray, logits: np.ndarray) -> dict[str, tuple]:
    """``triple_negative`` (y 1/0, -1 for benign; P(triple-negative)) and ``subtype``
    (y 0..3, -1 for benign; logits (N, 4))."""
    from medai_edu.data import SUBTYPES

    tn = SUBTYPES.index("triple-negative")
    logits = np.asarray(logits, dtype=float)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y_tn = np.where(subtype < 0, -1, (subtype == tn).astype(int))
    return {"triple_negative": (y_tn, p[:, tn]), "subtype": (subtype, logits)}
