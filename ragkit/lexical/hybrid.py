"""Hybrid search: the store's dense query and BM25, with one filter, fused by reciprocal rank.

Usage::

    lexical = BM25Index(store)
    hits = hybrid_search(store, lexical, "binary codes memory", k=5, weights=(1.0, 0.5))
    hits[0].score              # cosine similarity to the query, as store.query gives it
    hits[0].scores["fusion"]   # the fused score the hits are ranked by
    hits[0].scores.get("bm25")  # BM25 score, for hits the lexical leg found
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, InputError
from ragkit.lexical.bm25 import BM25Index
from ragkit.lexical.fusion import reciprocal_rank_fusion
from ragkit.store.base import Hit
from ragkit.store.chroma import ChromaStore, user_metadata
from ragkit.types import Vector

__all__ = ["HybridHit", "hybrid_search"]


@dataclass(frozen=True)
class HybridHit(Hit):
    """A :class:`~ragkit.store.base.Hit` ranked by fusion, with every score it has.

    ``score`` is the record's cosine similarity to the query: from the dense query when it
    found the record, otherwise computed from the record's float vector in Chroma.

    Attributes:
        scores: ``"cosine"`` (= ``score``), ``"fusion"`` (the rank-fusion score the hits are
            ordered by) and ``"bm25"`` (only for records the BM25 leg returned).
    """

    scores: dict[str, float] = field(default_factory=dict)


def hybrid_search(
    store: ChromaStore,
    lexical: BM25Index,
    query: str,
    k: int = 10,
    *,
    fetch_k: int | None = None,
    weights: tuple[float, float] = (1.0, 1.0),
    rrf_k: float = 60,
    where: Mapping[str, Any] | None = None,
    where_document: Mapping[str, Any] | None = None,
    vector: Vector | None = None,
) -> list[HybridHit]:
    """The ``k`` best records for ``query`` by reciprocal rank fusion of dense and BM25 results.

    Args:
        store: The store to query (its embedder embeds the query).
        lexical: A BM25 index over the same store.
        query: The question, as text.
        k: Results to return.
        fetch_k: Results each leg contributes (default: ``max(3 * k, 30)``).
        weights: ``(dense, lexical)`` weights of the two rankings; a leg weighted 0 is skipped.
        rrf_k: Rank offset of the fusion (60 as in the original paper).
        where: Metadata filter, applied to both legs.
        where_document: Document filter, applied to both legs.
        vector: The query's vector from the store's embedder, when the caller has it already
            (it is not embedded again).

    Raises:
        InputError: An empty query, or a store without an embedder.
        ConfigError: Bad ``k``, ``fetch_k``, weights, or a BM25 index over another store.
        FilterError: A malformed filter.
    """
    if not isinstance(query, str) or not query.strip():
        raise InputError(f"The query must be a non-empty string, got {query!r}.")
    fetch_k = max(3 * k, 30) if fetch_k is None else fetch_k
    for name, value in (("k", k), ("fetch_k", fetch_k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be an integer of at least 1, got {value!r}.")
    if lexical.store is not store:
        raise ConfigError("The BM25 index follows another store; build it with BM25Index(store).")
    if store.embedder is None:
        raise InputError("Hybrid search embeds the query: give the store an embedder.")
    if vector is None:
        vector = l2_normalize(store.embedder.embed_query([query]))[0]
    dense: list[tuple[str, float]] = []
    bm25: list[tuple[str, float]] = []
    if weights[0] > 0:  # ids and cosines only: text is read for the fused top k alone
        dense = store.query_scores(vector, fetch_k, where=where, where_document=where_document)
    if weights[1] > 0:
        bm25 = lexical.search(query, fetch_k, where=where, where_document=where_document)
    fused = reciprocal_rank_fusion([[i for i, _ in dense], bm25], weights=weights, k=rrf_k)[:k]
    found = _read(store, vector, [i for i, _ in fused], dict(dense))
    bm25_of = dict(bm25)
    hits = []
    for record_id, fusion in fused:
        hit = found.get(record_id)
        if hit is None:  # deleted between the two legs
            continue
        scores = {"cosine": hit.score, "fusion": fusion}
        if record_id in bm25_of:
            scores["bm25"] = bm25_of[record_id]
        hits.append(HybridHit(hit.id, hit.score, hit.document, hit.metadata, scores))
    return hits


def _read(
    store: ChromaStore, vector: Vector, ids: Sequence[str], cosines: Mapping[str, float]
) -> dict[str, Hit]:
    """The fused records in one Chroma read, with the cosine of any that only BM25 found.

    Those cosines come from the records' float vectors in Chroma.
    """
    if not ids:
        return {}
    missing = [i for i in ids if i not in cosines]
    include = ["documents", "metadatas"] + (["embeddings"] if missing else [])
    found = store.collection.get(ids=list(ids), include=include)
    scores = dict(cosines)
    if missing and store.layout is not None:
        query = store.layout.stored(vector[None])[0]
        vectors = l2_normalize(np.asarray(found["embeddings"], dtype=np.float32))
        scores |= {
            i: cos
            for i, cos in zip(found["ids"], (vectors @ query).tolist(), strict=True)
            if i not in cosines
        }
    return {
        i: Hit(i, float(scores[i]), doc, user_metadata(meta))
        for i, doc, meta in zip(found["ids"], found["documents"], found["metadatas"], strict=True)
        if i in scores
    }
