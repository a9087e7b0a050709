"""Maximal marginal relevance: a relevant set that does not repeat itself.

MMR (Carbonell and Goldstein, 1998) picks results one at a time, each time the candidate with
the best trade-off between its relevance to the query and its similarity to what was
already picked::

    argmax_i  lambda_mult * relevance[i] - (1 - lambda_mult) * max_j cos(e_i, e_j)

over the candidates ``i`` not yet picked, ``j`` running over the picked ones. With
``lambda_mult=1`` it is the relevance order; with 0 it only avoids repeats. The first pick is
always the most relevant candidate. ``lambda_mult`` and its default of 0.5 mean what they
mean in LangChain's ``max_marginal_relevance_search``.

Usage::

    import numpy as np
    from ragkit.rerank.mmr import maximal_marginal_relevance

    docs = np.array([[0.98, 0.2], [0.97, 0.24], [0.8, -0.6]])
    maximal_marginal_relevance(np.array([1.0, 0.0]), docs, k=2)  # [0, 2]: the near-copy skipped
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, InputError
from ragkit.types import Matrix, Vector

__all__ = ["diversify", "maximal_marginal_relevance"]


def maximal_marginal_relevance(
    query_embedding: Vector, embeddings: Matrix, *, k: int = 4, lambda_mult: float = 0.5
) -> list[int]:
    """Indices of ``k`` rows of ``embeddings`` in MMR order, relevance being cosine to the query.

    Args:
        query_embedding: The query vector, ``(d,)``.
        embeddings: The candidates' vectors, ``(n, d)``; need not be unit length.
        k: Picks (fewer when there are fewer candidates).
        lambda_mult: 1 for relevance only, 0 for diversity only.

    Returns:
        Row indices, first pick first.

    Raises:
        ConfigError: ``k`` below 1, or ``lambda_mult`` outside [0, 1].
        InputError: Shapes that do not match, or non-finite values.
    """
    vectors = _unit_rows(embeddings)
    query = np.asarray(query_embedding, dtype=np.float32).ravel()
    if len(vectors) and query.shape != (vectors.shape[1],):
        raise InputError(
            f"The query has {query.size} dimensions and the candidates {vectors.shape[1]}."
        )
    if not np.isfinite(query).all() or not np.linalg.norm(query):
        raise InputError("The query vector is zero or not finite.")
    relevance = vectors @ (query / np.linalg.norm(query)) if len(vectors) else np.empty(0)
    return diversify(relevance, vectors, k=k, lambda_mult=lambda_mult)


def diversify(
    relevance: npt.ArrayLike, embeddings: Matrix, *, k: int, lambda_mult: float = 0.5
) -> list[int]:
    """Indices of ``k`` candidates in MMR order, with the relevance scores given.

    Use this where relevance is not the cosine to the query (a reranker's probability, say);
    redundancy is still the cosine between candidates' ``embeddings``. Ties go to the
    earlier candidate.

    Args:
        relevance: One score per candidate, ``(n,)``, on a scale comparable to a cosine.
        embeddings: The candidates' vectors, ``(n, d)``.
        k: Picks (fewer when there are fewer candidates).
        lambda_mult: 1 for relevance only, 0 for diversity only.

    Returns:
        Row indices, first pick first.

    Raises:
        ConfigError: ``k`` below 1, or ``lambda_mult`` outside [0, 1].
        InputError: Lengths or shapes that do not match, or non-finite values.
    """
    check_mmr_options(k, lambda_mult)
    scores = np.asarray(relevance, dtype=np.float64).ravel()
    vectors = _unit_rows(embeddings)
    if len(scores) != len(vectors):
        raise InputError(f"{len(scores)} relevance scores for {len(vectors)} candidates.")
    if not np.isfinite(scores).all():
        raise InputError("A relevance score is not finite.")
    if not len(scores):
        return []
    similarity = (vectors @ vectors.T).astype(np.float64)
    picked = [int(np.argmax(scores))]
    # Each candidate's highest similarity to the picks so far, updated with every pick.
    redundancy = similarity[picked[0]].copy()
    available = np.ones(len(scores), dtype=bool)
    available[picked[0]] = False
    while len(picked) < min(k, len(scores)):
        marginal = lambda_mult * scores - (1.0 - lambda_mult) * redundancy
        marginal[~available] = -np.inf
        best = int(np.argmax(marginal))
        picked.append(best)
        available[best] = False
        np.maximum(redundancy, similarity[best], out=redundancy)
    return picked


def check_mmr_options(k: int, lambda_mult: float) -> None:
    """Raise :class:`ConfigError` unless ``k >= 1`` and ``0 <= lambda_mult <= 1``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be an integer of at least 1, got {k!r}.")
    if (
        isinstance(lambda_mult, bool)
        or not isinstance(lambda_mult, int | float)
        or not 0.0 <= lambda_mult <= 1.0
    ):
        raise ConfigError(
            f"lambda_mult must be between 0 (diversity only) and 1 (relevance only), "
            f"got {lambda_mult!r}; LangChain's default is 0.5."
        )


def _unit_rows(embeddings: Matrix) -> Matrix:
    vectors = np.asarray(embeddings, dtype=np.float32)
    if vectors.ndim != 2:
        raise InputError(f"Candidate vectors must be a (n, d) matrix, got shape {vectors.shape}.")
    if not np.isfinite(vectors).all():
        raise InputError("A candidate vector is not finite.")
    unit: Matrix = l2_normalize(vectors) if len(vectors) else vectors
    return unit
