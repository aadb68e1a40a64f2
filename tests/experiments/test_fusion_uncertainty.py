"""The fusion comparison's uncertainty: per-case scores and intervals over seeds and cases."""

import math

import numpy as np
import pytest

from medai_edu.experiments import case_scores, compare_contenders
from medai_edu.experiments.breast_fusion import make_fusion_data, train_model

N_CASES, SEEDS = 300, (0, 1, 2)


def _scores(rng, y, separation):
    """(N,) scores whose AUROC grows with ``separation`` (0 = chance)."""
    return separation * y + rng.normal(size=len(y))


def _scores_by_seed(gap: float, n_cases=N_CASES, seeds=SEEDS) -> dict:
    """Two contenders on the same cases; MOME-mini ``gap`` separations above early fusion."""
    y = np.random.default_rng(100).integers(0, 2, n_cases)
    by_seed = {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        by_seed[seed] = {
            name: {
                split: (y, _scores(rng, y, 1.0 + bonus))
                for split in ("internal", "hospital_c", "missing_dce")
            }
            for name, bonus in (("mome-mini", gap), ("early fusion", 0.0))
        }
    return by_seed


def _row(rows, contender, measure, split):
    (row,) = [
        r
        for r in rows
        if r["contender"] == contender and r["measure"] == measure and r["split"] == split
    ]
    return row


@pytest.mark.parametrize("split", ["internal", "hospital_c"])
def test_a_clear_gap_gives_a_difference_interval_above_zero(split):
    rows = compare_contenders(_scores_by_seed(gap=1.5), n_boot=300)
    diff = _row(rows, "mome-mini - early fusion", "auroc_difference", split)
    assert diff["mean"] > 0.1
    assert 0 < diff["boot_low"] < diff["mean"] < diff["boot_high"]
    assert 0 < diff["seed_low"] < diff["mean"] < diff["seed_high"]


def test_no_gap_gives_a_difference_interval_around_zero():
    rows = compare_contenders(_scores_by_seed(gap=0.0), n_boot=300)
    diff = _row(rows, "mome-mini - early fusion", "auroc_difference", "internal")
    assert diff["boot_low"] < 0 < diff["boot_high"]
    assert diff["seed_low"] < 0 < diff["seed_high"]


def test_each_contender_gets_its_auroc_with_both_intervals_and_its_drop():
    by_seed = _scores_by_seed(gap=0.5)
    rows = compare_contenders(by_seed, n_boot=200)
    auroc = _row(rows, "early fusion", "auroc", "internal")
    assert len(auroc["per_seed"]) == 3
    assert auroc["mean"] == pytest.approx(np.mean(auroc["per_seed"]))
    assert auroc["boot_low"] < auroc["mean"] < auroc["boot_high"]
    assert auroc["seed_low"] < auroc["mean"] < auroc["seed_high"]
    drop = _row(rows, "mome-mini", "auroc_drop", "missing_dce")
    assert drop["per_seed"] != [0.0, 0.0, 0.0]  # other noise, so a non-zero drop
    assert drop["boot_low"] < drop["mean"] < drop["boot_high"]


def test_one_seed_has_no_seed_interval_but_a_bootstrap_one():
    rows = compare_contenders(_scores_by_seed(gap=1.0, seeds=(0,)), n_boot=200)
    diff = _row(rows, "mome-mini - early fusion", "auroc_difference", "internal")
    assert math.isnan(diff["seed_low"]) and math.isnan(diff["seed_high"])
    assert diff["boot_low"] > 0


def test_seeds_must_score_the_same_cases():
    by_seed = _scores_by_seed(gap=0.0)
    y, s = by_seed[1]["early fusion"]["internal"]
    by_seed[1]["early fusion"]["internal"] = (1 - y, s)
    with pytest.raises(ValueError, match="same data"):
        compare_contenders(by_seed, n_boot=50)


def test_heads_get_auroc_and_balanced_accuracy_skipping_benign_cases():
    rng = np.random.default_rng(0)
    subtype = np.where(rng.random(200) < 0.4, -1, rng.integers(0, 4, 200))
    logits = rng.normal(size=(200, 4)) + 3 * np.eye(4)[np.clip(subtype, 0, 3)]
    triple_negative = np.where(subtype < 0, -1, (subtype == 3).astype(int))
    scores = {
        "internal": (np.abs(subtype) % 2, rng.normal(size=200)),
        "subtype": (subtype, logits),
        "triple_negative": (triple_negative, logits[:, 3]),
    }
    rows = compare_contenders({0: {"mome-mini": scores}, 1: {"mome-mini": scores}}, n_boot=100)
    accuracy = _row(rows, "mome-mini", "balanced_accuracy", "subtype")
    assert accuracy["mean"] > 0.8
    assert _row(rows, "mome-mini", "auroc", "triple_negative")["mean"] > 0.9


def test_case_scores_of_a_trained_model_and_a_single_modality_one():
    data = make_fusion_data(
        n_train=32, n_val=16, n_test=12, batch_size=12, n_neoadjuvant=(24, 16, 12)
    )
    mome = case_scores(train_model("mome-mini", data, epochs=1, progress=False), data)
    assert set(mome) == {
        "internal", "hospital_c", "missing_dce", "missing_t2", "missing_dwi",
        "pcr", "triple_negative", "subtype",
    }  # fmt: skip
    y, s = mome["internal"]
    assert y.shape == s.shape == (12,)
    assert mome["subtype"][1].shape == (12, 4)
    # pCR on the neoadjuvant test cohort: every case a treated cancer
    assert mome["pcr"][0].shape == (12,) and set(np.unique(mome["pcr"][0])) <= {0, 1}
    t2 = case_scores(train_model("t2", data, epochs=1, progress=False), data)
    assert "missing_t2" not in t2
    assert t2["pcr"][1].shape == (12,)  # the same heads on the CNN's frozen features
    np.testing.assert_array_equal(t2["missing_dce"][1], t2["internal"][1])


def test_the_fast_seed_mean_auroc_matches_the_metric():
    from medai_edu import metrics
    from medai_edu.experiments.breast_fusion import _seed_mean

    rng = np.random.default_rng(3)
    y = np.where(rng.random(80) < 0.2, -1, rng.integers(0, 2, 80))
    scores = np.round(rng.normal(size=(80, 3)) + y[:, None], 1)  # with ties
    expected = np.mean([metrics.auroc(y, scores[:, s]) for s in range(3)])
    assert _seed_mean(metrics.auroc)(y, scores) == pytest.approx(expected)
