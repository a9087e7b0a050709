"""Retrieval over an indexed store: query, optional rerank stage, and context expansion.

:class:`Retriever` embeds the query with its prompt (through the store), searches in the
store's mode, hands the candidates to a reranker when one is given, and returns
:class:`Passage` objects with the chunk's score, text, source and exact offsets. With
``expand=N`` each passage also carries its neighbours (N chunks either side, same document)
joined into one context, and with ``section=True`` the whole section it belongs to (every
chunk of its document under the same heading path), for an LLM that needs more than the
matching chunk.

Usage::

    retriever = Retriever(store, k=5, expand=1)
    for passage in retriever.retrieve("how do binary codes save memory?"):
        print(passage.score, passage.source, passage.start, passage.end, passage.context)
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, InputError, StoreError
from ragkit.rerank.mmr import check_mmr_options, diversify
from ragkit.rerank.relevance import CosineRelevance, check_threshold
from ragkit.store.base import Hit
from ragkit.store.chroma import ChromaStore
from ragkit.types import Vector

__all__ = ["Passage", "Reranker", "Retriever"]

logger = logging.getLogger(__name__)

_CHUNK_KEYS = frozenset({"file", "source", "start", "end", "position", "tokens", "headings"})


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, with where it comes from.

    Attributes:
        id: The chunk's id in the store.
        score: Cosine similarity with the query (or the reranker's score).
        text: The chunk's text, exactly ``document[start:end]``.
        source: Id of the document it comes from (a file path relative to the folder indexed).
        start: Character offset of the chunk in its document.
        end: Character offset one past its end.
        position: Index of the chunk in its document.
        heading_path: Headings above it, outermost first.
        title: The document title, if any.
        metadata: The rest of the stored metadata (loader fields: ``path``, ``format``...).
        context: With expansion, the chunk and its neighbours joined (else the chunk's text).
        context_start: Offset of ``context`` in the document.
        context_end: Offset one past it.
        scores: Each stage's score for this passage, by stage: ``"cosine"`` (dense search),
            ``"bm25"`` and ``"fusion"`` (hybrid search), ``"rerank"`` (the reranker),
            ``"relevance"`` (the relevance estimate the filter used). ``score`` is the last
            stage's.
    """

    id: str
    score: float
    text: str
    source: str
    start: int
    end: int
    position: int
    heading_path: tuple[str, ...]
    title: str | None
    metadata: dict[str, Any]
    context: str
    context_start: int
    context_end: int
    scores: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for ``--json``)."""
        return {
            "id": self.id,
            "score": self.score,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "position": self.position,
            "heading_path": list(self.heading_path),
            "title": self.title,
            "text": self.text,
            "context": self.context,
            "context_start": self.context_start,
            "context_end": self.context_end,
            "metadata": self.metadata,
            "scores": dict(self.scores),
        }


class Reranker(Protocol):
    """The rerank stage: reorders (and may drop) candidates for a query."""

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        """The passages best first, with the reranker's scores."""
        ...


class Retriever:
    """Query → candidates → relevance filter → rerank → score filter → MMR → top ``k``.

    Every stage but the first is optional, and each one records its score in
    :attr:`Passage.scores`:

    1. **candidates**: the ``fetch_k`` best chunks by cosine (``scores["cosine"]``, the store's
       binary scan rescored with float vectors);
    2. **relevance filter** (``min_relevance``): candidates whose cosine, calibrated against
       the query's own background (:class:`~ragkit.rerank.relevance.CosineRelevance`), falls
       below the threshold are dropped (``scores["relevance"]``), so a query with nothing
       relevant in the store gets nothing back, before any reranking is paid for;
    3. **rerank** (``reranker``): the best ``rerank_k`` candidates reordered
       (``scores["rerank"]``; the rest dropped);
    4. **score filter** (``min_score``): passages whose final score is below it dropped: a
       cross-encoder's probability with a reranker, else the cosine;
    5. **MMR** (``mmr``): the ``k`` passages picked by maximal marginal relevance
       (:mod:`ragkit.rerank.mmr`), trading relevance (the reranker's score, else the cosine)
       against similarity to the passages already picked, using the stored vectors;
    6. the first ``k``, each with its neighbours or section joined into ``context``.

    ``score`` is always the last scoring stage's: the reranker's, else the cosine.

    Args:
        store: A store written by :class:`~ragkit.ingest.Indexer` (chunks with offsets).
        k: Passages returned.
        fetch_k: Candidates searched for (default: ``k``, or ``4 * k`` with a reranker or
            MMR, and at least ``rerank_k``).
        reranker: Reorders the candidates (a cross-encoder, an LLM, any :class:`Reranker`).
        rerank_k: Candidates handed to the reranker, best first (default: all of them).
        min_relevance: Keep candidates whose relevance estimate (0 to 1) is at least this;
            :data:`~ragkit.rerank.relevance.DEFAULT_MIN_RELEVANCE` is the measured default.
        relevance: The calibration used (default: a sample of 1,000 stored vectors, drawn
            on first use).
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
        self.store, self.k, self.fetch_k = store, k, fetch_k
        self.reranker, self.rerank_k = reranker, rerank_k
        self.min_relevance, self.relevance, self.min_score = min_relevance, relevance, min_score
        self.mmr, self.expand, self.section = mmr, expand, section

    def __repr__(self) -> str:
        stages = {
            "fetch_k": self.fetch_k,
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
        needs_vectors = self.min_relevance is not None or self.mmr is not None
        vector = self._embed(query) if needs_vectors else None
        hits = self.store.query(
            query if vector is None else vector,
            k=self._fetch(k),
            where=where,
            where_document=where_document,
        )
        passages = [_passage(hit) for hit in hits]
        vectors = None
        if vector is not None and passages:
            vectors = _StoredVectors.read(self.store, vector, [p.id for p in passages])
            passages = vectors.with_cosines(passages)
        if self.min_relevance is not None and vectors is not None:
            passages = self._relevant(passages, vectors, self.min_relevance)
        if self.reranker is not None and passages:
            passages = _reranked(self.reranker, query, passages[: self.rerank_k])
        if self.min_score is not None:
            passages = [p for p in passages if p.score >= self.min_score]
        if self.mmr is not None and vectors is not None and passages:
            passages = vectors.diversified(passages, k, self.mmr)
        passages = passages[:k]
        if self.section if section is None else section:
            return self._sections(passages)
        return self._expanded(passages, expand) if expand else passages

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

    def _relevant(
        self, passages: list[Passage], vectors: _StoredVectors, threshold: float
    ) -> list[Passage]:
        """The candidates whose calibrated relevance reaches ``threshold``, with it recorded."""
        if self.relevance is None:
            self.relevance = CosineRelevance.from_store(self.store)
        cosines = [p.scores["cosine"] for p in passages]
        estimates = self.relevance.relevance(vectors.query, cosines)
        kept = [
            replace(p, scores={**p.scores, "relevance": relevance})
            for p, relevance in zip(passages, map(float, estimates), strict=True)
            if relevance >= threshold
        ]
        logger.debug("Relevance filter kept %d of %d candidates", len(kept), len(passages))
        return kept

    def _sections(self, passages: list[Passage]) -> list[Passage]:
        """Each passage with every chunk of its section joined into ``context``."""
        out = []
        for p in passages:
            where = {"$and": [{"source": p.source}, {"headings": _headings(p.heading_path)}]}
            ids = self.store.collection.get(where=where, include=[])["ids"]
            parts = [_passage(hit) for hit in self.store.get(ids)]
            out.append(_joined(p, [p] + [q for q in parts if q.id != p.id]))
        return out

    def _expanded(self, passages: list[Passage], expand: int) -> list[Passage]:
        """Each passage with its neighbours' text joined into ``context``."""
        wanted = {
            _neighbour_id(p, p.position + step)
            for p in passages
            for step in range(-expand, expand + 1)
            if step and p.position + step >= 0
        }
        found = {hit.id: _passage(hit) for hit in self.store.get(sorted(wanted))}
        out = []
        for p in passages:
            parts = [p] + [
                found[i]
                for step in range(-expand, expand + 1)
                if step and (i := _neighbour_id(p, p.position + step)) in found
            ]
            out.append(_joined(p, [q for q in parts if q.source == p.source]))
        return out


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


def _passage(hit: Hit) -> Passage:
    meta = dict(hit.metadata)
    missing = {"source", "start", "end", "position"} - set(meta)
    if missing:
        raise InputError(
            f"Record {hit.id!r} has no {', '.join(sorted(missing))}: it was not written by "
            "ragkit's indexer (`ragkit index`); query the store with ChromaStore.query instead."
        )
    headings = tuple(json.loads(meta.get("headings") or "[]"))
    text = hit.document or ""
    start, end = int(meta["start"]), int(meta["end"])
    return Passage(
        id=hit.id,
        score=hit.score,
        text=text,
        source=str(meta["source"]),
        start=start,
        end=end,
        position=int(meta["position"]),
        heading_path=headings,
        title=meta.get("title"),
        metadata={k: v for k, v in meta.items() if k not in _CHUNK_KEYS and k != "title"},
        context=text,
        context_start=start,
        context_end=end,
        scores={"cosine": hit.score},
    )


def _headings(path: tuple[str, ...]) -> str:
    """The stored form of a heading path (:func:`ragkit.ingest.indexer.chunk_metadata`)."""
    return json.dumps(list(path), ensure_ascii=False)


def _neighbour_id(passage: Passage, position: int) -> str:
    """Chunk ids are ``<document id>#<position>`` (:mod:`ragkit.ingest.indexer`)."""
    return f"{passage.source}#{position}"


def _joined(passage: Passage, parts: list[Passage]) -> Passage:
    """The parts' texts in document order, overlaps dropped and gaps as one newline."""
    parts = sorted(parts, key=lambda q: q.start)
    text, end = parts[0].text, parts[0].end
    for q in parts[1:]:
        if q.end <= end:
            continue
        text += q.text[end - q.start :] if q.start < end else "\n" * (q.start > end) + q.text
        end = q.end
    return replace(passage, context=text, context_start=parts[0].start, context_end=end)


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
