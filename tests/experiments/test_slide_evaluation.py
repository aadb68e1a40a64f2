"""The fair comparison of slide encoders: shared heads, paired draws, survival by grouped
cross-validation, the oracle, zero-shot prompts, Kaplan-Meier."""

import numpy as np
import pytest
import torch

from medai_edu import metrics
from medai_edu.data.pathology import make_slide_bags
from medai_edu.experiments import load_encoders
from medai_edu.experiments import slide_evaluation as ev


@pytest.fixture(scope="module")
def bags():
    return make_slide_bags(30, seed=4)


@pytest.fixture(scope="module")
def encoders():
    return load_encoders()


def test_few_shot_draws_are_paired_and_the_difference_has_an_interval(bags, encoders):
    models = {"random": encoders.random, "stage 2": encoders.stage2}
    features = ev.encoder_features(models, bags)
    support, test = bags.subset(range(15)), bags.subset(range(15, 30))
    f_support = {k: v[:15] for k, v in features.items()}
    f_test = {k: v[15:] for k, v in features.items()}
    rows = ev.few_shot_draws(f_support, support, f_test, test, shots=(1, 99), draws=3,
                             heads=("mean", "abmil"), progress=False)  # fmt: skip
    assert {r["shots"] for r in rows} == {1}  # 99 shots exceed every class: skipped
    assert {r["encoder"] for r in rows} == {"random", "stage 2", ev.ORACLE}
    assert not [r for r in rows if r["encoder"] == ev.ORACLE and r["head"] == "abmil"]
    assert all(0 <= r["auroc"] <= 1 for r in rows)
    same = ev.paired_difference(rows, "random", "random", "mean", 1)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0, "draws": 3}
    diff = ev.paired_difference(rows, "stage 2", "random", "abmil", 1)
    assert diff["low"] <= diff["difference"] <= diff["high"]
    summary = ev.summarise_draws(rows)
    assert all(r["low"] <= r["auroc"] <= r["high"] for r in summary)


def test_patient_folds_keep_each_patient_together():
    patients = np.array([0, 0, 1, 2, 2, 2, 3, 4, 5, 5])
    folds = ev.patient_folds(patients, 3, np.random.default_rng(0))
    for p in np.unique(patients):
        assert len(set(folds[patients == p])) == 1
    assert set(folds) == {0, 1, 2}


def test_penalised_cox_finds_the_risk_direction_and_shrinks_with_the_penalty():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    months = rng.exponential(1 / np.exp(1.5 * x[:, 0]))
    event = np.ones(300, dtype=np.int64)
    w = ev.fit_penalised_cox(x, event, months, penalty=0.01)
    assert w[0] > 0.8 and abs(w[1]) < 0.3 and abs(w[2]) < 0.3
    assert ev.fit_penalised_cox(x, event, months, penalty=10.0)[0] < 0.3 * w[0]


def test_discrete_time_loss_prefers_hazards_where_deaths_happen():
    event = torch.tensor([1, 1, 0])
    interval = torch.tensor([0, 2, 2])
    good = torch.tensor([[3.0, -3, -3], [-3.0, -3, 3], [-3.0, -3, -3]])
    bad = -good
    assert ev.discrete_time_loss(good, event, interval) < ev.discrete_time_loss(
        bad, event, interval
    )


def test_survival_cross_validation_learns_the_stage_and_knows_its_oracle(bags, encoders):
    # Features that carry nothing: whatever the models rank, they learned from the stage.
    blank = {"nothing": torch.zeros(len(bags), bags.tiles.shape[1], 4)}
    risks = ev.survival_cross_validation(blank, bags, folds=3, repeats=1, progress=False)
    assert set(risks) == {("nothing", "cox"), ("nothing", "abmil")}
    assert all(r.shape == (1, len(bags)) for r in risks.values())
    stage_alone = metrics.concordance_index(bags.stage.numpy(), bags.event, bags.months)
    for risk in risks.values():  # 20 training slides a fold: near the stage alone, noisily
        c = ev.cindex_summary(risk, bags)["c_index"]
        assert c > 0.5 and abs(c - stage_alone) < 0.12, c
    no_stage = ev.survival_cross_validation(blank, bags, heads=("cox",), with_stage=False,
                                            folds=3, repeats=1, progress=False)  # fmt: skip
    assert np.ptp(no_stage["nothing", "cox"]) == 0  # nothing to learn from
    oracle = ev.cohort_oracle_cindex(bags)
    assert oracle > stage_alone and ev.cohort_oracle_cindex(bags, with_stage=False) < oracle
    same = risks["nothing", "cox"]
    assert ev.paired_cindex_difference(same, same, bags, n_boot=20)["difference"] == 0.0


def test_the_survival_head_fits_the_stage_before_the_slide():
    """With the slide's score held at 0 first, the stage alone is learned properly."""
    torch.manual_seed(0)
    n = 200
    stage = torch.randint(0, 4, (n,))
    covariates = torch.nn.functional.one_hot(stage, 4)[:, 1:].float()
    died_early = stage >= 2
    interval = torch.where(died_early, 0, 3)
    event = torch.ones(n, dtype=torch.long)
    features = torch.randn(n, 5, 8)
    mask = torch.ones(n, 5, dtype=torch.bool)
    head = ev.fit_attention_head(
        features, mask, lambda out: ev.discrete_time_loss(out, event, interval), 4,
        covariates=covariates, steps=0, shared_score=True,
    )  # fmt: skip
    weights = head.covariate_score.weight.detach().flatten()
    assert weights[1] > weights[0] + 1 and weights[2] > weights[0] + 1  # III, IV: riskier
    assert torch.equal(head.out.weight, torch.zeros_like(head.out.weight))


def test_zero_shot_uses_the_prompts_and_beats_chance(bags, encoders):
    scores = ev.zero_shot_predict(encoders.stage2, encoders.tokenizer, bags)
    assert scores.shape == (len(bags), 3)
    result = ev.zero_shot_accuracy(encoders.stage2, encoders.tokenizer, bags)
    assert result["accuracy"] > 0.45  # chance is 1/3
    same = {name: ("the same words",) for name in ev.CLASS_PROMPTS}
    flat = ev.zero_shot_predict(encoders.stage2, encoders.tokenizer, bags, prompts=same)
    assert np.allclose(flat[:, 0], flat[:, 1])


def test_kaplan_meier_steps_down_at_each_death():
    times, survival = metrics.kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    np.testing.assert_allclose(times, [0, 1, 2, 3])
    np.testing.assert_allclose(survival, [1, 0.8, 0.6, 0.3])
    with pytest.raises(ValueError, match="same length"):
        metrics.kaplan_meier([1, 2], [1])
