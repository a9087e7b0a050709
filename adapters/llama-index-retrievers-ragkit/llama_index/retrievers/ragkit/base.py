"""``RagkitRetriever``: a ragkit :class:`~ragkit.Retriever` as a LlamaIndex retriever."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    ObjectType,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import MetadataFilters
from llama_index.retrievers.ragkit.filters import combine_where, metadata_filters_to_where

from ragkit import ChromaStore, ConfigError, Passage, Retriever
from ragkit.store.filters import validate_where_document

__all__ = ["HIDDEN_METADATA_KEYS", "RagkitRetriever", "passage_to_node"]

HIDDEN_METADATA_KEYS = (
    "scores",
    "start",
    "end",
    "position",
    "path",
    "sha256",
    "mtime",
    "format",
)
"""Node metadata kept out of the embedding and LLM views (``excluded_*_metadata_keys``):
per-stage scores, offsets and the loader's bookkeeping. ``source``, ``title``,
``heading_path`` and any other loader metadata stay visible, for citations."""


class RagkitRetriever(BaseRetriever):
    """A ragkit :class:`~ragkit.Retriever` behind LlamaIndex's ``BaseRetriever``.

    Each :class:`~ragkit.Passage` becomes a ``NodeWithScore``: a ``TextNode`` with the
    passage's id, text (its ``context``: the chunk, or the chunk with its neighbours or
    section when the retriever expands), character offsets, and metadata ``source``,
    ``start``, ``end``, ``position``, ``heading_path``, ``title``, the loader's metadata and
    ``scores`` (each stage's score); its ``SOURCE`` relationship (``ref_doc_id``) is the
    passage's document. The node's score is the passage's: a true cosine, a fusion score
    (hybrid), or the reranker's probability.

    Args:
        retriever: A ragkit ``Retriever``, or a ``ChromaStore`` written by ragkit's
            ``Indexer`` (a ``Retriever(store, **options)`` is built over it).
        filters: LlamaIndex metadata filters applied to every query (see
            :mod:`llama_index.retrievers.ragkit.filters` for the mapping).
        where: A Chroma ``where`` filter applied to every query (with ``filters``: both).
        where_document: A Chroma ``where_document`` filter (document text).
        callback_manager: LlamaIndex callbacks (default: ``Settings.callback_manager``'s).
        verbose: LlamaIndex's verbose flag.
        **options: With a store, the ``Retriever`` options: ``k``, ``fetch_k``, ``hybrid``,
            ``reranker``, ``rerank_k``, ``min_relevance``, ``min_score``, ``mmr``, ``expand``,
            ``section``...

    Raises:
        ConfigError: ``options`` with a ``Retriever`` (set them on it), or bad options.
        FilterError: ``filters``, ``where`` or ``where_document`` is malformed or uses an
            operator Chroma has no equivalent for.

    Usage::

        retriever = RagkitRetriever(store, k=5, filters=MetadataFilters(filters=[...]))
        nodes = retriever.retrieve("how do binary codes save memory?")
        engine = RetrieverQueryEngine.from_args(retriever, llm=llm)
    """

    def __init__(
        self,
        retriever: Retriever | ChromaStore,
        *,
        filters: MetadataFilters | None = None,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
        **options: Any,
    ) -> None:
        if isinstance(retriever, ChromaStore):
            retriever = Retriever(retriever, **options)
        elif not isinstance(retriever, Retriever):
            raise ConfigError(
                f"RagkitRetriever needs a ragkit Retriever or ChromaStore, got "
                f"{type(retriever).__name__}"
            )
        elif options:
            raise ConfigError(
                f"Options {', '.join(sorted(options))} are for a ChromaStore: set them on the "
                "Retriever instead, e.g. RagkitRetriever(Retriever(store, k=5))"
            )
        self.retriever = retriever
        self.filters = filters
        self.where = combine_where(where, metadata_filters_to_where(filters))
        self.where_document = where_document
        validate_where_document(where_document)  # fail here, not on the first query
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def __repr__(self) -> str:
        return f"RagkitRetriever({self.retriever!r}, where={self.where!r})"

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """The ragkit retriever's passages for the query, as scored nodes, best first."""
        passages = self.retriever.retrieve(
            query_bundle.query_str, where=self.where, where_document=self.where_document
        )
        return [NodeWithScore(node=passage_to_node(p), score=p.score) for p in passages]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """:meth:`_retrieve` in a worker thread, so the event loop keeps running meanwhile.

        ragkit's retrieval is synchronous (embedding, Chroma, reranking), so it runs in
        ``asyncio.to_thread``, as LlamaIndex does for sync-only backends.
        """
        return await asyncio.to_thread(self._retrieve, query_bundle)


def passage_to_node(passage: Passage) -> TextNode:
    """The LlamaIndex node of a ragkit passage (see :class:`RagkitRetriever`)."""
    metadata: dict[str, Any] = dict(passage.metadata)
    metadata.update(
        source=passage.source,
        start=passage.start,
        end=passage.end,
        position=passage.position,
        heading_path=list(passage.heading_path),
    )
    if passage.title is not None:
        metadata["title"] = passage.title
    metadata["scores"] = dict(passage.scores)
    hidden = [key for key in HIDDEN_METADATA_KEYS if key in metadata]
    source_info: dict[str, Any] = {} if passage.title is None else {"title": passage.title}
    return TextNode(
        id_=passage.id,
        text=passage.context,
        start_char_idx=passage.context_start,
        end_char_idx=passage.context_end,
        metadata=metadata,
        excluded_embed_metadata_keys=hidden,
        excluded_llm_metadata_keys=list(hidden),
        relationships={
            NodeRelationship.SOURCE: RelatedNodeInfo(
                node_id=passage.source, node_type=ObjectType.DOCUMENT, metadata=source_info
            )
        },
    )
