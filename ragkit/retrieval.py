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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ragkit.errors import ConfigError, InputError
from ragkit.store.base import Hit
from ragkit.store.chroma import ChromaStore

__all__ = ["Passage", "Reranker", "Retriever"]

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
    """Query → store search → rerank (optional) → top ``k`` → context expansion.

    Args:
        store: A store written by :class:`~ragkit.ingest.Indexer` (chunks with offsets).
        k: Passages returned.
        expand: Neighbouring chunks (either side, same document) joined into each
            passage's ``context``.
        section: Join the passage's whole section instead: the chunks of its document with
            the same heading path (for Markdown and HTML, its heading and what is under it).
        reranker: Reorders the first ``fetch_k`` candidates.
        fetch_k: Candidates searched for (default: ``k``, or ``4 * k`` with a reranker).

    Raises:
        ConfigError: ``k``, ``expand`` or ``fetch_k`` out of range.
    """

    def __init__(
        self,
        store: ChromaStore,
        *,
        k: int = 5,
        expand: int = 0,
        section: bool = False,
        reranker: Reranker | None = None,
        fetch_k: int | None = None,
    ) -> None:
        _check_counts(k, expand, fetch_k)
        self.store, self.k, self.expand, self.section = store, k, expand, section
        self.reranker, self.fetch_k = reranker, fetch_k

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
        """The best passages for ``query``, best first.

        Raises:
            InputError: An empty query.
            FilterError: A malformed filter.
        """
        if not isinstance(query, str) or not query.strip():
            raise InputError("The query is empty: pass the question as text.")
        k = self.k if k is None else k
        expand = self.expand if expand is None else expand
        _check_counts(k, expand, self.fetch_k)
        fetch = self.fetch_k or (4 * k if self.reranker is not None else k)
        hits = self.store.query(query, k=max(fetch, k), where=where, where_document=where_document)
        passages = [_passage(hit) for hit in hits]
        if self.reranker is not None:
            passages = self.reranker.rerank(query, passages)
        passages = passages[:k]
        if self.section if section is None else section:
            return self._sections(passages)
        return self._expanded(passages, expand) if expand else passages

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


def _check_counts(k: int, expand: int, fetch_k: int | None) -> None:
    for name, value, low in (("k", k, 1), ("expand", expand, 0), ("fetch_k", fetch_k, 1)):
        if name == "fetch_k" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} must be an integer of at least {low}, got {value!r}.")
