"""Search by image: exact cosine neighbours, leave-one-out, votes and clear errors."""

import numpy as np
import pytest

from medai_edu.retrieval import EmbeddingIndex, majority_vote, precision_at_k


def archive():
    # two tight clusters along x and y; item 4 is the x cluster's outlier
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.7, 0.7]], dtype=float)
    return x * np.array([[3], [1], [2], [5], [1]])  # scale must not matter (cosine)


def test_search_returns_the_nearest_by_angle_best_first():
    index = EmbeddingIndex().fit(archive(), labels=["a", "a", "b", "b", "a"])
    result = index.search([[1.0, 0.1], [0.0, 2.0]], k=2)
    assert result.index.tolist() == [[1, 0], [2, 3]]
    assert (np.diff(result.similarity, axis=1) <= 0).all()
    np.testing.assert_allclose(result.similarity[1, 0], 1.0, atol=1e-6)
    assert index.labels[result.index].tolist() == [["a", "a"], ["b", "b"]]


def test_leave_one_out_never_returns_the_query_itself():
    index = EmbeddingIndex().fit(archive())
    result = index.search(archive(), k=4, exclude_self=True)
    assert not (result.index == np.arange(5)[:, None]).any()
    with pytest.raises(ValueError, match="between 1 and 4"):
        index.search(archive(), k=5, exclude_self=True)


def test_precision_and_majority_vote():
    neighbours = np.array([["a", "b", "a"], ["b", "a", "c"]])
    assert precision_at_k(["a", "c"], neighbours) == pytest.approx(3 / 6)
    assert majority_vote(neighbours).tolist() == ["a", "b"]  # tie: nearest wins


def test_bad_input_is_named():
    with pytest.raises(RuntimeError, match="fit the index"):
        EmbeddingIndex().search([[1.0, 0.0]])
    with pytest.raises(ValueError, match="non-empty"):
        EmbeddingIndex().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        EmbeddingIndex().fit([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="3 labels for 5"):
        EmbeddingIndex().fit(archive(), labels=[1, 2, 3])
    with pytest.raises(ValueError, match=r"queries must be \(n, 2\)"):
        EmbeddingIndex().fit(archive()).search(np.ones((1, 3)))
