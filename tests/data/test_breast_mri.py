"""The synthetic breast mpMRI generator: determinism, shapes, balance, learnability, causality."""

import numpy as np
import pytest
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from medai_edu.data.breast_mri import (
    SUBTYPES,
    BreastMRICohort,
    BreastMRIConfig,
    make_breast_mri_case,
    make_breast_mri_cohort,
    malignancy_probability,
)
from medai_edu.data.datasets import BreastMRIDataset


@pytest.fixture(scope="module")
def cohort():
    return make_breast_mri_cohort(400, seed=11)


def lesion_features(c: BreastMRICohort) -> np.ndarray:
    """Simple radiomics inside the true mask: kinetic curve, T2, ADC, size, compactness."""
    rows = []
    for i in range(len(c)):
        m = c.mask[i]
        curve = c.dce[i][:, m].mean(axis=1) / c.dce[i, 0][m].mean()
        t2 = c.t2[i][m].mean() / np.percentile(c.t2[i], 99)
        interior = ndimage.binary_erosion(m)
        surface = (m & ~interior).sum()
        rim_to_core = c.dce[i, 1][m].max() / (c.dce[i, 1][m].mean() + 1e-6)
        rows.append([*curve[1:], t2, c.adc[i][m].mean(), m.sum(), surface / m.sum(), rim_to_core])
    return np.array(rows)


def cv_scores(features, labels, proba=True):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    method = "predict_proba" if proba else "predict"
    return cross_val_predict(clf, features, labels, cv=5, method=method)


def test_same_seed_same_cohort_and_prefix_property():
    a = make_breast_mri_cohort(6, seed=3)
    b = make_breast_mri_cohort(6, seed=3)
    c = make_breast_mri_cohort(3, seed=3)
    d = make_breast_mri_cohort(6, seed=4)
    for name in ("dce", "t2", "dwi", "adc", "mask", "malignant", "subtype", "site"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(getattr(a, name)[:3], getattr(c, name))
    assert not np.array_equal(a.dce, d.dce)


def test_shapes_units_and_default_size(cohort):
    n, (z, y, x) = len(cohort), BreastMRIConfig().shape
    assert (z, y, x) == (16, 32, 32)
    assert cohort.dce.shape == (n, 5, z, y, x)  # pre-contrast + 4 post-contrast phases
    assert cohort.t2.shape == cohort.adc.shape == cohort.mask.shape == (n, z, y, x)
    assert cohort.dwi.shape == (n, 2, z, y, x)
    assert cohort.dce.dtype == np.float32 and cohort.mask.dtype == bool
    assert cohort.mask.sum(axis=(1, 2, 3)).min() > 10  # every case has a visible lesion
    # ADC in 10^-3 mm^2/s: restricted lesions ~0.9, unrestricted ~1.6
    lesion_adc = np.array([cohort.adc[i][cohort.mask[i]].mean() for i in range(n)])
    restricted = cohort.diffusion_restricted == 1
    assert 0.6 < lesion_adc[restricted].mean() < 1.2 < lesion_adc[~restricted].mean() < 2.0


def test_size_is_a_parameter():
    config = BreastMRIConfig(shape=(32, 32, 32), spacing_mm=(2.0, 2.0, 2.0))
    case = make_breast_mri_case(seed=1, config=config)
    assert case.dce.shape[1:] == case.t2.shape == (32, 32, 32)


def test_label_balance(cohort):
    assert 0.4 < cohort.malignant.mean() < 0.6
    malignant = cohort.malignant == 1
    assert np.all(cohort.subtype[~malignant] == -1) and np.all(cohort.pcr[~malignant] == -1)
    counts = np.bincount(cohort.subtype[malignant], minlength=len(SUBTYPES))
    expected = np.array(BreastMRIConfig().subtype_probs) * malignant.sum()
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected) + 3)
    assert 0.15 < cohort.pcr[malignant].mean() < 0.55
    assert set(np.unique(cohort.site)) == {0, 1, 2}
    skewed = make_breast_mri_cohort(200, seed=2, config=BreastMRIConfig(malignant_fraction=0.2))
    assert 0.1 < skewed.malignant.mean() < 0.3


def test_every_label_is_learnable_from_the_images(cohort):
    features = lesion_features(cohort)
    malignant_auc = roc_auc_score(cohort.malignant, cv_scores(features, cohort.malignant)[:, 1])
    assert malignant_auc > 0.85
    m = cohort.malignant == 1
    subtype_pred = cv_scores(features[m], cohort.subtype[m], proba=False)
    assert balanced_accuracy_score(cohort.subtype[m], subtype_pred) > 0.45  # chance 0.25
    pcr_auc = roc_auc_score(cohort.pcr[m], cv_scores(features[m], cohort.pcr[m])[:, 1])
    assert pcr_auc > 0.6
    for concept in ("kinetic", "diffusion_restricted", "t2_hyperintense"):
        pred = cv_scores(features, getattr(cohort, concept), proba=False)
        assert (pred == getattr(cohort, concept)).mean() > 0.9, concept
    margin_pred = cv_scores(features, cohort.margin, proba=False)
    assert balanced_accuracy_score(cohort.margin, margin_pred) > 0.5  # chance 0.33


def test_concepts_cause_malignancy(cohort):
    # The diagnosis is (almost) a function of the concepts ...
    concepts = np.stack(
        [cohort.margin, cohort.kinetic, cohort.diffusion_restricted, cohort.t2_hyperintense], axis=1
    )
    assert roc_auc_score(cohort.malignant, malignancy_probability(*concepts.T)) > 0.95
    # ... and intervening on the concepts changes the diagnosis, all else equal.
    suspicious = {"margin": 2, "kinetic": 2, "diffusion_restricted": 1, "t2_hyperintense": 0}
    reassuring = {"margin": 0, "kinetic": 0, "diffusion_restricted": 0, "t2_hyperintense": 1}
    assert make_breast_mri_cohort(60, seed=5, concepts=suspicious).malignant.mean() > 0.95
    assert make_breast_mri_cohort(60, seed=5, concepts=reassuring).malignant.mean() < 0.05
    washout = make_breast_mri_cohort(200, seed=6, concepts={"kinetic": 2}).malignant.mean()
    persistent = make_breast_mri_cohort(200, seed=6, concepts={"kinetic": 0}).malignant.mean()
    assert washout > persistent + 0.3


def test_kinetic_curve_types_show_in_the_dce(cohort):
    late_change = []
    for i in range(len(cohort)):
        curve = cohort.dce[i][:, cohort.mask[i]].mean(axis=1)
        late_change.append(curve[-1] / curve[2] - 1)  # last phase vs early peak at 2 min
    late_change = np.array(late_change)
    assert late_change[cohort.kinetic == 0].mean() > 0.1  # persistent: keeps rising
    assert abs(late_change[cohort.kinetic == 1].mean()) < 0.05  # plateau
    assert late_change[cohort.kinetic == 2].mean() < -0.1  # washout


def test_sites_differ_for_external_validation():
    a = make_breast_mri_cohort(40, seed=1, site=0)
    b = make_breast_mri_cohort(40, seed=1, site=1)
    assert np.all(a.site == 0) and np.all(b.site == 1)
    # different gain and b-value: the raw intensities and DWI differ systematically
    assert np.median(b.t2.reshape(40, -1).max(1)) < 0.85 * np.median(a.t2.reshape(40, -1).max(1))
    assert np.all(b.b_values[:, 1] == 1000) and np.all(a.b_values[:, 1] == 800)
    noiseless = make_breast_mri_cohort(2, seed=1, config=BreastMRIConfig(noise_scale=0.0))
    noisy = make_breast_mri_cohort(2, seed=1, config=BreastMRIConfig(noise_scale=3.0))
    air = noiseless.t2[:, :, :2, :2]  # a corner outside the body
    assert air.std() < 1e-6 < noisy.t2[:, :, :2, :2].std()


def test_save_load_round_trip(tmp_path, cohort):
    small = cohort.subset(np.arange(5))
    path = small.save(tmp_path / "c.npz")
    loaded = BreastMRICohort.load(path)
    np.testing.assert_array_equal(loaded.dce, small.dce)
    assert loaded.case(2).describe() == small.case(2).describe()


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        BreastMRIConfig(shape=(4, 32, 32))
    with pytest.raises(ValueError, match="unknown concept"):
        make_breast_mri_cohort(2, concepts={"colour": 1})
    with pytest.raises(ValueError, match="out of range"):
        make_breast_mri_cohort(2, concepts={"margin": 5})
    with pytest.raises(ValueError, match="positive"):
        make_breast_mri_cohort(0)
    with pytest.raises(FileNotFoundError):
        BreastMRICohort.load(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="not a readable"):
        BreastMRICohort.load(corrupt)


def test_torch_dataset_items(cohort):
    dataset = BreastMRIDataset(cohort.subset(np.arange(4)))
    inputs, targets = dataset[0]
    assert inputs["dce"].shape == (5, 16, 32, 32)
    assert inputs["t2"].shape == (1, 16, 32, 32) and inputs["dwi"].shape == (3, 16, 32, 32)
    assert 0.5 < float(inputs["t2"].max()) < 3  # scaled, not raw scanner units
    assert int(targets["malignant"]) == cohort.malignant[0]
    assert BreastMRIDataset(cohort, modalities=("t2",))[0][0].keys() == {"t2"}
    with pytest.raises(ValueError, match="modalities"):
        BreastMRIDataset(cohort, modalities=("pet",))
