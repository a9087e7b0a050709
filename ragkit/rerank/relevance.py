"""Relevance filtering: a cosine threshold that means the same whatever the model's scale.

A raw cosine says little on its own: one model puts unrelated texts at 0.1, another at 0.7
(anisotropic models such as e5 rarely go below it), so a fixed cut-off (LangChain's
``score_threshold``, LlamaIndex's ``similarity_cutoff``) has to be tuned again for every model
and corpus. The Cosine Adapter (Rossi et al., *Relevance Filtering for Embedding-based
Retrieval*, CIKM 2024) maps each query's cosines through a learned query-dependent function
before one global threshold. With no relevance labels to learn from, :class:`CosineRelevance`
calibrates against the store itself:

1. pseudo-queries: short spans (16 words) cut at random from random stored texts, embedded
   with the query prompt, as a question about that text would be;
2. the null: their cosines with other random stored texts (not from the same document), that
   is, how high a question scores against passages that do not answer it, for this model and
   this corpus;
3. a candidate's relevance is the share of that null its cosine beats: 0.99 means "more
   similar than 99% of (question, unrelated passage) pairs in this store".

A per-query normalisation (a z-score of each cosine against the query's own scores over the
store) was measured first and rejected: on SciFact, off-topic questions have a narrow score
distribution, so their best match stands as many standard deviations out as a judged query's
answer (docs/benchmarks.md, "Relevance filtering").

Usage::

    relevance = CosineRelevance.from_store(store)  # embeds 200 pseudo-queries once
    relevance.relevance([0.62, 0.18])  # e.g. [0.999, 0.75]
    relevance.cosine_at(0.99)  # the cosine the 0.99 threshold means in this store
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, InputError
from ragkit.types import Vector

if TYPE_CHECKING:
    from ragkit.store.chroma import ChromaStore

__all__ = ["DEFAULT_MIN_RELEVANCE", "CosineRelevance", "check_threshold"]

logger = logging.getLogger(__name__)

DEFAULT_MIN_RELEVANCE = 0.99
"""The relevance threshold ragkit suggests (docs/benchmarks.md, "Relevance filtering")."""


class CosineRelevance:
    """Maps cosines to the share of unrelated (question, passage) cosines they beat.

    Args:
        null_cosines: Cosines between questions and passages that do not answer them, from
            the store being searched (:meth:`from_store` draws them). At least 2.

    Raises:
        ConfigError: Fewer than 2 null cosines.
        InputError: Null cosines that are not finite.
    """

    def __init__(self, null_cosines: npt.ArrayLike) -> None:
        null = np.sort(np.asarray(null_cosines, dtype=np.float64).ravel())
        if not np.isfinite(null).all():
            raise InputError("The null cosines must be finite.")
        if len(null) < 2:
            raise ConfigError(
                f"Relevance calibration needs at least 2 null cosines, got {len(null)}."
            )
        self.null = null

    def __repr__(self) -> str:
        return (
            f"CosineRelevance({len(self.null)} null cosines, "
            f"median {float(np.median(self.null)):.3f})"
        )

    @classmethod
    def from_store(
        cls,
        store: ChromaStore,
        *,
        queries: int = 200,
        sample: int = 1000,
        words: int = 16,
        seed: int = 0,
    ) -> CosineRelevance:
        """Calibrate on ``store``: ``queries`` pseudo-queries against ``sample`` stored texts.

        The records are read once (up to ``sample`` of them, at random, seeded) and the
        pseudo-queries embedded with the store's embedder; build a new one after the store
        has changed a lot.

        Raises:
            ConfigError: Counts below 2, a store without an embedder, or one with too few
                texts (at least 2, from 2 documents).
        """
        for name, value in (("queries", queries), ("sample", sample), ("words", words)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ConfigError(f"{name} must be an integer of at least 2, got {value!r}.")
        if store.embedder is None:
            raise ConfigError(
                "Relevance calibration embeds pseudo-queries: give the store its embedder."
            )
        rng = np.random.default_rng(seed)
        ids = store.collection.get(include=[])["ids"]
        chosen = sorted(ids) if len(ids) <= sample else sorted(rng.choice(ids, sample, False))
        found = store.collection.get(
            ids=[str(i) for i in chosen], include=["embeddings", "documents", "metadatas"]
        )
        texts = [d or "" for d in found["documents"]]
        sources = np.array(
            [_source(i, m) for i, m in zip(found["ids"], found["metadatas"], strict=True)]
        )
        usable = [i for i, t in enumerate(texts) if t.split()]
        if len(usable) < 2 or len(set(sources[usable])) < 2 or store.layout is None:
            raise ConfigError(
                f"The store holds {len(ids)} record(s) with text from too few documents to "
                "calibrate relevance (at least 2 documents); filter with min_score instead."
            )
        asked = sorted(rng.choice(usable, min(queries, len(usable)), replace=False))
        spans = [_span(texts[i], words, rng) for i in asked]
        vectors = l2_normalize(store.layout.stored(store.embedder.embed_query(spans)))
        passages = l2_normalize(np.asarray(found["embeddings"], dtype=np.float32))
        cosines = vectors @ passages.T
        other = sources[asked][:, None] != sources[None, :]
        logger.debug("Relevance null: %d pseudo-queries x %d texts", len(asked), len(texts))
        return cls(cosines[other])

    def relevance(self, cosines: npt.ArrayLike) -> Vector:
        """Each cosine's relevance in [0, 1]: the share of the null cosines at or below it.

        Raises:
            InputError: Cosines that are not finite.
        """
        values = np.asarray(cosines, dtype=np.float64).ravel()
        if not np.isfinite(values).all():
            raise InputError("A cosine score is not finite.")
        below = np.searchsorted(self.null, values, side="right")
        share: Vector = (below / len(self.null)).astype(np.float32)
        return share

    def cosine_at(self, relevance: float) -> float:
        """The cosine a ``relevance`` threshold corresponds to in this store.

        Raises:
            ConfigError: ``relevance`` outside [0, 1].
        """
        check_threshold("relevance", relevance, low=0.0, high=1.0)
        return float(np.quantile(self.null, relevance))


def _source(record_id: str, metadata: Mapping[str, Any] | None) -> str:
    """The document a record belongs to (its chunks are related), or the record itself."""
    return str((metadata or {}).get("source", record_id))


def _span(text: str, words: int, rng: np.random.Generator) -> str:
    tokens = text.split()
    start = int(rng.integers(0, max(1, len(tokens) - words + 1)))
    return " ".join(tokens[start : start + words])


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
