"""What a retrieval returns: :class:`Passage`, and the :class:`Reranker` protocol over it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ragkit.errors import InputError
from ragkit.store.base import Hit

__all__ = ["Passage", "Reranker", "passage_from_hit"]

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


def passage_from_hit(hit: Hit) -> Passage:
    """The passage of a chunk the store returned (hybrid hits keep their stage scores).

    Raises:
        InputError: The record lacks the offsets ragkit's indexer writes.
    """
    meta = dict(hit.metadata)
    missing = {"source", "start", "end", "position"} - set(meta)
    if missing:
        raise InputError(
            f"Record {hit.id!r} has no {', '.join(sorted(missing))}: it was not written by "
            "ragkit's indexer (`ragkit index`); query the store with ChromaStore.query instead."
        )
    headings = tuple(json.loads(meta.get("headings") or "[]"))
    text = hit.document or ""
    scores = dict(getattr(hit, "scores", None) or {"cosine": hit.score})  # hybrid hits have more
    start, end = int(meta["start"]), int(meta["end"])
    return Passage(
        id=hit.id,
        score=scores.get("fusion", hit.score),
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
        scores=scores,
    )
