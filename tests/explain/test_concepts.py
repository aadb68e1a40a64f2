"""Concept bottleneck and textual explanations (medai_edu.explain.concepts), and the course's
concept models (medai_edu.explain.concept_models)."""

import numpy as np
import pytest
import torch

from medai_edu.explain.concept_models import (
    LesionConceptNet,
    fit_mri_concepts,
    slide_concept_features,
    slide_concept_labels,
)
from medai_edu.explain.concepts import (
    MRI_SPEC,
    SLIDE_SPEC,
    SLIDE_SPEC_WITH_PLEOMORPHISM,
    ConceptBottleneck,
    ConceptSpec,
    explain_concepts,
    explain_text,
    text_agreement,
)
from medai_edu.explain.metrics import concept_accuracy

SPEC = ConceptSpec(
    concepts={"margin": ("smooth", "irregular", "spiculated"), "enhancement": ("weak", "strong")},
    classes=("benign", "malignant"),
    phrases={"enhancement": {"strong": "strong enhancement", "weak": "weak enhancement"}},
)


def _problem(n, seed):
    """Features (n, 8) in which both concepts are linear, and a diagnosis that follows from
    the concepts only: malignant when margin + 2 * enhancement >= 2."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    margin = np.argmax(x[:, :3] * 2.0, axis=1)
    enhancement = (x[:, 3] + 0.5 * x[:, 4] > 0).astype(int)
    malignant = (margin + 2 * enhancement >= 2).astype(int)
    return x, {"margin": margin, "enhancement": enhancement}, malignant


@pytest.fixture(scope="module")
def fitted():
    x, concepts, y = _problem(600, seed=0)
    return ConceptBottleneck(SPEC, n_features=8).fit(x, concepts, y, steps=300, seed=0)


def test_bottleneck_learns_linear_concepts_and_diagnosis(fitted):
    x, concepts, y = _problem(400, seed=1)
    predicted = {k: v.argmax(1) for k, v in fitted.predict_concepts(x).items()}
    accuracy = concept_accuracy(predicted, concepts)
    assert accuracy["margin"] > 0.9 and accuracy["enhancement"] > 0.9
    assert (fitted.predict(x) == y).mean() > 0.9
    assert np.allclose(fitted.predict_proba(x).sum(1), 1, atol=1e-5)


def test_fit_is_deterministic_and_returns_self():
    x, concepts, y = _problem(100, seed=2)
    a = ConceptBottleneck(SPEC, 8)
    assert a.fit(x, concepts, y, steps=20, seed=3) is a
    b = ConceptBottleneck(SPEC, 8).fit(x, concepts, y, steps=20, seed=3)
    b_state = b.state_dict()
    assert all(torch.equal(v, b_state[k]) for k, v in a.state_dict().items())
    # A plain mapping of concepts with the classes works too; the state_dict keeps the fit.
    c = ConceptBottleneck(dict(SPEC.concepts), 8, classes=SPEC.classes)
    assert not c.fitted
    c.load_state_dict(b_state)
    assert c.fitted and np.allclose(c.predict_proba(x), b.predict_proba(x))


def test_diagnosis_reads_concept_probabilities_only(fitted):
    x, _, _ = _problem(50, seed=4)
    probabilities = fitted.predict_concepts(x)
    bottleneck = np.concatenate([probabilities[k] for k in SPEC.concepts], axis=1)
    w, b = fitted.diagnosis.weight.detach().numpy(), fitted.diagnosis.bias.detach().numpy()
    logits = bottleneck @ w.T + b
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert np.allclose(fitted.predict_proba(x), expected, atol=1e-5)
    assert np.allclose(fitted.proba_from_concepts(probabilities), expected, atol=1e-5)
    # Moving the features where no concept head looks leaves the diagnosis unchanged.
    heads = torch.cat([h.weight for h in fitted.concept_heads.values()]).detach().numpy()
    unseen = np.linalg.svd(heads)[2][-1] * fitted.feature_scale.numpy()
    moved = x + 5.0 * unseen.astype(np.float32)
    assert not np.allclose(moved, x)
    assert np.allclose(fitted.predict_proba(moved), fitted.predict_proba(x), atol=1e-5)


def test_intervention_moves_the_diagnosis_the_expected_way(fitted):
    x, _, _ = _problem(60, seed=5)
    p = fitted.predict_proba(x)[:, 1]
    strong = fitted.predict_proba(x, interventions={"enhancement": "strong"})[:, 1]
    weak = fitted.predict_proba(x, interventions={"enhancement": 0})[:, 1]
    assert (strong >= p - 1e-6).all() and (weak <= p + 1e-6).all()
    assert strong.mean() > p.mean() + 0.1 and weak.mean() < p.mean() - 0.1
    # Per case: -1 (or None) keeps a case's own prediction.
    per_case = ["strong"] + [-1] * 59
    mixed = fitted.predict_proba(x, interventions={"enhancement": per_case})[:, 1]
    assert mixed[0] == pytest.approx(strong[0]) and np.allclose(mixed[1:], p[1:])
    imposed = fitted.predict_concepts(x)  # predict_concepts itself is not intervened
    assert not np.allclose(imposed["enhancement"][:, 1], 1)


def test_text_names_the_class_and_the_supporting_concepts(fitted):
    x = np.zeros((2, 8), np.float32)
    x[0, [2, 3]] = 3.0  # spiculated margin, strong enhancement: malignant
    x[1, [0]], x[1, 3] = 3.0, -3.0  # smooth margin, weak enhancement: benign
    malignant, benign = explain_concepts(fitted, x)
    assert malignant.text.startswith("Malignant (") and malignant.diagnosis == "malignant"
    assert "spiculated margin" in malignant.text and "strong enhancement" in malignant.text
    assert benign.text.startswith("Benign (")
    assert "smooth margin" in benign.text and "weak enhancement" in benign.text
    weights = [w for _, _, w in malignant.evidence]
    assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
    assert explain_text(fitted, x[0]) == malignant.text
    assert explain_text(fitted, x) == [malignant.text, benign.text]
    # Imposing the opposite concept changes what the text cites.
    told = explain_concepts(fitted, x[:1], interventions={"enhancement": "weak"})[0]
    assert "strong enhancement" not in told.text


def test_text_agreement_on_the_constructed_problem(fitted):
    x, concepts, y = _problem(300, seed=6)
    assert text_agreement(fitted, x, concepts, y) > 0.9
    wrong = {"margin": (concepts["margin"] + 1) % 3, "enhancement": 1 - concepts["enhancement"]}
    assert text_agreement(fitted, x, wrong, y) < 0.2


def test_clear_errors(fitted):
    x, concepts, y = _problem(20, seed=7)
    with pytest.raises(ValueError, match="unknown"):
        fitted.predict_proba(x, interventions={"size": "large"})
    with pytest.raises(ValueError, match="unknown value"):
        fitted.predict_proba(x, interventions={"margin": "lobulated"})
    with pytest.raises(ValueError, match="not a code"):
        fitted.predict_proba(x, interventions={"margin": 3})
    with pytest.raises(ValueError, match=r"\(cases, 8\)"):
        fitted.predict_proba(x[:, :5])
    with pytest.raises(ValueError, match="values for 20 cases"):
        ConceptBottleneck(SPEC, 8).fit(x, {**concepts, "margin": concepts["margin"][:5]}, y)
    with pytest.raises(ValueError, match="labels for 20 cases"):
        ConceptBottleneck(SPEC, 8).fit(x, concepts, y[:5])
    with pytest.raises(ValueError, match="missing"):
        ConceptBottleneck(SPEC, 8).fit(x, {"margin": concepts["margin"]}, y)
    with pytest.raises(ValueError, match="unknown class"):
        ConceptBottleneck(SPEC, 8).fit(x, concepts, ["cyst"] * 20)
    with pytest.raises(ValueError, match="values for 20"):
        fitted.predict_proba(x, interventions={"margin": ["smooth"] * 3})
    with pytest.raises(ValueError, match="distinct values"):
        ConceptSpec(concepts={"margin": ("smooth",)}, classes=("a", "b"))
    with pytest.raises(RuntimeError, match="not fitted"):
        ConceptBottleneck(SPEC, 8).predict_proba(x)


# --------------------------------------------------------------------------- the course models


def _batches(cohort):
    from medai_edu.explain.concept_models import _mri_batches

    return _mri_batches(cohort, batch_size=len(cohort))


def test_lesion_concept_net_finds_the_lesion_and_checks_inputs(small_cohort):
    net = LesionConceptNet(MRI_SPEC).eval()
    inputs = next(iter(_batches(small_cohort.subset(np.arange(40)))))
    centres = net.locate(net.stack(inputs)).numpy()
    masks = small_cohort.mask[:40]
    hits = masks[np.arange(40), centres[:, 0], centres[:, 1], centres[:, 2]]
    assert hits.mean() > 0.9
    with torch.no_grad():
        out = net(inputs)
    assert out["features"].shape == (40, net.n_features)
    assert out["margin"].shape == (40, 3) and out["lesion"].shape == (40, 1, 6, 12, 12)
    with pytest.raises(ValueError, match="every modality"):
        net({k: v for k, v in inputs.items() if k != "t2"})


def test_fit_mri_concepts_end_to_end_runs(small_cohort):
    train = small_cohort.subset(np.arange(64))
    model = fit_mri_concepts(train, epochs=1, steps=30, seed=0)
    test = small_cohort.subset(np.arange(64, 72))
    x = model.features(test)
    assert x.shape == (8, model.extractor.n_features)
    explanations = model.explain(test)
    assert len(explanations) == 8 and all(
        e.diagnosis in ("benign", "malignant") for e in explanations
    )
    assert set(model.seconds) == {"data", "extractor", "bottleneck"}


def test_fit_mri_concepts_on_the_cpu_device_is_the_default(small_cohort):
    train = small_cohort.subset(np.arange(32))
    default = fit_mri_concepts(train, epochs=1, steps=5, seed=0)
    on_cpu = fit_mri_concepts(train, epochs=1, steps=5, seed=0, device="cpu")
    for part in ("extractor", "bottleneck"):
        a, b = getattr(on_cpu, part).state_dict(), getattr(default, part).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in b), part
    assert {p.device.type for p in on_cpu.extractor.parameters()} == {"cpu"}


def test_slide_features_and_concepts():
    from medai_edu.experiments.slide_pretraining import make_slide_bags
    from medai_edu.models import create_model

    bags = make_slide_bags(3, seed=7, max_tiles=8)
    assert set(bags.concepts) >= {"gland_formation", "keratinisation", "necrosis"}
    one = bags.subset([2])
    assert one.concepts["necrosis"].tolist() == [bags.concepts["necrosis"][2].item()]
    assert set(slide_concept_labels(bags)) == set(SLIDE_SPEC.concepts)
    labels = slide_concept_labels(bags, SLIDE_SPEC_WITH_PLEOMORPHISM)
    assert labels["nuclear_pleomorphism"].dtype == np.int64 and len(labels["necrosis"]) == 3
    torch.manual_seed(0)
    encoder = create_model("mstar-mini").eval()
    x = slide_concept_features(encoder, bags)
    assert x.shape == (3, encoder.config.dim + 2 * encoder.config.feature_dim)
    bags.concepts = {}
    with pytest.raises(ValueError, match="carry no concept"):
        slide_concept_labels(bags)
