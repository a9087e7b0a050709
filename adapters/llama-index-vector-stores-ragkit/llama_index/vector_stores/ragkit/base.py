"""``RagkitVectorStore``: a ragkit :class:`~ragkit.ChromaStore` as a LlamaIndex vector store."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.schema import (
    BaseNode,
    MetadataMode,
    NodeRelationship,
    ObjectType,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from llama_index.vector_stores.ragkit.filters import combine_where, metadata_filters_to_where

from ragkit import ChromaStore, ConfigError, Embedder, FilterError, InputError
from ragkit.store.filters import validate_where_document
from ragkit.store.records import RESERVED_PREFIX, validate_records

__all__ = ["DEFAULT_COLLECTION", "RagkitVectorStore"]

logger = logging.getLogger(__name__)

DEFAULT_COLLECTION = "llama_index"
"""The collection of a store opened with ``path`` or ``client`` and no ``collection_name``."""

_NODE_CONTENT_KEY = "_node_content"
_NODE_TYPES = ["TextNode", "Node", "IndexNode", "ImageNode", "Document", "ImageDocument"]
"""``_node_type`` values LlamaIndex writes (``node.class_name()``)."""
_QUERY_OPTIONS = ("search", "rescore", "oversample", "funnel", "candidates")


class RagkitVectorStore(BasePydanticVectorStore):
    """A ragkit ``ChromaStore`` behind LlamaIndex's ``BasePydanticVectorStore``.

    Chroma keeps the nodes (text, metadata, the serialised node, persistence, server mode);
    ragkit scans an exact 1-bit index of their vectors and rescores the best candidates with
    the float vectors, so every similarity in a query result is the true cosine of the query
    embedding and the node's embedding (not Chroma's ``exp(-distance)``).

    LlamaIndex embeds: nodes arrive with ``node.embedding`` and queries with
    ``query_embedding``, both from the index's ``embed_model`` (``RagkitEmbedding`` from
    ``llama-index-embeddings-ragkit`` applies the model's query and document prompts).

    Args:
        store: An open ``ChromaStore`` to wrap (the caller closes it). Without it, one is
            opened from the other arguments and closed by :meth:`close`.
        collection_name: The Chroma collection (without ``store``). Default:
            ``"llama_index"`` with ``path`` or ``client``; in memory, a fresh
            ``llama_index-<uuid>`` (Chroma's in-memory clients share one process-wide
            database).
        path: Folder of a persistent store (default: in memory).
        client: Any blocking Chroma client, e.g. ``chromadb.HttpClient(...)``.
        embedder: The ragkit embedder behind the index's embed model (e.g.
            ``RagkitEmbedding(...).embedder``): recorded in the collection, so reopening it
            with another model raises ``ragkit.EmbedderMismatchError``, and used to embed a
            query that comes with text only. Default: none (LlamaIndex brings every vector).
        **store_options: Other ``ChromaStore`` options (``search``, ``rescore``,
            ``oversample``, ``dim``, ``rotate``...).

    Raises:
        ConfigError: ``store`` together with the options to open one.

    Usage::

        vector_store = RagkitVectorStore(path="./index")
        storage_context = StorageContext.from_defaults(vector_store=vector_store)
        index = VectorStoreIndex.from_documents(
            documents, storage_context=storage_context, embed_model=RagkitEmbedding()
        )
        nodes = index.as_retriever(similarity_top_k=5).retrieve("how small are binary codes?")
    """

    stores_text: bool = True
    flat_metadata: bool = True

    collection_name: str = Field(description="The Chroma collection holding the nodes.")
    path: str | None = Field(default=None, description="Folder of a persistent store.")

    _store: ChromaStore = PrivateAttr()
    _owned: bool = PrivateAttr(default=False)

    def __init__(
        self,
        store: ChromaStore | None = None,
        *,
        collection_name: str | None = None,
        path: str | Path | None = None,
        client: Any = None,
        embedder: Embedder | None = None,
        **store_options: Any,
    ) -> None:
        if store is not None:
            given = (collection_name, path, client, embedder)
            if not isinstance(store, ChromaStore):
                raise ConfigError(
                    f"RagkitVectorStore wraps a ragkit ChromaStore, got {type(store).__name__}"
                )
            if any(v is not None for v in given) or store_options:
                raise ConfigError(
                    "Pass either an open ChromaStore or the options to open one "
                    "(collection_name, path, client, embedder...), not both."
                )
            fields: dict[str, Any] = {"collection_name": store.collection.name, "path": None}
            super().__init__(**fields)
            self._store, self._owned = store, False
            return
        if collection_name is None:
            private = path is None and client is None
            collection_name = (
                f"{DEFAULT_COLLECTION}-{uuid.uuid4()}" if private else DEFAULT_COLLECTION
            )
        opened = ChromaStore(
            collection_name, embedder=embedder, path=path, client=client, **store_options
        )
        try:
            fields = {
                "collection_name": collection_name,
                "path": None if path is None else str(path),
            }
            super().__init__(**fields)
        except BaseException:
            opened.close()
            raise
        self._store, self._owned = opened, True

    @classmethod
    def from_params(
        cls,
        collection_name: str | None = None,
        *,
        path: str | Path | None = None,
        client: Any = None,
        embedder: Embedder | None = None,
        **store_options: Any,
    ) -> RagkitVectorStore:
        """Open (or create) a collection: in memory, in ``path``, or on a Chroma ``client``."""
        return cls(
            collection_name=collection_name,
            path=path,
            client=client,
            embedder=embedder,
            **store_options,
        )

    @classmethod
    def from_store(cls, store: ChromaStore) -> RagkitVectorStore:
        """Wrap an open ``ChromaStore`` (the caller keeps it and closes it)."""
        return cls(store)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this component under."""
        return "RagkitVectorStore"

    def __repr__(self) -> str:
        return f"RagkitVectorStore(collection={self.collection_name!r}, path={self.path!r})"

    @property
    def client(self) -> ChromaStore:
        """The ragkit ``ChromaStore`` (its ``.collection`` is the Chroma collection)."""
        return self._store

    @property
    def store(self) -> ChromaStore:
        """The ragkit ``ChromaStore``."""
        return self._store

    def close(self) -> None:
        """Release the store folder if this object opened it (a store passed in stays open)."""
        if self._owned:
            self._store.close()

    def __enter__(self) -> RagkitVectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Insert or replace nodes by id: text, embedding, metadata and the node itself.

        Each node is stored as ChromaVectorStore stores it (``node_to_metadata_dict``: the
        serialised node plus ``document_id``/``doc_id``/``ref_doc_id``), so relationships,
        offsets and metadata come back whole from a query. Metadata values must be flat:
        str, int, float, bool, None (stored as ``""``, as Chroma's integration does) or a
        list of one of those types. Everything is checked before anything is written.

        Args:
            nodes: Nodes with embeddings (``VectorStoreIndex`` embeds them).
            **add_kwargs: Not used; anything given raises ``TypeError``.

        Returns:
            The node ids, in order.

        Raises:
            InputError: A node without an embedding, metadata that is not flat (the message
                names the node and the key), or duplicate node ids.
        """
        if add_kwargs:
            raise TypeError(f"add got unexpected arguments: {', '.join(sorted(add_kwargs))}")
        if not nodes:
            return []
        ids = [node.node_id for node in nodes]
        embeddings = [_embedding_of(node) for node in nodes]
        documents = [node.get_content(metadata_mode=MetadataMode.NONE) for node in nodes]
        metadatas = [_metadata_of(node) for node in nodes]
        empty = [i for i, text in zip(ids, documents, strict=True) if not text.strip()]
        if empty:
            logger.warning(
                "%d node(s) have no text; stored with an empty text (the reranker and BM25 "
                "skip them): %s",
                len(empty),
                empty[:5],
            )
        self._store.add(ids, documents=documents, metadatas=metadatas, embeddings=embeddings)
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the document ``ref_doc_id`` (``index.delete_ref_doc``).

        The nodes LlamaIndex wrote carry ``document_id``; records ragkit's ``Indexer`` wrote
        (no serialised node) belong to the document in their ``source``, the ``ref_doc_id``
        their nodes report.

        Raises:
            InputError: ``ref_doc_id`` is not a non-empty string.
        """
        if delete_kwargs:
            raise TypeError(f"delete got unexpected arguments: {', '.join(sorted(delete_kwargs))}")
        if not isinstance(ref_doc_id, str) or not ref_doc_id:
            raise InputError(f"ref_doc_id must be a non-empty string, got {ref_doc_id!r}")
        collection = self._store.collection
        doomed = collection.get(where={"document_id": ref_doc_id}, include=[])["ids"]
        indexed = collection.get(where={"source": ref_doc_id}, include=["metadatas"])
        doomed += [
            record_id
            for record_id, metadata in zip(indexed["ids"], indexed["metadatas"], strict=True)
            if _NODE_CONTENT_KEY not in (metadata or {})
        ]
        if doomed:
            self._store.delete(list(dict.fromkeys(doomed)))

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids that match ``filters`` (either may be left out).

        Raises:
            InputError: Neither ``node_ids`` nor ``filters``: ragkit never empties a store
                implicitly (use :meth:`clear`).
            FilterError: Filters Chroma cannot express.
        """
        if delete_kwargs:
            raise TypeError(
                f"delete_nodes got unexpected arguments: {', '.join(sorted(delete_kwargs))}"
            )
        where = metadata_filters_to_where(filters)
        if node_ids is None and where is None:
            raise InputError(
                "delete_nodes needs node_ids or filters; use clear() to delete every node."
            )
        if where is None:
            doomed = list(node_ids or [])
        elif node_ids is not None and not node_ids:
            doomed = []
        else:
            doomed = self._store.collection.get(ids=node_ids, where=where, include=[])["ids"]
        if doomed:
            self._store.delete(doomed)

    def clear(self) -> None:
        """Delete every node (the collection and its ragkit layout stay)."""
        every_id = self._store.collection.get(include=[])["ids"]
        if every_id:
            self._store.delete(every_id)

    # -- reading -------------------------------------------------------------------------------

    def get_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """The stored nodes with these ids (in that order; missing ones skipped) matching ``filters``.

        Neither: every node.

        Raises:
            FilterError: Filters Chroma cannot express.
        """
        where = metadata_filters_to_where(filters)
        if node_ids is not None and not node_ids:
            return []
        found = self._store.collection.get(
            ids=node_ids, where=where, include=["documents", "metadatas"]
        )
        nodes = {
            record_id: _node_of(record_id, document, metadata)
            for record_id, document, metadata in zip(
                found["ids"], found["documents"], found["metadatas"], strict=True
            )
        }
        order = node_ids if node_ids is not None else found["ids"]
        return [nodes[i] for i in dict.fromkeys(order) if i in nodes]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The ``similarity_top_k`` nodes closest to the query embedding, with true cosines.

        Args:
            query: LlamaIndex's query: ``query_embedding`` (from the index's embed model),
                ``similarity_top_k``, ``filters`` (:mod:`llama_index.vector_stores.ragkit.filters`)
                and ``doc_ids`` (only nodes of those documents). Without an embedding, the
                store's ``embedder`` embeds ``query_str``; with neither, the result is the
                first ``similarity_top_k`` nodes matching the filters, without similarities
                (as ChromaVectorStore does).
            **kwargs: ``where`` (a raw Chroma filter, combined with ``filters``),
                ``where_document`` (a Chroma filter on the text, e.g. ``{"$contains": "x"}``),
                and ``ChromaStore.query`` options: ``search``, ``rescore``, ``oversample``,
                ``funnel``, ``candidates`` (``vector_store_kwargs`` of ``as_retriever``).

        Returns:
            Nodes, similarities (cosines, best first) and ids.

        Raises:
            ConfigError: A query mode other than ``DEFAULT``, or ``similarity_top_k`` < 1.
            FilterError: Filters Chroma cannot express, or ``node_ids`` (not supported).
            InputError: An embedding of the wrong dimension.
        """
        options = {name: kwargs.pop(name) for name in _QUERY_OPTIONS if name in kwargs}
        where_kwarg, where_document = kwargs.pop("where", None), kwargs.pop("where_document", None)
        if kwargs:
            raise TypeError(f"query got unexpected arguments: {', '.join(sorted(kwargs))}")
        if query.mode != VectorStoreQueryMode.DEFAULT:
            raise ConfigError(
                f"RagkitVectorStore supports the default query mode only, got "
                f"{_mode_name(query.mode)!r}; for MMR, hybrid (BM25) search or reranking use "
                "ragkit's Retriever (llama-index-retrievers-ragkit)."
            )
        if query.node_ids:
            raise FilterError(
                "VectorStoreQuery.node_ids is not supported: Chroma filters on metadata, not "
                "on ids; filter on metadata, or fetch the nodes with get_nodes(node_ids)."
            )
        doc_filter = _doc_ids_where(list(query.doc_ids)) if query.doc_ids else None
        where = combine_where(metadata_filters_to_where(query.filters), doc_filter, where_kwarg)
        vector: Any = query.query_embedding
        if vector is None and query.query_str and self._store.embedder is not None:
            vector = query.query_str  # the store's embedder applies the query prompt
        if vector is None:
            return self._first(query.similarity_top_k, where, where_document)
        hits = self._store.query(
            vector,
            k=query.similarity_top_k,
            where=where,
            where_document=where_document,
            **options,
        )
        return VectorStoreQueryResult(
            nodes=[_node_of(hit.id, hit.document, hit.metadata) for hit in hits],
            similarities=[hit.score for hit in hits],
            ids=[hit.id for hit in hits],
        )

    def _first(
        self, limit: int, where: dict[str, Any] | None, where_document: Mapping[str, Any] | None
    ) -> VectorStoreQueryResult:
        if limit < 1:
            raise ConfigError(f"k must be at least 1, got {limit}.")
        found = self._store.collection.get(
            limit=limit,
            where=where,
            where_document=validate_where_document(where_document),
            include=["documents", "metadatas"],
        )
        records = list(zip(found["ids"], found["documents"], found["metadatas"], strict=True))
        return VectorStoreQueryResult(
            nodes=[_node_of(i, doc, meta) for i, doc, meta in records],
            ids=[i for i, _, _ in records],
        )

    # -- async: the sync work in a worker thread, so the event loop keeps running ---------------

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """:meth:`add` in a worker thread (``asyncio.to_thread``)."""
        return await asyncio.to_thread(self.add, nodes, **kwargs)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """:meth:`delete` in a worker thread."""
        await asyncio.to_thread(self.delete, ref_doc_id, **delete_kwargs)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """:meth:`delete_nodes` in a worker thread."""
        await asyncio.to_thread(self.delete_nodes, node_ids, filters, **delete_kwargs)

    async def aget_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """:meth:`get_nodes` in a worker thread."""
        return await asyncio.to_thread(self.get_nodes, node_ids, filters)

    async def aclear(self) -> None:
        """:meth:`clear` in a worker thread."""
        await asyncio.to_thread(self.clear)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """:meth:`query` in a worker thread: ragkit's scan and Chroma's reads are blocking."""
        return await asyncio.to_thread(self.query, query, **kwargs)


def _doc_ids_where(doc_ids: list[str]) -> dict[str, Any]:
    """Nodes of these documents: LlamaIndex's ``document_id``, or an Indexer record's ``source``.

    A record without ``_node_type`` (Chroma's ``$nin`` matches a missing key) is one ragkit's
    Indexer wrote; a LlamaIndex node whose own metadata has a ``source`` does not count.
    """
    return {
        "$or": [
            {"document_id": {"$in": doc_ids}},
            {"$and": [{"source": {"$in": doc_ids}}, {"_node_type": {"$nin": _NODE_TYPES}}]},
        ]
    }


def _mode_name(mode: VectorStoreQueryMode | str) -> str:
    return str(getattr(mode, "value", mode))


def _embedding_of(node: BaseNode) -> list[float]:
    if node.embedding is None:
        raise InputError(
            f"Node {node.node_id!r} has no embedding: RagkitVectorStore stores the vectors "
            "LlamaIndex computes. VectorStoreIndex embeds nodes with its embed_model; when "
            "calling add() yourself, set node.embedding first (embed_model.get_text_embedding)."
        )
    return list(node.embedding)


def _metadata_of(node: BaseNode) -> dict[str, Any]:
    """The node as Chroma metadata: its flat metadata plus LlamaIndex's serialised node."""
    for key, value in node.metadata.items():
        if isinstance(value, Mapping) or (
            isinstance(value, (list, tuple))
            and any(isinstance(v, (list, tuple, Mapping)) for v in value)
        ):
            raise InputError(
                f"Node {node.node_id!r}: metadata[{key!r}] is {type(value).__name__} "
                f"{_short(value)}; metadata must be flat (str, int, float, bool, None or a "
                "list of one of those): use keys like 'author.name', or store json.dumps(value)"
            )
        if isinstance(key, str) and key.startswith(RESERVED_PREFIX):
            raise InputError(
                f"Node {node.node_id!r}: metadata key {key!r}: the {RESERVED_PREFIX!r} prefix is "
                "reserved for ragkit's own fields; rename the key"
            )
    metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=False)
    flat: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None:
            flat[key] = ""  # Chroma stores no None; ChromaVectorStore writes "" too
        elif isinstance(value, (list, tuple)) and not value:
            continue  # Chroma stores no empty list; the node keeps it (_node_content)
        else:
            flat[key] = list(value) if isinstance(value, tuple) else value
    try:
        validate_records([node.node_id], metadatas=[flat])
    except InputError as error:
        message = str(error).replace("metadatas[0]", "metadata", 1)
        raise InputError(f"Node {node.node_id!r}: {message}") from None
    return flat


def _node_of(record_id: str, document: str | None, metadata: Mapping[str, Any] | None) -> BaseNode:
    """The LlamaIndex node of a stored record (one ragkit's Indexer wrote becomes a TextNode)."""
    meta = {k: v for k, v in (metadata or {}).items() if not k.startswith(RESERVED_PREFIX)}
    if _NODE_CONTENT_KEY in meta:
        return metadata_dict_to_node(meta, text=document)
    relationships = {}
    if isinstance(meta.get("source"), str):
        relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(
            node_id=meta["source"], node_type=ObjectType.DOCUMENT
        )
    start, end = meta.get("start"), meta.get("end")
    offsets = isinstance(start, int) and isinstance(end, int)
    return TextNode(
        id_=record_id,
        text=document or "",
        metadata=meta,
        relationships=relationships,
        start_char_idx=start if offsets else None,
        end_char_idx=end if offsets else None,
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
