"""Concept-based explanations (XAIM-mini, after MICA, arXiv 2401.08527): a concept
bottleneck whose predicted clinical concepts become the textual explanation, and test-time
concept intervention.

**Concept bottleneck** (Koh et al., ICML 2020). :class:`ConceptBottleneck` sits on frozen
features (B, F): one softmax head per clinical concept, their probabilities concatenated,
then one linear layer to the diagnosis. The diagnosis sees the concept probabilities *only*,
so a clinician can read why (:func:`explain_text`: "Malignant (0.98): washout kinetics,
restricted diffusion, spiculated margin") and overrule a concept (``interventions=``).

The course's feature extractors, and the bottlenecks fitted on their features, are in
:mod:`medai_edu.explain.concept_models`; TCAV, for models that were never taught concepts,
in :mod:`medai_edu.explain.concept_vectors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medai_edu.data.breast_mri import KINETICS, MARGINS
from medai_edu.data.pathology.vocabulary import TUMOUR_TYPES
from medai_edu.train import train_steps

__all__ = [
    "MIN_CONTRIBUTION",
    "MRI_SPEC",
    "SLIDE_SPEC",
    "SLIDE_SPEC_WITH_PLEOMORPHISM",
    "ConceptBottleneck",
    "ConceptExplanation",
    "ConceptSpec",
    "explain_concepts",
    "explain_text",
    "text_agreement",
]


# --------------------------------------------------------------------------- the vocabulary


@dataclass(frozen=True)
class ConceptSpec:
    """The concepts a bottleneck predicts, the diagnoses it makes and how to say them.

    Parameters
    ----------
    concepts : mapping of str to sequence of str
        Concept name -> the names of its values, in the order of the integer codes the data
        use (``{"kinetic": ("persistent", "plateau", "washout")}``); >= 2 values each.
    classes : sequence of str
        Diagnosis class names, in the order of the integer labels.
    phrases : mapping of str to mapping of str to str, optional
        Concept -> value -> the words an explanation uses ("washout kinetics"); missing
        ones read "<value> <concept>".
    """

    concepts: Mapping[str, Sequence[str]]
    classes: Sequence[str]
    phrases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self):
        concepts = {str(k): tuple(str(v) for v in values) for k, values in self.concepts.items()}
        if not concepts:
            raise ValueError("a ConceptSpec needs at least one concept")
        for name, values in concepts.items():
            if len(values) < 2 or len(set(values)) != len(values):
                raise ValueError(f"concept {name!r} needs >= 2 distinct values, got {values}")
        classes = tuple(str(c) for c in self.classes)
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"a diagnosis needs >= 2 distinct classes, got {classes}")
        for name, table in self.phrases.items():
            if name not in concepts or set(table) - set(concepts[name]):
                raise ValueError(f"phrases for unknown concept or values: {name!r}: {table}")
        object.__setattr__(self, "concepts", concepts)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "phrases", {k: dict(v) for k, v in self.phrases.items()})

    @property
    def n_values(self) -> int:
        """Total number of concept values (the width of the bottleneck)."""
        return sum(len(v) for v in self.concepts.values())

    def phrase(self, concept: str, value: str) -> str:
        return self.phrases.get(concept, {}).get(value, f"{value} {concept.replace('_', ' ')}")

    def value_index(self, concept: str, value) -> int:
        """The code of ``value`` (a name or an integer code) of ``concept``; ValueError if
        either is unknown."""
        if concept not in self.concepts:
            raise ValueError(f"unknown concept {concept!r}; concepts are {list(self.concepts)}")
        return _code(value, self.concepts[concept], f"value of {concept}")


def _code(value, names: tuple[str, ...], what: str) -> int:
    """Index of ``value`` in ``names``, given as a name or as an integral code."""
    if isinstance(value, str):
        if value not in names:
            raise ValueError(f"unknown {what} {value!r}; choose from {names}")
        return names.index(value)
    integral = isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer()
    )
    if not integral or not 0 <= int(value) < len(names):
        raise ValueError(f"{what} {value!r} is not a code 0-{len(names) - 1} nor one of {names}")
    return int(value)


#: Breast MRI: the BI-RADS-style concepts of :mod:`medai_edu.data.breast_mri`.
MRI_SPEC = ConceptSpec(
    concepts={
        "margin": MARGINS,
        "kinetic": KINETICS,
        "diffusion_restricted": ("unrestricted", "restricted"),
        "t2_hyperintense": ("iso/hypointense", "hyperintense"),
    },
    classes=("benign", "malignant"),
    phrases={
        "margin": {v: f"{v} margin" for v in MARGINS},
        "kinetic": {v: f"{v} kinetics" for v in KINETICS},
        "diffusion_restricted": {
            "unrestricted": "no restricted diffusion",
            "restricted": "restricted diffusion",
        },
        "t2_hyperintense": {
            "iso/hypointense": "T2 iso- or hypointense",
            "hyperintense": "T2 hyperintense",
        },
    },
)

#: Lung carcinoma slides: the concepts of :mod:`medai_edu.data.pathology` that an H&E tile
#: shows, and the tumour types.
_SLIDE_PHRASES = {
    "gland_formation": {"absent": "no gland formation", "present": "gland formation"},
    "keratinisation": {"absent": "no keratinisation", "present": "keratin pearls"},
    "nuclear_pleomorphism": {
        v: f"{v} nuclear pleomorphism" for v in ("mild", "moderate", "marked")
    },
    "necrosis": {"absent": "no necrosis", "present": "tumour necrosis"},
}
SLIDE_SPEC = ConceptSpec(
    concepts={
        "gland_formation": ("absent", "present"),
        "keratinisation": ("absent", "present"),
        "necrosis": ("absent", "present"),
    },
    classes=TUMOUR_TYPES,
    phrases={k: v for k, v in _SLIDE_PHRASES.items() if k != "nuclear_pleomorphism"},
)
#: :data:`SLIDE_SPEC` and the nuclear pleomorphism score (mild, moderate, marked), which
#: the frozen stage-2 features read less well (0.77-0.85 on held-out slides).
SLIDE_SPEC_WITH_PLEOMORPHISM = ConceptSpec(
    concepts={**SLIDE_SPEC.concepts, "nuclear_pleomorphism": ("mild", "moderate", "marked")},
    classes=TUMOUR_TYPES,
    phrases=_SLIDE_PHRASES,
)


# --------------------------------------------------------------------------- the bottleneck


def _as_tensor(x, dtype=torch.float32) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype=dtype, device="cpu")
    return torch.as_tensor(np.asarray(x), dtype=dtype)


class ConceptBottleneck(nn.Module):
    """A concept bottleneck head on frozen features: features -> concepts -> diagnosis.

    Features are standardised with the training set's mean and standard deviation, then
    one linear head per concept gives that concept's logits; the diagnosis is one linear
    layer on the concatenated concept *probabilities* and on nothing else, which is what
    makes the concepts an explanation and an intervention meaningful.

    Parameters
    ----------
    spec : ConceptSpec or mapping of str to sequence of str
        The concepts, the diagnosis classes and the phrases of explanations; or just the
        concepts (name -> value names), with ``classes``.
    n_features : int
        Width F of the features (B, F).
    classes : sequence of str, optional
        The diagnosis classes, when ``spec`` is a plain mapping.

    Examples
    --------
    >>> cbm = ConceptBottleneck(MRI_SPEC, n_features=105).fit(x, cohort.concepts(), y)
    >>> cbm.predict_proba(x, interventions={"kinetic": "persistent"})[:, 1]
    """

    def __init__(self, spec: ConceptSpec | Mapping, n_features: int, classes=None):
        super().__init__()
        if isinstance(spec, ConceptSpec) != (classes is None):
            raise ValueError("give a ConceptSpec, or a mapping of concepts and the classes")
        if not isinstance(spec, ConceptSpec):
            spec = ConceptSpec(spec, classes)
        if int(n_features) < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        self.spec, self.n_features = spec, int(n_features)
        self.concept_heads = nn.ModuleDict(
            {name: nn.Linear(self.n_features, len(v)) for name, v in spec.concepts.items()}
        )
        self.diagnosis = nn.Linear(spec.n_values, len(spec.classes))
        self.register_buffer("feature_mean", torch.zeros(self.n_features))
        self.register_buffer("feature_scale", torch.ones(self.n_features))
        # The training cases' mean concept probabilities: the "average case" explanations
        # are measured against (set by fit).
        self.register_buffer("reference", torch.zeros(spec.n_values))
        self.register_buffer("trained", torch.tensor(False))  # kept in the state_dict

    @property
    def fitted(self) -> bool:
        return bool(self.trained)

    # -- checking what the user gives

    def _features(self, features) -> torch.Tensor:
        x = _as_tensor(features)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"features must be (cases, {self.n_features}), got {tuple(x.shape)}")
        return x

    def _concept_codes(self, concepts: Mapping, n: int) -> dict[str, torch.Tensor]:
        """Concept name -> (n,) long codes; values may be codes or value names."""
        unknown = set(concepts) - set(self.spec.concepts)
        missing = set(self.spec.concepts) - set(concepts)
        if unknown or missing:
            raise ValueError(
                f"concepts must be exactly {list(self.spec.concepts)}; unknown "
                f"{sorted(unknown)}, missing {sorted(missing)}"
            )
        codes = {}
        for name in self.spec.concepts:
            values = np.asarray(_as_numpy(concepts[name])).ravel()
            if len(values) != n:
                raise ValueError(f"concept {name!r} has {len(values)} values for {n} cases")
            codes[name] = torch.tensor([self.spec.value_index(name, v) for v in values])
        return codes

    def _class_codes(self, diagnosis, n: int) -> torch.Tensor:
        labels = np.asarray(_as_numpy(diagnosis)).ravel()
        if len(labels) != n:
            raise ValueError(f"diagnosis has {len(labels)} labels for {n} cases")
        return torch.tensor([_code(y, self.spec.classes, "class") for y in labels])

    def _intervention_codes(self, interventions: Mapping, n: int) -> dict[str, torch.Tensor]:
        """Concept -> (n,) codes to impose; -1 (or None) where a case keeps its prediction."""
        out = {}
        for name, value in interventions.items():
            if name not in self.spec.concepts:
                raise ValueError(
                    f"unknown concept {name!r}; concepts are {list(self.spec.concepts)}"
                )
            if isinstance(value, str) or np.ndim(_as_numpy(value)) == 0:
                values = [value] * n  # one value for every case
            else:
                values = list(np.asarray(_as_numpy(value), dtype=object).ravel())
                if len(values) != n:
                    raise ValueError(f"intervention on {name!r} has {len(values)} values for {n}")
            out[name] = torch.tensor(
                [-1 if _keeps(v) else self.spec.value_index(name, v) for v in values]
            )
        return out

    # -- the model

    def _standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.feature_mean) / self.feature_scale

    def _concept_logits(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: head(z) for name, head in self.concept_heads.items()}

    def _bottleneck(self, probabilities: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(B, V): the concepts' probabilities side by side, in the spec's order."""
        return torch.cat([probabilities[name] for name in self.spec.concepts], dim=1)

    def forward(self, features: torch.Tensor, interventions: Mapping | None = None) -> dict:
        """``{"concepts": name -> (B, n_values) probabilities, "logits": (B, C)}``.

        ``interventions``: concept -> a value (name or code) for every case, or a sequence
        of B values (-1 or None: keep the prediction); that concept's probabilities become
        the one-hot of the imposed value before the diagnosis layer.
        """
        x = self._features(features)
        probabilities = {
            name: logits.softmax(dim=1)
            for name, logits in self._concept_logits(self._standardise(x)).items()
        }
        for name, codes in self._intervention_codes(interventions or {}, len(x)).items():
            imposed = F.one_hot(codes.clamp(min=0), len(self.spec.concepts[name])).float()
            keep = (codes < 0)[:, None]
            probabilities[name] = torch.where(keep, probabilities[name], imposed)
        return {
            "concepts": probabilities,
            "logits": self.diagnosis(self._bottleneck(probabilities)),
        }

    def fit(
        self,
        features,
        concepts: Mapping,
        diagnosis,
        steps: int = 300,
        concept_weight: float = 1.0,
        lr: float = 0.05,
        l2: float = 1e-3,
        seed: int = 0,
        sequential: bool = False,
    ) -> ConceptBottleneck:
        """Joint training: diagnosis cross-entropy + ``concept_weight`` x the concepts'
        cross-entropies + ``l2`` x the squared weights (not biases), full batch, Adam.

        Jointly trained concept heads also serve the diagnosis, and may learn to carry
        more than their concept in their probabilities ("leakage", Mahinpei et al., 2021):
        a head for gland formation becomes a detector of adenocarcinoma, glands or not.
        ``sequential=True`` stops the diagnosis loss at the concept probabilities, which is
        Koh et al.'s sequential bottleneck: concept heads that learn their concepts only.

        Parameters
        ----------
        features : array or tensor, shape (N, F)
        concepts : mapping of str to array (N,)
            Every concept of the spec, as codes or value names.
        diagnosis : array (N,)
            Class codes or class names.
        steps : int
            Full-batch Adam steps, at learning rate ``lr``.
        concept_weight : float
            Weight of the concepts' cross-entropies against the diagnosis's.
        l2 : float
            Penalty on the squared weights, as in a ridge-penalised logistic regression.
        seed : int
            The weights start from this seed, so the fit is deterministic.
        sequential : bool
            Keep the diagnosis loss away from the concept heads (see above).

        Returns
        -------
        self
        """
        x = self._features(features)
        if len(x) < 2:
            raise ValueError("fit needs at least 2 cases")
        codes = self._concept_codes(concepts, len(x))
        labels = self._class_codes(diagnosis, len(x))
        self.feature_mean.copy_(x.mean(0))
        self.feature_scale.copy_(x.std(0).clamp(min=1e-6))
        self._initialise(seed)
        z = self._standardise(x)
        weights = [m.weight for m in (*self.concept_heads.values(), self.diagnosis)]

        def loss_fn(model, batch) -> torch.Tensor:
            z, codes, labels = batch
            logits = model._concept_logits(z)
            probabilities = {name: v.softmax(dim=1) for name, v in logits.items()}
            bottleneck = model._bottleneck(probabilities)
            if sequential:  # the diagnosis loss does not reach the concept heads
                bottleneck = bottleneck.detach()
            loss = F.cross_entropy(model.diagnosis(bottleneck), labels)
            loss = loss + concept_weight * sum(
                F.cross_entropy(logits[name], codes[name]) for name in model.spec.concepts
            )
            return loss + l2 * sum(w.pow(2).sum() for w in weights)

        train_steps(  # full batch: every step sees every case
            self,
            lambda step: (z, codes, labels),
            loss_fn,
            steps=int(steps),
            optimizer=torch.optim.Adam(self.parameters(), lr=lr),
            device="cpu",  # a few linear layers, read with numpy afterwards
            progress=False,
            desc="concept bottleneck",
        )
        with torch.no_grad():
            self.reference.copy_(self._bottleneck(self(x)["concepts"]).mean(0))
        self.trained.fill_(True)
        return self

    def _initialise(self, seed: int) -> None:
        generator = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for layer in (*self.concept_heads.values(), self.diagnosis):
                layer.weight.normal_(0, 0.01, generator=generator)
                layer.bias.zero_()

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("this ConceptBottleneck is not fitted yet; call fit first")

    @torch.no_grad()
    def predict_concepts(self, features) -> dict[str, np.ndarray]:
        """Concept name -> (B, n_values) probabilities."""
        self._check_fitted()
        return {k: v.numpy() for k, v in self.eval()(features)["concepts"].items()}

    @torch.no_grad()
    def predict_proba(self, features, interventions: Mapping | None = None) -> np.ndarray:
        """(B, C) diagnosis probabilities, optionally with concepts imposed (see forward)."""
        self._check_fitted()
        return self.eval()(features, interventions)["logits"].softmax(dim=1).numpy()

    def predict(self, features, interventions: Mapping | None = None) -> np.ndarray:
        """(B,) the most probable class code."""
        return self.predict_proba(features, interventions).argmax(axis=1)

    @torch.no_grad()
    def proba_from_concepts(self, concept_probabilities: Mapping) -> np.ndarray:
        """(B, C) diagnosis probabilities from concept probabilities alone (name -> (B, V)):
        the second half of the bottleneck, e.g. for concepts a clinician filled in."""
        self._check_fitted()
        p = self._probability_matrix(concept_probabilities)
        return self.diagnosis(p).softmax(dim=1).numpy()

    def _probability_matrix(self, concept_probabilities: Mapping) -> torch.Tensor:
        """(B, V) from concept name -> (B, n_values), checked against the spec."""
        if set(concept_probabilities) != set(self.spec.concepts):
            raise ValueError(f"give probabilities of exactly {list(self.spec.concepts)}")
        probabilities = {k: _as_tensor(v) for k, v in concept_probabilities.items()}
        for name, p in probabilities.items():
            width = len(self.spec.concepts[name])
            if p.ndim != 2 or p.shape[1] != width:
                raise ValueError(f"{name} probabilities must be (cases, {width})")
        if len({len(p) for p in probabilities.values()}) != 1:
            raise ValueError("the concepts' probabilities differ in their number of cases")
        return self._bottleneck(probabilities)

    @torch.no_grad()
    def contributions(self, concept_probabilities: Mapping, target) -> dict[str, np.ndarray]:
        """Concept name -> (B,) how far that concept moves class ``target`` ahead of the
        other classes, in logits, compared with an average training case.

        For class k, concept c: sum over its values v of (w_kv - mean over classes of w_v)
        x (p_v - mean training p_v). Summed over the concepts, they give how far the class's
        logit, less the mean logit, lies above its value for the average case. Measuring
        against the average case makes the number independent of how the linear layer
        happens to split a constant among one concept's values (their probabilities sum
        to 1). ``target``: a class code, or (B,) codes.
        """
        self._check_fitted()
        p = self._probability_matrix(concept_probabilities)
        target = torch.as_tensor(np.asarray(target)).long().expand(len(p))
        w = self.diagnosis.weight
        terms = (w[target] - w.mean(0)) * (p - self.reference)  # (B, V)
        out, start = {}, 0
        for name, values in self.spec.concepts.items():
            out[name] = terms[:, start : start + len(values)].sum(1).numpy()
            start += len(values)
        return out


def _keeps(value) -> bool:
    """An intervention entry that leaves the case's own prediction alone."""
    return value is None or (not isinstance(value, str) and value == -1)


def _as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


# --------------------------------------------------------------------------- textual explanations

#: Logits below which a supporting concept goes unmentioned: a quarter logit moves a 50 %
#: probability by about 6 points, too little to be worth a word in a report.
MIN_CONTRIBUTION = 0.25


@dataclass
class ConceptExplanation:
    """One case's concept explanation.

    Attributes
    ----------
    diagnosis : str
        The predicted class.
    probability : float
        Its probability (0-1).
    evidence : list of (concept, value, contribution)
        The predicted (or imposed) value of each concept that pushes the decision towards
        the diagnosis, strongest first; contribution in logits (see
        :meth:`ConceptBottleneck.contributions`).
    text : str
        "Malignant (0.93): washout kinetics, restricted diffusion, spiculated margin".
    """

    diagnosis: str
    probability: float
    evidence: list[tuple[str, str, float]]
    text: str

    def __str__(self) -> str:
        return self.text


def explain_concepts(
    bottleneck: ConceptBottleneck,
    features,
    interventions: Mapping | None = None,
    min_contribution: float = MIN_CONTRIBUTION,
) -> list[ConceptExplanation]:
    """Explain each case by the concepts that support its diagnosis.

    Parameters
    ----------
    bottleneck : ConceptBottleneck
        Fitted.
    features : array or tensor, shape (B, F)
    interventions : mapping, optional
        Concepts to impose first, as in :meth:`ConceptBottleneck.forward`.
    min_contribution : float
        Cite a concept only when it moves the diagnosis by more than this many logits
        (default :data:`MIN_CONTRIBUTION`; 0: every concept that supports it at all).
    """
    bottleneck._check_fitted()
    with torch.no_grad():
        out = bottleneck.eval()(features, interventions)
    proba = out["logits"].softmax(dim=1).numpy()
    predicted = proba.argmax(axis=1)
    contributions = bottleneck.contributions(out["concepts"], predicted)
    spec = bottleneck.spec
    explanations = []
    for i, k in enumerate(predicted):
        evidence = []
        for name, values in spec.concepts.items():
            value = values[int(out["concepts"][name][i].argmax())]
            if contributions[name][i] > min_contribution:
                evidence.append((name, value, float(contributions[name][i])))
        evidence.sort(key=lambda e: -e[2])
        head = f"{spec.classes[k][0].upper()}{spec.classes[k][1:]} ({proba[i, k]:.2f})"
        words = ", ".join(spec.phrase(name, value) for name, value, _ in evidence)
        text = f"{head}: {words}" if words else f"{head}: no concept stands out"
        explanations.append(ConceptExplanation(spec.classes[k], float(proba[i, k]), evidence, text))
    return explanations


def explain_text(bottleneck: ConceptBottleneck, features, **kwargs) -> str | list[str]:
    """The explanation sentence of one case (features (F,)) or of each case (B, F); keyword
    arguments go to :func:`explain_concepts`."""
    x = _as_tensor(features)
    texts = [e.text for e in explain_concepts(bottleneck, x.reshape(-1, x.shape[-1]), **kwargs)]
    return texts[0] if x.ndim == 1 else texts


def text_agreement(
    bottleneck: ConceptBottleneck,
    features,
    concepts: Mapping,
    diagnosis,
    min_contribution: float = MIN_CONTRIBUTION,
) -> float:
    """Share (0-1) of the correctly diagnosed cases whose explanation cites only concept
    values that are true (a case that cites nothing agrees); NaN if no case is correct.

    ``concepts``: the ground truth, concept -> (N,) codes or names; ``diagnosis``: (N,);
    ``min_contribution`` as in :func:`explain_concepts`.
    """
    x = bottleneck._features(features)
    truth = {k: v.numpy() for k, v in bottleneck._concept_codes(concepts, len(x)).items()}
    labels = bottleneck._class_codes(diagnosis, len(x)).numpy()
    explanations = explain_concepts(bottleneck, x, min_contribution=min_contribution)
    spec = bottleneck.spec
    agree = [
        all(spec.concepts[name].index(value) == truth[name][i] for name, value, _ in e.evidence)
        for i, e in enumerate(explanations)
        if spec.classes.index(e.diagnosis) == labels[i]
    ]
    return float(np.mean(agree)) if agree else float("nan")
