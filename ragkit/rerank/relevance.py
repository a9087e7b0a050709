"""Relevance filtering: one threshold that means the same for every query and model.

A raw cosine says little on its own: one model puts unrelated texts at 0.1, another at 0.7,
and a vague query scores everything lower than a precise one. So a fixed cosine cut-off
(LangChain's ``score_threshold``, LlamaIndex's ``similarity_cutoff``) keeps junk for some
queries and drops good passages for others. In the spirit of the Cosine Adapter (Rossi et
al., *Relevance Filtering for Embedding-based Retrieval*, CIKM 2024), which maps each query's
cosines through a query-dependent function before one global threshold, but with nothing to
train, :class:`CosineRelevance` calibrates each query against its own background:

1. the query is scored against a fixed random sample of the store's vectors, which tells
   how similar this query is to texts picked at random (mean ``mu`` and spread ``sigma``);
2. a candidate's cosine becomes a z-score, ``z = (cos - mu) / sigma``;
3. the z-score becomes the probability that a background text would not reach it even once
   among the store's ``N`` records: ``relevance = Phi(z) ** N`` (``Phi`` the normal CDF).

Step 3 is what makes one threshold work: for a query with nothing relevant in the store, the
best candidate is the largest of ``N`` background draws, so its relevance is about uniform
on [0, 1] and a threshold of 0.9 lets roughly one such query in ten through, whatever the
model or the store's size. A candidate far above the query's background scores near 1.
How well the normal model fits a model's cosines is measured in docs/benchmarks.md.

Usage::

    relevance = CosineRelevance.from_store(store)  # samples 1,000 stored vectors once
    scores = relevance.relevance(query_vector, cosines)  # in [0, 1], one per cosine
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, InputError
from ragkit.types import Matrix, Vector

if TYPE_CHECKING:
    from ragkit.store.chroma import ChromaStore

__all__ = ["DEFAULT_MIN_RELEVANCE", "CosineRelevance", "check_threshold"]

logger = logging.getLogger(__name__)

DEFAULT_MIN_RELEVANCE = 0.5
"""The relevance threshold ``ragkit`` suggests (docs/benchmarks.md, "Relevance filtering")."""

_MIN_SPREAD = 1e-4  # cosine spread below which the background says nothing (all alike)


class CosineRelevance:
    """Maps a query's cosine scores to relevance estimates, from a background sample.

    Args:
        background: Vectors of records picked at random from the store, ``(m, d)``, in the
            space the store scores in (what Chroma keeps). At least 2 rows.
        population: Records a query is searched against (default: ``m``); the more there
            are, the higher the best of them scores by chance, and the higher a cosine
            must be to count as relevant.

    Raises:
        ConfigError: Fewer than 2 background vectors, or ``population`` below 1.
        InputError: Background vectors that are not a finite matrix.
    """

    def __init__(self, background: Matrix, *, population: int | None = None) -> None:
        vectors = np.asarray(background, dtype=np.float32)
        if vectors.ndim != 2 or not np.isfinite(vectors).all():
            raise InputError("The background vectors must be a finite (m, d) matrix.")
        if len(vectors) < 2:
            raise ConfigError(
                "Relevance calibration needs at least 2 stored records to sample; "
                f"got {len(vectors)}. Add documents first, or filter with min_score instead."
            )
        population = len(vectors) if population is None else population
        if isinstance(population, bool) or not isinstance(population, int) or population < 1:
            raise ConfigError(f"population must be an integer of at least 1, got {population!r}.")
        self.background = l2_normalize(vectors)
        self.population = population

    def __repr__(self) -> str:
        return (
            f"CosineRelevance(background={len(self.background)} vectors, "
            f"population={self.population})"
        )

    @classmethod
    def from_store(
        cls, store: ChromaStore, *, sample: int = 1000, seed: int = 0
    ) -> CosineRelevance:
        """A background of ``sample`` records drawn at random from ``store`` (all, if fewer).

        The sample is read once; build a new one after the store has changed a lot.

        Raises:
            ConfigError: ``sample`` below 2, or a store with fewer than 2 records.
        """
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 2:
            raise ConfigError(f"sample must be an integer of at least 2, got {sample!r}.")
        ids = store.collection.get(include=[])["ids"]
        rng = np.random.default_rng(seed)
        chosen = sorted(ids) if len(ids) <= sample else sorted(rng.choice(ids, sample, False))
        found = store.collection.get(ids=[str(i) for i in chosen], include=["embeddings"])
        vectors = np.asarray(found["embeddings"], dtype=np.float32)
        if len(vectors) < 2:
            raise ConfigError(
                f"The store holds {len(ids)} record(s): relevance calibration needs at least 2."
            )
        logger.debug("Relevance background: %d of %d records", len(vectors), len(ids))
        return cls(vectors, population=len(ids))

    def background_stats(self, query: Vector) -> tuple[float, float]:
        """Mean and standard deviation of the query's cosines with the background."""
        scores = self.background @ self._query(query)
        return float(scores.mean()), max(float(scores.std()), _MIN_SPREAD)

    def z_scores(self, query: Vector, cosines: npt.ArrayLike) -> Vector:
        """How many background standard deviations each cosine lies above the mean."""
        mean, spread = self.background_stats(query)
        values = np.asarray(cosines, dtype=np.float64).ravel()
        if not np.isfinite(values).all():
            raise InputError("A cosine score is not finite.")
        z: Vector = ((values - mean) / spread).astype(np.float32)
        return z

    def relevance(self, query: Vector, cosines: npt.ArrayLike) -> Vector:
        """Each cosine's relevance estimate in [0, 1]: ``Phi(z) ** population``.

        Args:
            query: The query vector, in the store's space.
            cosines: The query's cosines with candidates from the same store.

        Raises:
            InputError: A query of the wrong dimension, zero, or non-finite values.
        """
        z = self.z_scores(query, cosines)
        return np.array([_max_of_null_cdf(float(v), self.population) for v in z], np.float32)

    def _query(self, query: Vector) -> Vector:
        vector = np.asarray(query, dtype=np.float32).ravel()
        if vector.shape != (self.background.shape[1],):
            raise InputError(
                f"The query has {vector.size} dimensions and the background "
                f"{self.background.shape[1]}: use the vector in the store's space."
            )
        norm = float(np.linalg.norm(vector))
        if not math.isfinite(norm) or norm == 0.0:
            raise InputError("The query vector is zero or not finite.")
        unit: Vector = vector / norm
        return unit


def _max_of_null_cdf(z: float, population: int) -> float:
    """P(the largest of ``population`` standard normal draws is below ``z``)."""
    upper = 0.5 * math.erfc(z / math.sqrt(2.0))  # P(one draw >= z)
    if upper >= 1.0:
        return 0.0
    return math.exp(population * math.log1p(-upper))


def check_threshold(name: str, value: float | None, *, low: float, high: float) -> None:
    """Raise :class:`ConfigError` unless ``value`` is None or a number in [low, high]."""
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ConfigError(f"{name} must be a number between {low} and {high}, got {value!r}.")
