"""The breast MRI generator's realism: the default has the oracle ceiling, rates,
kinetics, look-alikes, shine-through and site shift it claims, and the first generator
(``BreastMRIConfig.original()``) stays bit-identical."""

import hashlib
from dataclasses import fields, replace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medai_edu.data import BreastMRIConfig, make_breast_mri_cohort, oracle_auroc
from medai_edu.data.breast_mri import SHIFTED_SITES, kinetic_curve, malignancy_probability
from medai_edu.data.breast_mri.causal import _sample_truth
from medai_edu.data.datasets import normalised_modalities

# sha256 (first 16 hex digits) of every per-case array of make_breast_mri_cohort(40, seed=0)
# made by the first generator, recorded before the realism existed: original() keeps it.
DEFAULT_CHECKSUMS = {
    "dce": "e5bba3dfb03c422d",
    "t2": "a36c7fc27fb1e842",
    "dwi": "815a65a98db68f31",
    "adc": "d844c5fd4b0c51dd",
    "mask": "714d38eeb6789e2c",
    "malignant": "cc30e75fde27e336",
    "subtype": "e15fdcb677b93ac9",
    "pcr": "b9cdbb1bdde90e2e",
    "margin": "7490def37b9aad68",
    "kinetic": "6eca7b253bb78558",
    "diffusion_restricted": "1465061e002e414e",
    "t2_hyperintense": "ed0f5d5517863f90",
    "site": "652d34fc4de69403",
    "lesion_radius_mm": "a865b6457b25db8a",
    "b_values": "c3da9621adb2851e",
}
REALISTIC = BreastMRIConfig()


def _checksum(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    data = a.tobytes() + str(a.dtype).encode() + str(a.shape).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def _truths(config, n, seed=0, site=None):
    rng = np.random.default_rng(seed)
    return [_sample_truth(rng, config, None, site) for _ in range(n)]


def _lesion_mean(volume, mask):
    return float(volume[mask].mean())


def test_original_config_still_gives_the_recorded_cohort():
    cohort = make_breast_mri_cohort(40, seed=0, config=BreastMRIConfig.original())
    got = {
        f.name: _checksum(getattr(cohort, f.name))
        for f in fields(cohort)
        if f.name not in ("seed", "config")
    }
    assert got == DEFAULT_CHECKSUMS


def test_oracle_ceiling_default_and_original():
    assert 0.93 <= oracle_auroc() <= 0.96
    assert oracle_auroc(BreastMRIConfig.original()) == pytest.approx(0.993, abs=0.001)
    assert oracle_auroc(BreastMRIConfig(label_temperature=0)) == 1.0


def test_oracle_auroc_matches_a_sampled_cohort():
    truths = _truths(REALISTIC, 20_000, seed=1)
    concepts = np.array(
        [[t.margin, t.kinetic, t.diffusion_restricted, t.t2_hyperintense] for t in truths]
    )
    p = malignancy_probability(*concepts.T, config=REALISTIC)
    sampled = roc_auc_score([t.malignant for t in truths], p)
    assert sampled == pytest.approx(oracle_auroc(REALISTIC), abs=0.01)


def test_subtype_prevalence_and_pcr_rates_match_the_targets():
    config = REALISTIC
    truths = _truths(config, 20_000, seed=2)
    subtype = np.array([t.subtype for t in truths if t.malignant])
    prevalence = np.bincount(subtype, minlength=4) / len(subtype)
    np.testing.assert_allclose(prevalence, config.subtype_probs, atol=0.02)

    neo = _truths(replace(config, neoadjuvant=True), 12_000, seed=3)
    subtype = np.array([t.subtype for t in neo])
    pcr = np.array([t.pcr for t in neo])
    rates = [pcr[subtype == s].mean() for s in range(4)]
    np.testing.assert_allclose(rates, config.pcr_rate_by_subtype, atol=0.04)


def test_neoadjuvant_cohort_is_malignant_tumours_of_at_least_2_cm_with_pcr_labels():
    config = BreastMRIConfig(neoadjuvant=True)
    cohort = make_breast_mri_cohort(12, seed=4, config=config)
    assert cohort.malignant.all()
    assert (2 * cohort.lesion_radius_mm >= 20).all()
    assert set(np.unique(cohort.pcr)) <= {0, 1} and (cohort.subtype >= 0).all()
    truths = _truths(config, 2000, seed=5)
    assert 0.1 < np.mean([t.pcr for t in truths]) < 0.4  # a mix of responders


def test_look_alikes_give_benign_lesions_the_cancers_looks_and_sizes():
    truths = _truths(REALISTIC, 20_000, seed=9)
    benign = [t for t in truths if not t.malignant]
    malignant = [t for t in truths if t.malignant]
    looks = [
        np.bincount([t.look for t in group], minlength=4) / len(group)
        for group in (benign, malignant)
    ]
    np.testing.assert_allclose(looks[0], looks[1], atol=0.02)
    radius = [np.mean([t.lesion_radius_mm for t in group]) for group in (benign, malignant)]
    assert radius[0] == pytest.approx(radius[1], abs=0.1)
    original = _truths(BreastMRIConfig.original(), 2000, seed=9)
    assert all(t.look == (t.subtype if t.malignant else -1) for t in original)


def test_wash_in_follows_the_kinetic_concept_not_the_diagnosis():
    cohort = make_breast_mri_cohort(90, seed=10, config=REALISTIC, site=0)
    early = np.array([_early_over_peak(cohort, i) for i in range(len(cohort))])
    persistent, washout = cohort.kinetic == 0, cohort.kinetic == 2
    assert early[persistent].mean() < early[washout].mean() - 0.1
    for kinetic in (0, 2):  # given the kinetic type, benign and malignant wash in alike
        same = cohort.kinetic == kinetic
        benign, malignant = same & (cohort.malignant == 0), same & (cohort.malignant == 1)
        assert abs(early[benign].mean() - early[malignant].mean()) < 0.1


def _early_over_peak(cohort, i):
    """The lesion's enhancement at 1 min over that at 2 min (normalised images)."""
    enhancement, m = normalised_modalities(cohort, i)["dce"][1:], cohort.mask[i]
    return _lesion_mean(enhancement[0], m) / _lesion_mean(enhancement[1], m)


def test_benign_lesions_wash_in_slower_on_average():
    # through the kinetic concept: benign lesions are mostly persistent, cancers washout
    cohort = make_breast_mri_cohort(80, seed=6, config=REALISTIC, site=0)
    early = np.array([_early_over_peak(cohort, i) for i in range(len(cohort))])
    malignant = cohort.malignant.astype(bool)
    assert early[~malignant].mean() < early[malignant].mean() - 0.05
    assert early[~malignant].max() > early[malignant].min()  # overlapping


def test_wash_in_time_constant_changes_only_the_early_phase_speed():
    times = (0.0, 1.0, 2.0, 4.0)
    fast = kinetic_curve(0, times, 1.5, 0.25)
    np.testing.assert_array_equal(fast, kinetic_curve(0, times, 1.5, 0.25, 0.5))
    slow = kinetic_curve(0, times, 1.5, 0.25, 3.0)
    assert slow[1] / slow[2] < fast[1] / fast[2]


def _low_b_lesion_signal(config, n=60, seed=7):
    cohort = make_breast_mri_cohort(n, seed=seed, config=config, site=0)
    low_b = [
        _lesion_mean(normalised_modalities(cohort, i)["dwi"][0], cohort.mask[i]) for i in range(n)
    ]
    return np.corrcoef(low_b, cohort.t2_hyperintense)[0, 1]


def test_t2_shine_through_on_low_b_dwi():
    assert _low_b_lesion_signal(REALISTIC) > 0.6
    assert abs(_low_b_lesion_signal(BreastMRIConfig.original())) < 0.4


def _z_spill(enhancement, mask):
    """Enhancement in the slices just above and below the lesion over that in its slices,
    both within its in-plane footprint: how far the lesion smears along z."""
    slices = np.flatnonzero(mask.any(axis=(1, 2)))
    footprint = mask.any(axis=0)
    outside = [z for z in (slices[0] - 1, slices[-1] + 1) if 0 <= z < mask.shape[0]]
    inside = np.mean([enhancement[z][footprint].mean() for z in slices])
    return np.mean([enhancement[z][footprint].mean() for z in outside]) / inside


def _site_statistics(config, site, n=24, seed=8):
    """Per case, after the dataset's normalisation: the lesion's enhancement at the first
    post-contrast phase over the second, and its spill along z at the second."""
    cohort = make_breast_mri_cohort(n, seed=seed, config=config, site=site)
    early, spill = [], []
    for i in range(n):
        enhancement, m = normalised_modalities(cohort, i)["dce"][1:], cohort.mask[i]
        early.append(_lesion_mean(enhancement[0], m) / _lesion_mean(enhancement[1], m))
        spill.append(_z_spill(enhancement[1], m))
    return np.array(early), np.array(spill)


def test_hospital_c_differs_from_a_after_normalisation():
    assert REALISTIC.sites == SHIFTED_SITES
    early_a, spill_a = _site_statistics(REALISTIC, 0)
    early_c, spill_c = _site_statistics(REALISTIC, 2)
    assert early_c.mean() > early_a.mean() + 0.1  # later phases: nearer the peak
    assert spill_c.mean() > spill_a.mean() + 0.1  # thick slices smear the lesion along z


def test_realism_fields_are_checked():
    with pytest.raises(ValueError, match="dwi_t2_weight"):
        BreastMRIConfig(dwi_t2_weight=1.5)
    with pytest.raises(ValueError, match="pcr_rate_by_subtype"):
        BreastMRIConfig(pcr_rate_by_subtype=(0.1, 0.2, 1.0, 0.3))
    with pytest.raises(ValueError, match="wash_in_median_min"):
        BreastMRIConfig(wash_in_median_min=(0.0, 1.0, 0.5))
    with pytest.raises(ValueError, match="wash_in_median_min"):
        BreastMRIConfig(wash_in_median_min=(2.5, 0.6))
    with pytest.raises(ValueError, match="never malignant"):
        make_breast_mri_cohort(
            1,
            config=BreastMRIConfig(neoadjuvant=True, label_temperature=0),
            concepts={"margin": 0, "kinetic": 0, "diffusion_restricted": 0, "t2_hyperintense": 1},
        )


def test_pcr_oracle_is_the_ceiling_of_subtype_and_size():
    from medai_edu.data import pcr_oracle_auroc

    ceiling = pcr_oracle_auroc()
    assert 0.70 < ceiling < 0.78  # subtype rates from trials, a moderate size effect
    assert pcr_oracle_auroc(seed=1) == pytest.approx(ceiling, abs=0.01)  # a stable estimate
    # with the first generator's steep size effect, size alone nearly decides pCR
    assert pcr_oracle_auroc(BreastMRIConfig.original()) > ceiling + 0.1
