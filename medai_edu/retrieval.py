"""Search by image: a nearest-neighbour index over embeddings (cosine similarity).

Used to find the archived slides most like a new one (content-based slide retrieval) and,
for MedDr-mini, the training cases whose diagnoses go into the prompt. Exact search with
one matrix product: the course's archives hold hundreds to thousands of items, where an
approximate index (FAISS, HNSW) would only add a dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SearchResult:
    """The ``k`` nearest items of each query: ``index`` (Q, k) int positions in the archive,
    ``similarity`` (Q, k) cosine similarity in [-1, 1], best first."""

    index: np.ndarray
    similarity: np.ndarray


class EmbeddingIndex:
    """Exact cosine nearest-neighbour search over an archive of embeddings.

    >>> index = EmbeddingIndex().fit(archive_embeddings, labels=archive_diagnoses)
    >>> result = index.search(query_embeddings, k=5)
    >>> index.labels[result.index]  # (Q, 5) diagnoses of the nearest archived items
    """

    def __init__(self):
        self.embeddings: np.ndarray | None = None
        self.labels: np.ndarray | None = None

    def fit(self, embeddings, labels=None) -> EmbeddingIndex:
        """Store the archive: ``embeddings`` (N, E); ``labels`` (N,) anything, optional."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or len(embeddings) == 0:
            raise ValueError(
                f"embeddings must be a non-empty (items, features) array, got {embeddings.shape}"
            )
        if not np.isfinite(embeddings).all():
            raise ValueError("embeddings contain NaN or infinite values")
        if labels is not None and len(labels) != len(embeddings):
            raise ValueError(f"{len(labels)} labels for {len(embeddings)} embeddings")
        self.embeddings = _unit(embeddings)
        self.labels = None if labels is None else np.asarray(labels)
        return self

    def __len__(self) -> int:
        return 0 if self.embeddings is None else len(self.embeddings)

    def search(self, queries, k: int = 5, exclude_self: bool = False) -> SearchResult:
        """The ``k`` most similar archived items of each query (Q, E).

        ``exclude_self``: the queries are the archive itself (leave-one-out), so an item
        is not returned as its own neighbour.
        """
        if self.embeddings is None:
            raise RuntimeError("fit the index on an archive first")
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None]
        if queries.ndim != 2 or queries.shape[1] != self.embeddings.shape[1]:
            raise ValueError(
                f"queries must be (n, {self.embeddings.shape[1]}), got {queries.shape}"
            )
        available = len(self) - int(exclude_self)
        if not 1 <= k <= available:
            raise ValueError(f"k must be between 1 and {available}, got {k}")
        similarity = _unit(queries) @ self.embeddings.T
        if exclude_self:
            if len(queries) != len(self):
                raise ValueError("exclude_self needs the archive itself as the queries")
            np.fill_diagonal(similarity, -np.inf)
        order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        return SearchResult(order, np.take_along_axis(similarity, order, axis=1))


def precision_at_k(query_labels, neighbour_labels) -> float:
    """Mean fraction of each query's neighbours (Q, k) that share its label (Q,)."""
    query_labels = np.asarray(query_labels)
    neighbour_labels = np.asarray(neighbour_labels)
    return float((neighbour_labels == query_labels[:, None]).mean())


def majority_vote(neighbour_labels) -> np.ndarray:
    """(Q,) the most common label among each query's neighbours (Q, k); ties go to the
    nearer neighbour's label."""
    votes = []
    for row in np.asarray(neighbour_labels):
        values, first, counts = np.unique(row, return_index=True, return_counts=True)
        best = counts == counts.max()
        votes.append(values[best][np.argmin(first[best])])
    return np.asarray(votes)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)
