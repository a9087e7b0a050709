"""The retrieval pipeline: candidates, relevance filter, rerank, score filter, MMR, top ``k``."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, InputError, StoreError
from ragkit.rerank.mmr import check_mmr_options, diversify
from ragkit.rerank.relevance import CosineRelevance, check_threshold
from ragkit.retrieval.context import with_neighbours, with_sections
from ragkit.retrieval.passage import Passage, Reranker, passage_from_hit
from ragkit.store.base import Hit
from ragkit.store.chroma import ChromaStore
from ragkit.types import Vector

if TYPE_CHECKING:
    from ragkit.lexical.bm25 import BM25Index

__all__ = ["Retriever"]

logger = logging.getLogger(__name__)


class Retriever:
    """Query → candidates → relevance filter → rerank → score filter → MMR → top ``k``.

    Every stage but the first is optional, and each one records its score in
    :attr:`Passage.scores`:

    1. **candidates**: the ``fetch_k`` best chunks by cosine (``scores["cosine"]``, the store's
       binary scan rescored with float vectors), or with ``hybrid``, by reciprocal rank fusion
       of that dense ranking and BM25 (``scores["fusion"]``, ``scores["bm25"]``);
    2. **relevance filter** (``min_relevance``): candidates whose cosine, calibrated against
       the store's unrelated (question, passage) pairs
       (:class:`~ragkit.rerank.relevance.CosineRelevance`), falls below the threshold are
       dropped (``scores["relevance"]``), so a query with nothing relevant in the store gets
       nothing back, before any reranking is paid for;
    3. **rerank** (``reranker``): the best ``rerank_k`` candidates reordered
       (``scores["rerank"]``; the rest dropped);
    4. **score filter** (``min_score``): passages whose final score is below it dropped: a
       cross-encoder's probability with a reranker, else the fusion score or the cosine;
    5. **MMR** (``mmr``): the ``k`` passages picked by maximal marginal relevance
       (:mod:`ragkit.rerank.mmr`), trading relevance (the reranker's score, else the cosine)
       against similarity to the passages already picked, using the stored vectors;
    6. the first ``k``, each with its neighbours or section joined into ``context``.

    ``score`` is always the last scoring stage's: the reranker's, else the fusion score
    (hybrid), else the cosine.

    Args:
        store: A store written by :class:`~ragkit.ingest.Indexer` (chunks with offsets).
        k: Passages returned.
        fetch_k: Candidates searched for (default: ``k``, or ``4 * k`` with a reranker or
            MMR, and at least ``rerank_k``).
        hybrid: A :class:`~ragkit.lexical.bm25.BM25Index` over ``store``: candidates come
            from dense and BM25 search fused (:func:`~ragkit.lexical.hybrid.hybrid_search`).
        hybrid_weights: ``(dense, bm25)`` weights of the fusion.
        reranker: Reorders the candidates (a cross-encoder, an LLM, any :class:`Reranker`).
        rerank_k: Candidates handed to the reranker, best first (default: all of them).
        min_relevance: Keep candidates whose relevance estimate (0 to 1) is at least this;
            :data:`~ragkit.rerank.relevance.DEFAULT_MIN_RELEVANCE` is the measured default.
        relevance: The calibration used (default: ``CosineRelevance.from_store(store)``,
            built on first use: 200 pseudo-queries against 1,000 stored texts).
        min_score: Keep passages whose final score is at least this.
        mmr: MMR's ``lambda_mult`` (1: relevance only, 0: diversity only; LangChain's
            default is 0.5), or None for no diversification.
        expand: Neighbouring chunks (either side, same document) joined into each
            passage's ``context``.
        section: Join the passage's whole section instead: the chunks of its document with
            the same heading path (for Markdown and HTML, its heading and what is under it).

    Raises:
        ConfigError: A count, threshold or ``mmr`` out of range, or ``rerank_k`` without a
            reranker or above ``fetch_k``.

    Usage::

        retriever = Retriever(store, k=5, reranker=CrossEncoderReranker(model), min_score=0.5)
        retriever.retrieve("how do binary codes save memory?")  # [] when nothing is relevant
    """

    def __init__(
        self,
        store: ChromaStore,
        *,
        k: int = 5,
        fetch_k: int | None = None,
        hybrid: BM25Index | None = None,
        hybrid_weights: tuple[float, float] = (1.0, 1.0),
        reranker: Reranker | None = None,
        rerank_k: int | None = None,
        min_relevance: float | None = None,
        relevance: CosineRelevance | None = None,
        min_score: float | None = None,
        mmr: float | None = None,
        expand: int = 0,
        section: bool = False,
    ) -> None:
        _check_counts(k, expand, fetch_k)
        _check_stages(fetch_k, reranker, rerank_k, min_relevance, min_score, mmr)
        _check_hybrid(store, hybrid, hybrid_weights)
        self.store, self.k, self.fetch_k = store, k, fetch_k
        self.hybrid, self.hybrid_weights = hybrid, hybrid_weights
        self.reranker, self.rerank_k = reranker, rerank_k
        self.min_relevance, self.relevance, self.min_score = min_relevance, relevance, min_score
        self.mmr, self.expand, self.section = mmr, expand, section

    def __repr__(self) -> str:
        stages = {
            "fetch_k": self.fetch_k,
            "hybrid": None if self.hybrid is None else self.hybrid_weights,
            "reranker": self.reranker,
            "rerank_k": self.rerank_k,
            "min_relevance": self.min_relevance,
            "min_score": self.min_score,
            "mmr": self.mmr,
        }
        shown = "".join(
            f", {name}={value!r}" for name, value in stages.items() if value is not None
        )
        return f"Retriever({self.store.collection.name!r}, k={self.k}{shown})"

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        expand: int | None = None,
        section: bool | None = None,
    ) -> list[Passage]:
        """The best passages for ``query``, best first (none, when filters drop them all).

        Raises:
            InputError: An empty query.
            FilterError: A malformed filter.
            ConfigError: ``k`` or ``expand`` out of range.
        """
        if not isinstance(query, str) or not query.strip():
            raise InputError("The query is empty: pass the question as text.")
        k = self.k if k is None else k
        expand = self.expand if expand is None else expand
        _check_counts(k, expand, self.fetch_k)
        vector = self._embed(query) if self.mmr is not None else None
        hits = self._candidates(query, vector, self._fetch(k), where, where_document)
        passages = [passage_from_hit(hit) for hit in hits]
        vectors = None
        if vector is not None and passages:
            vectors = _StoredVectors.read(self.store, vector, [p.id for p in passages])
            passages = vectors.with_cosines(passages)
        if self.min_relevance is not None and passages:
            passages = self._relevant(passages, self.min_relevance)
        if self.reranker is not None and passages:
            passages = _reranked(self.reranker, query, passages[: self.rerank_k])
        if self.min_score is not None:
            passages = [p for p in passages if p.score >= self.min_score]
        if self.mmr is not None and vectors is not None and passages:
            passages = vectors.diversified(passages, k, self.mmr)
        passages = passages[:k]
        if self.section if section is None else section:
            return with_sections(self.store, passages)
        return with_neighbours(self.store, passages, expand) if expand else passages

    def _candidates(
        self,
        query: str,
        vector: Vector | None,
        fetch: int,
        where: Mapping[str, Any] | None,
        where_document: Mapping[str, Any] | None,
    ) -> Sequence[Hit]:
        """The first stage: dense search, or dense and BM25 fused."""
        if self.hybrid is None:
            return self.store.query(
                query if vector is None else vector,
                k=fetch,
                where=where,
                where_document=where_document,
            )
        from ragkit.lexical.hybrid import hybrid_search

        return hybrid_search(
            self.store,
            self.hybrid,
            query,
            k=fetch,
            weights=self.hybrid_weights,
            where=where,
            where_document=where_document,
            vector=vector,
        )

    def _fetch(self, k: int) -> int:
        if self.fetch_k is not None:
            return max(self.fetch_k, k)
        wide = self.reranker is not None or self.mmr is not None
        return max(4 * k if wide else k, self.rerank_k or 0)

    def _embed(self, query: str) -> Vector:
        """The query's vector, as the store embeds it (once, for the search and the stages)."""
        if self.store.embedder is None:
            raise InputError("The store has no embedder: open it with the one it was built with.")
        vector: Vector = l2_normalize(self.store.embedder.embed_query([query]))[0]
        return vector

    def _relevant(self, passages: list[Passage], threshold: float) -> list[Passage]:
        """The candidates whose calibrated relevance reaches ``threshold``, with it recorded."""
        if self.relevance is None:
            self.relevance = CosineRelevance.from_store(self.store)
        cosines = [p.scores["cosine"] for p in passages]
        estimates = self.relevance.relevance(cosines)
        kept = [
            replace(p, scores={**p.scores, "relevance": relevance})
            for p, relevance in zip(passages, map(float, estimates), strict=True)
            if relevance >= threshold
        ]
        logger.debug("Relevance filter kept %d of %d candidates", len(kept), len(passages))
        return kept


@dataclass(frozen=True)
class _StoredVectors:
    """The query and the candidates' vectors in the space the store scores in."""

    query: Vector
    by_id: Mapping[str, Vector]

    @classmethod
    def read(cls, store: ChromaStore, query: Vector, ids: list[str]) -> _StoredVectors:
        """The query as the store keeps vectors, and the vectors Chroma keeps for ``ids``."""
        if store.layout is None:  # loaded by the search that found the candidates
            raise StoreError(f"Collection {store.collection.name!r} has no ragkit layout.")
        found = store.collection.get(ids=ids, include=["embeddings"])
        vectors = l2_normalize(np.asarray(found["embeddings"], dtype=np.float32))
        stored_query = l2_normalize(store.layout.stored(query[None]))[0]
        return cls(stored_query, dict(zip(found["ids"], vectors, strict=True)))

    def with_cosines(self, passages: list[Passage]) -> list[Passage]:
        """Passages still stored, each with a ``"cosine"`` score (computed where missing)."""
        return [
            p
            if "cosine" in p.scores
            else replace(p, scores={**p.scores, "cosine": float(self.by_id[p.id] @ self.query)})
            for p in passages
            if p.id in self.by_id
        ]

    def diversified(self, passages: list[Passage], k: int, lambda_mult: float) -> list[Passage]:
        """``k`` of the passages in MMR order; relevance is the reranker's, else the cosine."""
        relevance = [p.scores.get("rerank", p.scores["cosine"]) for p in passages]
        vectors = np.stack([self.by_id[p.id] for p in passages])
        return [passages[i] for i in diversify(relevance, vectors, k=k, lambda_mult=lambda_mult)]


def _reranked(reranker: Reranker, query: str, passages: list[Passage]) -> list[Passage]:
    """The reranker's order and scores; candidates without text are dropped first."""
    empty = [p.id for p in passages if not p.text.strip()]
    if empty:
        logger.warning(
            "%d candidate(s) have no text to rerank and are dropped: %s", len(empty), empty[:5]
        )
        passages = [p for p in passages if p.text.strip()]
    if not passages:
        return []
    return [
        p if "rerank" in p.scores else replace(p, scores={**p.scores, "rerank": p.score})
        for p in reranker.rerank(query, passages)
    ]


def _check_hybrid(store: ChromaStore, hybrid: object, weights: tuple[float, float]) -> None:
    if hybrid is None:
        return
    if getattr(hybrid, "store", None) is not store:
        raise ConfigError("hybrid must be a BM25Index over this store: BM25Index(store).")
    if (
        len(weights) != 2
        or not all(isinstance(w, int | float) and math.isfinite(w) and w >= 0 for w in weights)
        or not any(weights)
    ):
        raise ConfigError(
            f"hybrid_weights must be two finite weights (dense, bm25) of at least 0, not both 0; "
            f"got {weights!r}."
        )


def _check_stages(
    fetch_k: int | None,
    reranker: Reranker | None,
    rerank_k: int | None,
    min_relevance: float | None,
    min_score: float | None,
    mmr: float | None,
) -> None:
    if rerank_k is not None:
        if isinstance(rerank_k, bool) or not isinstance(rerank_k, int) or rerank_k < 1:
            raise ConfigError(f"rerank_k must be an integer of at least 1, got {rerank_k!r}.")
        if reranker is None:
            raise ConfigError(
                "rerank_k is the reranker's share of the candidates: pass a reranker."
            )
        if fetch_k is not None and rerank_k > fetch_k:
            raise ConfigError(f"rerank_k ({rerank_k}) cannot exceed fetch_k ({fetch_k}).")
    if reranker is not None and not callable(getattr(reranker, "rerank", None)):
        raise ConfigError(f"reranker must have a rerank(query, passages) method, got {reranker!r}.")
    check_threshold("min_relevance", min_relevance, low=0.0, high=1.0)
    check_threshold("min_score", min_score, low=-math.inf, high=math.inf)
    if mmr is not None:
        check_mmr_options(1, mmr)


def _check_counts(k: int, expand: int, fetch_k: int | None) -> None:
    for name, value, low in (("k", k, 1), ("expand", expand, 0), ("fetch_k", fetch_k, 1)):
        if name == "fetch_k" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} must be an integer of at least {low}, got {value!r}.")
