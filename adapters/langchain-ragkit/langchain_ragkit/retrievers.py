"""``RagkitRetriever``: ragkit's retrieval pipeline as a LangChain ``BaseRetriever``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from ragkit import ChromaStore, ConfigError, Passage, Retriever
from ragkit.store.filters import validate_where, validate_where_document

__all__ = ["RagkitRetriever", "passage_to_document"]


class RagkitRetriever(BaseRetriever):
    """A ragkit :class:`~ragkit.Retriever` behind LangChain's ``BaseRetriever``.

    The whole pipeline comes along: dense or hybrid search, reranking, MMR, relevance
    filtering, neighbour expansion.

    Each passage becomes a ``Document`` whose ``page_content`` is the passage's context (its
    text, or with ``expand``/``section`` the text around it) and whose metadata holds the
    chunk's own fields plus ``source``, ``start``, ``end``, ``position``, ``heading_path``,
    ``title``, ``score`` (the last stage's: the true cosine, the fusion score or the
    reranker's) and ``scores`` (every stage's). ``Document.id`` is the chunk's id.

    Attributes:
        retriever: The ragkit pipeline. Build it with ``RagkitRetriever.from_store`` or pass
            one: ``RagkitRetriever(retriever=Retriever(store, k=5, reranker=...))``.
        k: Passages per query (default: the pipeline's ``k``); ``invoke(query, k=3)`` too.
        where: A Chroma metadata filter applied to every query (``invoke(..., where=...)``
            replaces it for one query).
        where_document: A Chroma filter on the text (e.g. ``{"$contains": "binary"}``).

    Usage::

        retriever = RagkitRetriever.from_store(store, k=5, hybrid=BM25Index(store))
        docs = retriever.invoke("how do binary codes save memory?")
        docs[0].metadata["score"], docs[0].metadata["source"]
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    retriever: Retriever
    k: int | None = Field(default=None, ge=1)
    where: dict[str, Any] | None = None
    where_document: dict[str, Any] | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Fail at construction, not on the first query, on a malformed filter.

        (Pydantic reports the ragkit ``FilterError`` as a ``ValidationError``.)
        """
        validate_where(self.where)
        validate_where_document(self.where_document)

    @classmethod
    def from_store(
        cls,
        store: ChromaStore,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RagkitRetriever:
        """A retriever over a store written by ragkit's ``Indexer`` (``ragkit index``).

        Args:
            store: The store (with the embedder it was built with).
            where: A Chroma metadata filter for every query.
            where_document: A Chroma filter on the text for every query.
            **options: ``Retriever`` options: ``k``, ``fetch_k``, ``hybrid``, ``reranker``,
                ``rerank_k``, ``min_relevance``, ``min_score``, ``mmr``, ``expand``,
                ``section``.

        Raises:
            ConfigError: ``store`` is not a ``ChromaStore``, or an option is out of range.
            FilterError: ``where`` or ``where_document`` is malformed.
        """
        if not isinstance(store, ChromaStore):
            raise ConfigError(
                f"RagkitRetriever.from_store needs a ragkit ChromaStore, got {type(store).__name__}"
            )
        validate_where(where)  # ragkit's FilterError here; pydantic would wrap it below
        validate_where_document(where_document)
        return cls(
            retriever=Retriever(store, **options),
            where=None if where is None else dict(where),
            where_document=None if where_document is None else dict(where_document),
        )

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        """The pipeline's passages for ``query``, best first, as documents.

        Raises:
            ragkit.InputError: An empty query.
            ragkit.FilterError: A malformed filter.
            ragkit.ConfigError: ``k`` below 1.
        """
        passages = self.retriever.retrieve(
            query,
            k=k if k is not None else self.k,
            where=self.where if where is None else where,
            where_document=self.where_document if where_document is None else where_document,
        )
        return [passage_to_document(p) for p in passages]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        """The sync retrieval in a worker thread, so the event loop keeps serving meanwhile.

        ragkit's pipeline is blocking (ONNX Runtime, Chroma).
        """
        passages = await asyncio.to_thread(
            self.retriever.retrieve,
            query,
            k=k if k is not None else self.k,
            where=self.where if where is None else where,
            where_document=self.where_document if where_document is None else where_document,
        )
        return [passage_to_document(p) for p in passages]


def passage_to_document(passage: Passage) -> Document:
    """The LangChain document of a ragkit passage (see :class:`RagkitRetriever`)."""
    metadata: dict[str, Any] = dict(passage.metadata)
    metadata.update(
        source=passage.source,
        start=passage.context_start,
        end=passage.context_end,
        position=passage.position,
        heading_path=list(passage.heading_path),
        score=passage.score,
        scores=dict(passage.scores),
    )
    if passage.title is not None:
        metadata["title"] = passage.title
    return Document(id=passage.id, page_content=passage.context, metadata=metadata)
