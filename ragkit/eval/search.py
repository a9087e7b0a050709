"""Exact (brute-force) top-k search by dot product, in query batches."""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from ragkit.errors import ConfigError, InputError
from ragkit.types import Matrix

__all__ = ["exact_top_k"]

logger = logging.getLogger(__name__)


def exact_top_k(
    queries: Matrix, corpus: Matrix, k: int, *, batch_size: int = 256
) -> tuple[npt.NDArray[np.int64], Matrix]:
    """Find the ``k`` corpus rows with the highest dot product for each query row.

    Scores are computed ``batch_size`` queries at a time, so memory stays at
    ``batch_size * len(corpus)`` floats. Each row's best ``k`` are picked with
    ``np.argpartition`` and only those are sorted. Equal scores rank the lower corpus
    index first. For cosine similarity, pass L2-normalised embeddings.

    Args:
        queries: Query embeddings, shape ``(n_queries, dim)``; cast to float32.
        corpus: Document embeddings, shape ``(n_docs, dim)``; cast to float32.
        k: How many results per query, at least 1; more than ``n_docs`` gives ``n_docs``.
        batch_size: Queries scored per matrix product, at least 1.

    Returns:
        ``(indices, scores)``, both of shape ``(n_queries, min(k, n_docs))``: corpus row
        indices (int64) and their scores (float32), best first.

    Raises:
        ConfigError: If ``k`` or ``batch_size`` is below 1.
        InputError: If an input is not a 2-D numeric array, the dimensions differ, or a
            row holds NaN or infinity.

    Example:
        >>> corpus = np.array([[1, 0], [0, 1], [0.5, 0.5]], dtype=np.float32)
        >>> indices, scores = exact_top_k(np.array([[0, 1]], dtype=np.float32), corpus, k=2)
        >>> indices.tolist(), scores.tolist()
        ([[1, 2]], [[1.0, 0.5]])
    """
    if k < 1 or batch_size < 1:
        raise ConfigError(
            f"k and batch_size must be at least 1, got k={k}, batch_size={batch_size}"
        )
    query_matrix = _as_matrix(queries, "queries")
    corpus_matrix = _as_matrix(corpus, "corpus")
    if query_matrix.shape[1] != corpus_matrix.shape[1]:
        raise InputError(
            f"queries have dimension {query_matrix.shape[1]} but the corpus has "
            f"{corpus_matrix.shape[1]}: embed both with the same model"
        )
    k = min(k, corpus_matrix.shape[0])
    n_queries = query_matrix.shape[0]
    indices = np.empty((n_queries, k), dtype=np.int64)
    scores = np.empty((n_queries, k), dtype=np.float32)
    if k == 0:
        return indices, scores
    for start in range(0, n_queries, batch_size):
        batch = query_matrix[start : start + batch_size] @ corpus_matrix.T
        top = _top_k_unsorted(batch, k)
        top_scores = np.take_along_axis(batch, top, axis=1)
        order = np.lexsort((top, -top_scores), axis=1)
        indices[start : start + batch_size] = np.take_along_axis(top, order, axis=1)
        scores[start : start + batch_size] = np.take_along_axis(top_scores, order, axis=1)
    logger.debug("exact top-%d for %d queries over %d docs", k, n_queries, len(corpus_matrix))
    return indices, scores


def _as_matrix(array: Matrix, name: str) -> Matrix:
    values = np.asarray(array)
    if values.ndim != 2 or values.dtype.kind not in "fiu":
        raise InputError(
            f"{name} must be a 2-D float array of shape (n, dim), "
            f"got {values.ndim}-D {values.dtype} with shape {values.shape}"
        )
    values = values.astype(np.float32, copy=False)
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad_rows.size:
        raise InputError(f"{name} row {bad_rows[0]} holds NaN or infinity")
    return values


def _top_k_unsorted(scores: Matrix, k: int) -> npt.NDArray[np.int64]:
    """Column indices of each row's ``k`` highest scores, lower index first among ties.

    ``np.argpartition`` alone may take any of several scores tied at the k-th place, so
    rows where it left such a tie out are redone by keeping the lowest tied indices.
    """
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k].astype(np.int64)
    top_scores = np.take_along_axis(scores, top, axis=1)
    kth = top_scores.min(axis=1, keepdims=True)
    left_out = (scores == kth).sum(axis=1) > (top_scores == kth).sum(axis=1)
    for row in np.flatnonzero(left_out):
        above = np.flatnonzero(scores[row] > kth[row])
        tied = np.flatnonzero(scores[row] == kth[row])[: k - above.size]
        top[row] = np.concatenate((above, tied))
    return top
