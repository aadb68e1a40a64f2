"""pCR and subtype heads fitted on a frozen backbone, and the baseline's same heads."""

import numpy as np
import pytest
import torch

from medai_edu import metrics
from medai_edu.experiments.breast_fusion import make_fusion_data
from medai_edu.experiments.breast_heads import (
    baseline_head_scores,
    fit_linear_head,
    fit_task_heads,
    frozen_features,
)
from medai_edu.models import create_model
from medai_edu.train import predict


@pytest.fixture(scope="module")
def data():
    return make_fusion_data(
        n_train=48, n_val=32, n_test=24, batch_size=16, n_neoadjuvant=(48, 32, 24)
    )


def test_neoadjuvant_cohorts_are_malignant_tumours_of_2_to_3_cm(data):
    for loader in (data.neoadjuvant_train, data.neoadjuvant_val, data.neoadjuvant_test):
        cohort = loader.dataset.cohort
        assert cohort.malignant.all() and (cohort.site < 2).all()
        assert (2 * cohort.lesion_radius_mm >= 20).all() and (
            2 * cohort.lesion_radius_mm <= 30
        ).all()
    assert (
        make_fusion_data(n_train=8, n_val=8, n_test=8, n_neoadjuvant=None).neoadjuvant_test is None
    )


def test_fitted_heads_are_the_chosen_regression_and_leave_malignancy_alone(data):
    torch.manual_seed(0)
    model = create_model("mome-mini").eval()
    before, _ = predict(model, data.test, device="cpu")
    scores = fit_task_heads(model, data)
    after, _ = predict(model, data.test, device="cpu")
    torch.testing.assert_close(after["malignant"], before["malignant"])
    # the heads in the model reproduce the validation scores the regression was chosen by
    out, targets = predict(model, data.neoadjuvant_val, device="cpu")
    assert metrics.auroc(targets["pcr"], out["pcr"]) == pytest.approx(scores["pcr"], abs=1e-4)
    out, targets = predict(model, data.val, device="cpu")
    cancer = targets["subtype"] >= 0
    predicted = out["subtype"][cancer].argmax(1)
    balanced = metrics.balanced_accuracy(targets["subtype"][cancer], predicted)
    assert balanced == pytest.approx(scores["subtype"], abs=1e-6)


def test_frozen_features_keep_the_training_mode_and_cover_every_case(data):
    model = create_model("mri-cnn").train()
    x, targets = frozen_features(model, data.val)
    assert model.training
    assert x.shape == (len(data.val.dataset), 64) and len(targets["malignant"]) == len(x)


def test_baseline_heads_score_the_neoadjuvant_and_malignant_test_cases(data):
    torch.manual_seed(0)
    scores = baseline_head_scores(create_model("mri-cnn"), data)
    y_pcr, s_pcr = scores["pcr"]
    assert len(y_pcr) == len(s_pcr) == len(data.neoadjuvant_test.dataset)
    y_tn, p_tn = scores["triple_negative"]
    benign = data.test.dataset.cohort.malignant == 0
    assert (y_tn[benign] == -1).all() and ((0 <= p_tn) & (p_tn <= 1)).all()
    assert scores["subtype"][1].shape == (len(data.test.dataset), 4)


def test_a_linear_head_reads_a_separable_signal_and_rejects_unknown_tasks():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 5)) + 3 * y[:, None] * np.eye(5)[0]
    weight, bias, score = fit_linear_head(x[:100], y[:100], x[100:], y[100:], "pcr")
    assert score > 0.95 and weight.shape == (1, 5) and bias.shape == (1,)
    assert metrics.auroc(y[100:], x[100:] @ weight[0] + bias[0]) == pytest.approx(score)
    with pytest.raises(ValueError, match="task must be"):
        fit_linear_head(x, y, x, y, "survival")
