"""Stratified train / validation / test splits."""

import numpy as np
import pytest

from medai_edu.data.samples import load_wdbc
from medai_edu.evaluation import stratified_split


@pytest.fixture(scope="module")
def y():
    return load_wdbc().y


def test_split_preserves_class_balance_and_sizes(y):
    split = stratified_split(y, fractions=(0.6, 0.2, 0.2), seed=0)
    overall = y.mean()
    for part in (split.train, split.val, split.test):
        assert abs(y[part].mean() - overall) <= 0.02
    sizes = split.sizes()
    assert sum(sizes.values()) == len(y)
    assert abs(sizes["test"] - 0.2 * len(y)) <= 1 and abs(sizes["val"] - 0.2 * len(y)) <= 1


def test_split_parts_are_disjoint_and_cover_every_case(y):
    split = stratified_split(y, seed=3)
    together = np.concatenate([split.train, split.val, split.test])
    assert len(np.unique(together)) == len(together) == len(y)
    assert not set(split.train) & set(split.test)
    assert not set(split.val) & set(split.test)
    assert not set(split.train) & set(split.val)


def test_split_is_deterministic_by_seed(y):
    a, b, c = stratified_split(y, seed=7), stratified_split(y, seed=7), stratified_split(y, seed=8)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)


def test_split_other_fractions():
    y = np.r_[np.zeros(700), np.ones(300)].astype(int)
    split = stratified_split(y, fractions=(0.7, 0.15, 0.15), seed=0)
    assert split.sizes() == {"train": 700, "val": 150, "test": 150}
    assert y[split.val].sum() == 45 and y[split.test].sum() == 45


@pytest.mark.parametrize(
    "fractions", [(0.5, 0.5), (0.6, 0.3, 0.3), (0.8, 0.0, 0.2), (1, -0.1, 0.1)]
)
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(np.r_[np.zeros(50), np.ones(50)], fractions=fractions)


def test_split_rejects_a_table_as_labels():
    with pytest.raises(ValueError, match="one label per case"):
        stratified_split(np.zeros((10, 2)))
