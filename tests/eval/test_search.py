from __future__ import annotations

import numpy as np
import pytest

from ragkit.errors import ConfigError, InputError
from ragkit.eval import exact_top_k


def _brute_force(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ corpus.T
    # stable sort of -score keeps the lower index first among ties
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.mark.parametrize(("k", "batch_size"), [(1, 256), (10, 7), (49, 3), (50, 50), (80, 16)])
def test_matches_brute_force(k: int, batch_size: int) -> None:
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((37, 16)).astype(np.float32)
    corpus = rng.standard_normal((50, 16)).astype(np.float32)
    indices, scores = exact_top_k(queries, corpus, k, batch_size=batch_size)
    expected_indices, expected_scores = _brute_force(queries, corpus, min(k, 50))
    assert indices.dtype == np.int64 and scores.dtype == np.float32
    assert indices.shape == (37, min(k, 50))
    np.testing.assert_array_equal(indices, expected_indices)
    # BLAS may round a batch's products differently from the full product's
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 4, 256])
def test_ties_take_lower_index_first(batch_size: int) -> None:
    rng = np.random.default_rng(1)
    # few distinct small-integer vectors: many exactly equal scores, also at the k-th place
    corpus = rng.integers(-1, 2, size=(200, 3)).astype(np.float32)
    queries = rng.integers(-1, 2, size=(20, 3)).astype(np.float32)
    for k in (1, 5, 33, 199):
        indices, scores = exact_top_k(queries, corpus, k, batch_size=batch_size)
        expected_indices, expected_scores = _brute_force(queries, corpus, k)
        np.testing.assert_array_equal(indices, expected_indices)
        np.testing.assert_array_equal(scores, expected_scores)


def test_zero_corpus_vectors_and_casting() -> None:
    corpus = np.zeros((5, 2), dtype=np.float32)
    indices, scores = exact_top_k(np.array([[1, 2]]), corpus, 3)  # int input is cast
    assert indices.tolist() == [[0, 1, 2]]
    assert scores.tolist() == [[0.0, 0.0, 0.0]]


def test_empty_inputs() -> None:
    indices, scores = exact_top_k(np.ones((0, 4), np.float32), np.ones((3, 4), np.float32), 2)
    assert indices.shape == scores.shape == (0, 2)
    indices, _ = exact_top_k(np.ones((2, 4), np.float32), np.ones((0, 4), np.float32), 2)
    assert indices.shape == (2, 0)


def test_errors() -> None:
    good = np.ones((3, 4), np.float32)
    with pytest.raises(InputError, match="dimension 4 but the corpus has 5"):
        exact_top_k(good, np.ones((3, 5), np.float32), 1)
    with pytest.raises(InputError, match="queries must be a 2-D"):
        exact_top_k(np.ones(4, np.float32), good, 1)
    with pytest.raises(InputError, match="corpus must be a 2-D"):
        exact_top_k(good, np.array([["a", "b", "c", "d"]]), 1)
    bad = good.copy()
    bad[2, 1] = np.nan
    with pytest.raises(InputError, match="queries row 2 holds NaN"):
        exact_top_k(bad, good, 1)
    bad[2, 1] = np.inf
    with pytest.raises(InputError, match="corpus row 2 holds NaN or infinity"):
        exact_top_k(good, bad, 1)
    with pytest.raises(ConfigError):
        exact_top_k(good, good, 0)
    with pytest.raises(ConfigError):
        exact_top_k(good, good, 1, batch_size=0)
