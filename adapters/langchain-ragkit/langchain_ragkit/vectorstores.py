"""``RagkitVectorStore``: a ragkit :class:`~ragkit.ChromaStore` as a LangChain ``VectorStore``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from langchain_ragkit._bridge import LangChainEmbedder, as_ragkit_embedder
from langchain_ragkit.embeddings import RagkitEmbeddings
from ragkit import ChromaStore, ConfigError, Hit, InputError, StoreError
from ragkit.embed.pooling import l2_normalize
from ragkit.rerank import maximal_marginal_relevance
from ragkit.types import Vector

__all__ = ["RagkitVectorStore", "cosine_to_relevance"]

DEFAULT_COLLECTION = "langchain"


def cosine_to_relevance(cosine: float) -> float:
    """A cosine similarity in [-1, 1] mapped linearly onto a relevance in [0, 1].

    ``(1 + cosine) / 2``: 1 for the same direction, 0.5 for orthogonal, 0 for opposite
    (clipped against rounding just outside the range).
    """
    return min(1.0, max(0.0, (1.0 + cosine) / 2.0))


def _document(hit: Hit) -> Document:
    return Document(id=hit.id, page_content=hit.document or "", metadata=dict(hit.metadata))


class RagkitVectorStore(VectorStore):
    """A ragkit ``ChromaStore`` behind LangChain's ``VectorStore``.

    Chroma keeps ids, text, metadata and persistence; ragkit scans an exact 1-bit index and
    rescores the best candidates with the float vectors, so every score from
    :meth:`similarity_search_with_score` is the true cosine similarity of the query and the
    document (higher is closer), not a distance.

    Args:
        embedding: Any LangChain ``Embeddings``; :class:`RagkitEmbeddings` hand ragkit their
            own embedder (the model's query/document prompts, its fingerprint). Not with
            ``store``.
        store: An open ragkit ``ChromaStore`` to wrap (its embedder embeds); the caller
            closes it.
        collection_name: The Chroma collection (without ``store``). Default: ``"langchain"``
            with ``path`` or ``client``; in memory, a fresh ``langchain-<uuid>`` (Chroma's
            in-memory clients share one process-wide database, so two in-memory stores
            with one name would see each other's records).
        path: Folder of a persistent store (without ``store``; default: in memory).
        client: Any blocking Chroma client, e.g. ``chromadb.HttpClient(...)`` (without
            ``store``).
        **store_options: Other ``ChromaStore`` options (``search``, ``rescore``,
            ``oversample``, ``dim``, ``rotate``...).

    Raises:
        ConfigError: Neither or both of ``embedding`` and ``store``, or a store without an
            embedder.

    Usage::

        store = RagkitVectorStore(RagkitEmbeddings(model_name="BAAI/bge-small-en-v1.5"), path="./index")
        store.add_texts(["Binary codes take 32x less memory."], metadatas=[{"topic": "memory"}])
        docs = store.similarity_search("how small are binary codes?", k=4, filter={"topic": "memory"})
        retriever = store.as_retriever(search_type="mmr", search_kwargs={"k": 4})
    """

    def __init__(
        self,
        embedding: Embeddings | None = None,
        *,
        store: ChromaStore | None = None,
        collection_name: str | None = None,
        path: str | Path | None = None,
        client: Any = None,
        **store_options: Any,
    ) -> None:
        if store is not None:
            given = (embedding, collection_name, path, client)
            if any(v is not None for v in given) or store_options:
                raise ConfigError(
                    "Pass either an open ChromaStore (store=) or the embedding and store "
                    "options to open one, not both."
                )
            if store.embedder is None:
                raise ConfigError("The ChromaStore has no embedder: open it with one.")
            self.store, self._owned = store, False
        elif embedding is None:
            raise ConfigError("RagkitVectorStore needs an embedding (or store=ChromaStore(...)).")
        else:
            if collection_name is None:
                private = path is None and client is None
                collection_name = (
                    f"{DEFAULT_COLLECTION}-{uuid.uuid4()}" if private else DEFAULT_COLLECTION
                )
            self.store = ChromaStore(
                collection_name,
                embedder=as_ragkit_embedder(embedding),
                path=path,
                client=client,
                **store_options,
            )
            self._owned = True
        self._embedding = embedding

    def __repr__(self) -> str:
        return f"RagkitVectorStore(collection={self.store.collection.name!r})"

    def close(self) -> None:
        """Release the store folder if this object opened it (a store passed in stays open)."""
        if self._owned:
            self.store.close()

    def __enter__(self) -> RagkitVectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def embeddings(self) -> Embeddings:
        """The LangChain embeddings (for a wrapped store, its ragkit embedder as one)."""
        if self._embedding is None:
            embedder = self.store.embedder
            assert embedder is not None  # checked in __init__
            if isinstance(embedder, LangChainEmbedder):
                self._embedding = embedder.embeddings
            else:
                self._embedding = RagkitEmbeddings.from_embedder(embedder)
        return self._embedding

    # -- writing -------------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed texts with the document prompt and insert or replace them by id.

        Args:
            texts: The texts.
            metadatas: One flat dict per text (str, int, float, bool or None values).
            ids: One id per text; missing (or None) ones get a fresh UUID. An existing id is
                replaced whole, metadata included.
            batch_size: Texts embedded and written per call (default: all at once).
            **kwargs: Not used; anything given raises ``TypeError``.

        Returns:
            The ids, in order.

        Raises:
            InputError: Lengths that do not match, duplicate ids, or metadata ragkit cannot
                store (nested values, ``ragkit:``/``chroma:`` keys); nothing is written.
        """
        if kwargs:
            raise TypeError(f"add_texts got unexpected arguments: {', '.join(sorted(kwargs))}")
        items = list(texts)
        if ids is not None and len(ids) != len(items):
            raise InputError(f"Got {len(ids)} ids for {len(items)} texts.")
        if metadatas is not None and len(metadatas) != len(items):
            raise InputError(f"Got {len(metadatas)} metadatas for {len(items)} texts.")
        filled = [i if i is not None else str(uuid.uuid4()) for i in ids or [None] * len(items)]
        metas: list[Mapping[str, Any] | None] = [
            m or None for m in metadatas or [None] * len(items)
        ]
        step = batch_size or max(len(items), 1)
        for start in range(0, len(items), step):
            part = slice(start, start + step)
            self.store.add(filled[part], documents=items[part], metadatas=metas[part])
        return filled

    def delete(
        self,
        ids: list[str] | None = None,
        *,
        filter: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> bool:
        """Delete records by id and/or a Chroma ``where`` filter (missing ids are ignored).

        Args:
            ids: Ids to delete.
            filter: A Chroma ``where`` dict: matching records are deleted too.
            **kwargs: Not used; anything given raises ``TypeError``.

        Returns:
            True.

        Raises:
            InputError: Neither ids nor filter (ragkit never empties a store implicitly).
            FilterError: A malformed filter.
        """
        if kwargs:
            raise TypeError(f"delete got unexpected arguments: {', '.join(sorted(kwargs))}")
        if ids is not None and not ids and filter is None:
            return True
        self.store.delete(ids, where=filter)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents with these ids (missing ids are skipped), ids set."""
        return [_document(hit) for hit in self.store.get(list(ids))]

    # -- searching ------------------------------------------------------------------------------

    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """The ``k`` documents closest to ``query`` (embedded with the query prompt).

        Args:
            query: The question.
            k: Number of documents.
            filter: A Chroma ``where`` dict on metadata (``{"topic": "memory"}``,
                ``{"year": {"$gte": 2020}}``, ``$and``/``$or``...).
            where_document: A Chroma ``where_document`` dict on the text
                (``{"$contains": "binary"}``).
            **kwargs: ``ChromaStore.query`` options: ``search``, ``rescore``,
                ``oversample``, ``funnel``, ``candidates``.

        Returns:
            ``(document, cosine similarity)`` pairs, best first.

        Raises:
            FilterError: A malformed filter.
        """
        hits = self.store.query(query, k, where=filter, where_document=where_document, **kwargs)
        return [(_document(hit), hit.score) for hit in hits]

    def similarity_search(
        self,
        query: str,
        k: int = 4,
        filter: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """The ``k`` documents closest to ``query``, best first (see :meth:`similarity_search_with_score`)."""
        found = self.similarity_search_with_score(query, k, filter, where_document, **kwargs)
        return [doc for doc, _ in found]

    def similarity_search_by_vector_with_score(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """The ``k`` documents closest to a query vector, with their cosine similarities."""
        hits = self.store.query(
            np.asarray(embedding, dtype=np.float32),
            k,
            where=filter,
            where_document=where_document,
            **kwargs,
        )
        return [(_document(hit), hit.score) for hit in hits]

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """The ``k`` documents closest to a query vector (from ``embeddings.embed_query``)."""
        found = self.similarity_search_by_vector_with_score(
            embedding, k, filter, where_document, **kwargs
        )
        return [doc for doc, _ in found]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Scores are true cosines: ``(1 + cosine) / 2`` maps them onto [0, 1]."""
        return cosine_to_relevance

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """``k`` of the ``fetch_k`` documents closest to ``query``, picked for relevance and diversity.

        Args:
            query: The question (embedded once, with the query prompt).
            k: Documents returned.
            fetch_k: Candidates fetched and diversified.
            lambda_mult: 1 for relevance only, 0 for diversity only.
            filter: A Chroma ``where`` dict.
            where_document: A Chroma ``where_document`` dict.
            **kwargs: ``ChromaStore.query`` options.

        Returns:
            Documents in MMR order (first pick first).
        """
        embedder = self.store.embedder
        assert embedder is not None  # checked in __init__
        vector: Vector = l2_normalize(embedder.embed_query([query]))[0]
        return self._mmr(vector, k, fetch_k, lambda_mult, filter, where_document, kwargs)

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """:meth:`max_marginal_relevance_search` from a query vector."""
        vector: Vector = np.asarray(embedding, dtype=np.float32)
        return self._mmr(vector, k, fetch_k, lambda_mult, filter, where_document, kwargs)

    def _mmr(
        self,
        vector: Vector,
        k: int,
        fetch_k: int,
        lambda_mult: float,
        where: Mapping[str, Any] | None,
        where_document: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> list[Document]:
        """MMR over the candidates' vectors as Chroma stores them (after ragkit's layout)."""
        hits = self.store.query(
            vector, max(fetch_k, k), where=where, where_document=where_document, **options
        )
        layout = self.store.layout
        if not hits:
            return []
        if layout is None:  # loaded by the query that found the hits
            raise StoreError(f"Collection {self.store.collection.name!r} has no ragkit layout.")
        found = self.store.collection.get(ids=[h.id for h in hits], include=["embeddings"])
        by_id = dict(zip(found["ids"], np.asarray(found["embeddings"], np.float32), strict=True))
        hits = [h for h in hits if h.id in by_id]  # deleted meanwhile
        query = layout.stored(l2_normalize(vector[None]))[0]
        picks = maximal_marginal_relevance(
            query, np.stack([by_id[h.id] for h in hits]), k=k, lambda_mult=lambda_mult
        )
        return [_document(hits[i]) for i in picks]

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        collection_name: str | None = None,
        path: str | Path | None = None,
        client: Any = None,
        **store_options: Any,
    ) -> RagkitVectorStore:
        """Open a store (see the class) and add ``texts`` to it.

        Args:
            texts: The texts.
            embedding: The LangChain embeddings.
            metadatas: One flat dict per text.
            ids: One id per text (default: UUIDs).
            collection_name: The Chroma collection (default: see the class).
            path: Folder of a persistent store (default: in memory).
            client: Any blocking Chroma client.
            **store_options: Other ``ChromaStore`` options.

        Returns:
            The store, holding the texts.
        """
        store = cls(
            embedding, collection_name=collection_name, path=path, client=client, **store_options
        )
        try:
            store.add_texts(texts, metadatas, ids=ids)
        except BaseException:
            store.close()
            raise
        return store
