"""ChromaStore: Chroma as the system of record, plus an exact binary first stage, rescored.

Chroma keeps ids, documents, metadata, the float vectors and each record's packed sign code;
ragkit keeps the codes in memory (32x smaller than float32), scans them exactly by Hamming
distance, and rescores ``k * oversample`` candidates with the float vectors from Chroma, so
results carry true cosine similarities.

Usage::

    from ragkit import ChromaStore, TextEmbedder
    store = ChromaStore("docs", embedder=TextEmbedder("BAAI/bge-small-en-v1.5"), path="./index")
    store.add(ids=["a", "b"], documents=["first text", "second text"], metadatas=[{"year": 2024}, None])
    hits = store.query("what is in the first text?", k=5, where={"year": {"$gte": 2020}})
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ragkit.embed.base import Embedder
from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, EmbedderMismatchError, InputError, StoreError
from ragkit.store._lock import acquire_folder, release_folder
from ragkit.store.base import Hit
from ragkit.store.codes import asymmetric_scores, pack_signs
from ragkit.store.filters import validate_where, validate_where_document
from ragkit.store.index import CODE_KEY, BinaryIndex, decode_code, encode_code
from ragkit.store.records import chunked, validate_records
from ragkit.types import Matrix, Vector

__all__ = ["ChromaStore", "RescoreMode", "SearchMode"]

logger = logging.getLogger(__name__)

SearchMode = Literal["float", "binary"]
RescoreMode = Literal["float", "asymmetric", "none"]

_FINGERPRINT_KEY = "ragkit:fingerprint"
_CODE_DIM_KEY = "ragkit:code_dim"
_GENERATION_KEY = "ragkit:generation"
_PAGE = 5_000


class ChromaStore:
    """A Chroma collection (cosine space) with a binary index in front of it.

    Args:
        name: Collection name.
        embedder: Embeds documents and queries; None when the caller brings vectors.
        path: Folder of a persistent store (embedded ``PersistentClient``).
        client: Any Chroma client (``EphemeralClient``, ``HttpClient``...); overrides ``path``.
        search: ``"binary"`` (Hamming scan, then rescoring) or ``"float"`` (Chroma's HNSW).
        rescore: ``"float"`` (true cosine from Chroma's vectors), ``"asymmetric"`` (float query
            against the candidates' bits) or ``"none"`` (Hamming order; cosine estimated).
        oversample: Candidates per result taken from the Hamming scan (8 kept 99.9% of float
            NDCG@10 on SciFact with all-MiniLM-L6-v2; 4 kept 98.8%: benchmarks/binary_scan.py).
        code_dim: Matryoshka dimension of the codes (default: the full vector).
        reembed: If the collection was built with another embedder, re-embed its documents
            instead of raising :class:`EmbedderMismatchError`.

    A persistent store (``path``) is locked to one process at a time; a second process gets
    :class:`StoreLockedError` pointing to server mode. ``close()`` (or ``with``) releases it.
    """

    def __init__(
        self,
        name: str = "ragkit",
        *,
        embedder: Embedder | None = None,
        path: str | Path | None = None,
        client: Any = None,
        search: SearchMode = "binary",
        rescore: RescoreMode = "float",
        oversample: int = 8,
        code_dim: int | None = None,
        reembed: bool = False,
    ) -> None:
        import chromadb
        from chromadb.config import Settings

        _check_modes(search, rescore, oversample)
        _check_name(name)
        self.embedder = embedder
        self.search, self.rescore, self.oversample = search, rescore, oversample
        self._lock_key: str | None = None
        if client is None and path:
            self._lock_key = acquire_folder(Path(path))
        try:
            if client is None:
                quiet = Settings(anonymized_telemetry=False)  # offline: no telemetry calls
                client = (
                    chromadb.PersistentClient(path=str(path), settings=quiet)
                    if path
                    else chromadb.EphemeralClient(settings=quiet)
                )
            self.client = client
            self.collection = client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
            self._lock = threading.RLock()
            self._dim: int | None = None
            self._index: BinaryIndex | None = None
            self._seen_generation: int | None = None
            self._check_fingerprint(reembed)
            self.code_dim = self._code_dim(code_dim)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release this process's hold on a persistent store folder (other stores may share it)."""
        if self._lock_key is not None:
            release_folder(self._lock_key)
            self._lock_key = None

    def __enter__(self) -> ChromaStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collection metadata -----------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        """The collection's metadata as Chroma holds it now.

        The Collection object caches its metadata: another client's writes (the generation
        counter) would go unseen without asking Chroma again.
        """
        fresh = self.client.get_collection(self.collection.name, embedding_function=None)
        return dict(fresh.metadata or {})

    def _fingerprint(self) -> str:
        print_ = self.embedder.fingerprint() if self.embedder is not None else {"model": "external"}
        return json.dumps(print_, sort_keys=True)

    def _check_fingerprint(self, reembed: bool) -> None:
        stored = self._meta().get(_FINGERPRINT_KEY)
        ours = self._fingerprint()
        if stored is None or stored == ours:
            if stored is None:
                self._modify({_FINGERPRINT_KEY: ours})
            return
        if not reembed or self.embedder is None:
            raise EmbedderMismatchError(
                f"Collection {self.collection.name!r} was built with {stored}, not {ours}. "
                "Open it with the same embedder, or pass reembed=True to re-embed its documents."
            )
        self._reembed(ours)

    def _code_dim(self, requested: int | None) -> int | None:
        stored = self._meta().get(_CODE_DIM_KEY)
        if requested is not None and requested < 1:
            raise ConfigError(f"code_dim must be at least 1, got {requested}.")
        if stored is not None and requested is not None and int(stored) != requested:
            raise ConfigError(
                f"Collection {self.collection.name!r} stores {stored}-bit codes; "
                f"code_dim={requested} needs a new collection."
            )
        return int(stored) if stored is not None else requested

    def _modify(self, changes: Mapping[str, Any]) -> None:
        meta = self._meta()
        meta.update(changes)
        meta.pop("hnsw:space", None)  # configuration owns the space; metadata may not repeat it
        self.collection.modify(metadata=meta)

    def _bump_generation(self) -> None:
        generation = int(self._meta().get(_GENERATION_KEY, 0)) + 1
        self._modify({_GENERATION_KEY: generation})
        self._seen_generation = generation

    # -- writing -------------------------------------------------------------------------------

    def add(
        self,
        ids: Sequence[str],
        *,
        documents: Sequence[str | None] | None = None,
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        embeddings: Matrix | Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Insert or replace records (re-adding the same ids is idempotent).

        Documents are embedded with the store's embedder unless ``embeddings`` are given.
        Everything is validated before anything is written.

        Raises:
            InputError: Bad ids, vectors, documents or metadata (the message names the index).
        """
        if embeddings is None:
            if documents is None or self.embedder is None:
                raise InputError("Pass embeddings, or documents together with a store embedder.")
            checked = validate_records(ids, documents=documents, metadatas=metadatas)
            embeddings = self.embedder.embed_documents([d or "" for d in checked.documents or []])
        dim = self._vector_dim()
        records = validate_records(
            ids, embeddings=embeddings, documents=documents, metadatas=metadatas, dim=dim
        )
        if not records.ids or records.embeddings is None:
            return
        vectors = l2_normalize(np.array(records.embeddings, dtype=np.float32))
        self._write(records.ids, vectors, records.documents, records.metadatas)

    upsert = add

    def _vector_dim(self) -> int | None:
        """The collection's vector dimension: the embedder's, or that of a stored vector (cached)."""
        if self.embedder is not None:
            return self.embedder.dim
        if self._dim is None:
            found = self.collection.get(limit=1, include=["embeddings"]).get("embeddings")
            self._dim = len(found[0]) if found is not None and len(found) else None
        return self._dim

    def _write(
        self,
        ids: list[str],
        vectors: Matrix,
        documents: list[str | None] | None,
        metadatas: list[dict[str, Any] | None] | None,
    ) -> None:
        code_dim = self.code_dim or vectors.shape[1]
        if code_dim > vectors.shape[1]:
            raise ConfigError(f"code_dim={code_dim} exceeds the {vectors.shape[1]}-d vectors.")
        codes = pack_signs(vectors[:, :code_dim])
        metas = [
            dict(m or {}) | {CODE_KEY: encode_code(c)}
            for m, c in zip(metadatas or [None] * len(ids), codes, strict=True)
        ]
        with self._lock:
            if self._meta().get(_CODE_DIM_KEY) is None:
                self._modify({_CODE_DIM_KEY: code_dim})
                self.code_dim = code_dim
            for part in chunked(len(ids), self.client.get_max_batch_size()):
                self.collection.upsert(
                    ids=ids[part],
                    embeddings=vectors[part],
                    documents=documents[part] if documents is not None else None,
                    metadatas=metas[part],
                )
            self._bump_generation()
            if self._index is not None:
                self._index.upsert(ids, codes)

    def delete(
        self, ids: Sequence[str] | None = None, *, where: Mapping[str, Any] | None = None
    ) -> None:
        """Delete records by id and/or metadata filter."""
        if ids is None and where is None:
            raise InputError(
                "Pass ids or where to delete; use a new collection to empty the store."
            )
        checked_where = validate_where(where)
        with self._lock:
            doomed = list(ids or [])
            if checked_where is not None:
                doomed += self.collection.get(
                    ids=list(ids) if ids else None, where=checked_where, include=[]
                )["ids"]
            for part in chunked(len(doomed), self.client.get_max_batch_size()):
                self.collection.delete(ids=doomed[part])
            self._bump_generation()
            if self._index is not None:
                self._index.delete(doomed)

    def count(self) -> int:
        """Number of records."""
        return int(self.collection.count())

    def get(self, ids: Sequence[str]) -> list[Hit]:
        """Records by id (missing ids are skipped), with score 1.0."""
        found = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [
            Hit(i, 1.0, doc, _user_meta(meta))
            for i, doc, meta in zip(
                found["ids"], found["documents"], found["metadatas"], strict=True
            )
        ]

    def _reembed(self, fingerprint: str) -> None:
        """Embed every document again into a new collection, then swap it in by name.

        The old collection stays whole until the new one is complete, so a crash midway loses
        nothing (a leftover ``<name>.reembed`` collection is replaced on the next attempt).
        """
        assert self.embedder is not None
        name = self.collection.name
        logger.info("Re-embedding collection %s with %s", name, fingerprint)
        everything = self.collection.get(include=["documents", "metadatas"])
        staging = f"{name}.reembed"
        if staging in {
            c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()
        }:
            self.client.delete_collection(staging)
        old = self.collection
        self.collection = self.client.create_collection(
            staging, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        self._modify({_FINGERPRINT_KEY: fingerprint})
        self.code_dim = None
        if everything["ids"]:
            vectors = l2_normalize(
                self.embedder.embed_documents([d or "" for d in everything["documents"]])
            )
            metas = [_user_meta(m) or None for m in everything["metadatas"]]
            self._write(everything["ids"], vectors, everything["documents"], metas)
        self.client.delete_collection(old.name)
        self.collection.modify(name=name)
        self._index = None

    # -- searching ------------------------------------------------------------------------------

    def query(
        self,
        query: str | Sequence[float] | np.ndarray[Any, Any],
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        search: SearchMode | None = None,
        rescore: RescoreMode | None = None,
        oversample: int | None = None,
    ) -> list[Hit]:
        """The ``k`` records most similar to ``query`` (text or vector), best first.

        Raises:
            FilterError: A malformed filter.
            InputError: A vector of the wrong dimension, or non-finite.
        """
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}.")
        search, rescore = search or self.search, rescore or self.rescore
        oversample = oversample or self.oversample
        _check_modes(search, rescore, oversample)
        where_ok, doc_ok = validate_where(where), validate_where_document(where_document)
        vector = self._query_vector(query)
        if self.count() == 0:
            return []
        if search == "float":
            return self._float_query(vector, k, where_ok, doc_ok)
        return self._binary_query(vector, k, where_ok, doc_ok, rescore, oversample)

    def _query_vector(self, query: str | Sequence[float] | np.ndarray[Any, Any]) -> Vector:
        if isinstance(query, str):
            if self.embedder is None:
                raise InputError("This store has no embedder: pass the query as a vector.")
            embedded: Vector = l2_normalize(self.embedder.embed_query([query]))[0]
            return embedded
        checked = validate_records(
            ["query"],
            embeddings=[list(np.asarray(query, dtype=np.float64).ravel())],
            dim=self._vector_dim(),
        )
        assert checked.embeddings is not None
        vector: Vector = l2_normalize(np.array(checked.embeddings, dtype=np.float32))[0]
        return vector

    def _float_query(
        self, vector: np.ndarray[Any, Any], k: int, where: Any, where_document: Any
    ) -> list[Hit]:
        found = self.collection.query(
            query_embeddings=[vector],
            n_results=k,
            where=where,
            where_document=where_document,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(i, 1.0 - float(d), doc, _user_meta(meta))
            for i, d, doc, meta in zip(
                found["ids"][0],
                found["distances"][0],
                found["documents"][0],
                found["metadatas"][0],
                strict=True,
            )
        ]

    def _binary_query(
        self,
        vector: np.ndarray[Any, Any],
        k: int,
        where: Any,
        where_document: Any,
        rescore: RescoreMode,
        oversample: int,
    ) -> list[Hit]:
        index = self._fresh_index()
        allowed = None
        if where is not None or where_document is not None:
            allowed = index.mask_for(
                self.collection.get(where=where, where_document=where_document, include=[])["ids"]
            )
        code_dim = index.dim
        width = k if rescore == "none" else k * oversample
        candidates, distances = index.search(
            pack_signs(vector[None, :code_dim]), width, allowed=allowed
        )
        ids, hamming = candidates[0], distances[0]
        if not ids:
            return []
        if rescore == "none":
            scores = {
                i: math.cos(math.pi * float(h) / code_dim)
                for i, h in zip(ids, hamming, strict=True)
            }
            return self._hits(ids, scores, k, with_vectors=False)
        if rescore == "asymmetric":
            values = asymmetric_scores(vector[None, :code_dim], index.codes_of(ids), code_dim)[0]
            return self._hits(
                ids, dict(zip(ids, map(float, values), strict=True)), k, with_vectors=False
            )
        return self._hits(ids, None, k, with_vectors=True, query=vector)

    def _hits(
        self,
        ids: list[str],
        scores: dict[str, float] | None,
        k: int,
        *,
        with_vectors: bool,
        query: Any = None,
    ) -> list[Hit]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_vectors else [])
        found = self.collection.get(ids=ids, include=include)  # deleted ids drop out here
        if with_vectors:
            vectors = l2_normalize(np.asarray(found["embeddings"], dtype=np.float32))
            scores = dict(zip(found["ids"], map(float, vectors @ query), strict=True))
        assert scores is not None
        hits = [
            Hit(i, scores[i], doc, _user_meta(meta))
            for i, doc, meta in zip(
                found["ids"], found["documents"], found["metadatas"], strict=True
            )
        ]
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:k]

    def _fresh_index(self) -> BinaryIndex:
        """The in-memory index, rebuilt from Chroma when missing or changed by another client."""
        with self._lock:
            generation = self._meta().get(_GENERATION_KEY)
            stale = (
                self._index is None
                or generation != self._seen_generation
                or len(self._index) != self.count()
            )
            if stale:
                self._index = self._rebuild_index()
                self._seen_generation = generation
            assert self._index is not None
            return self._index

    def _rebuild_index(self) -> BinaryIndex:
        code_dim = self.code_dim
        if code_dim is None:
            raise StoreError(
                f"Collection {self.collection.name!r} has no {_CODE_DIM_KEY}; add records through ChromaStore."
            )
        index = BinaryIndex(code_dim)
        all_ids: list[str] = []
        all_codes = []
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                break
            for record_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                text = (meta or {}).get(CODE_KEY)
                if not isinstance(text, str):
                    raise StoreError(
                        f"Record {record_id!r} has no binary code; it was written without ragkit. "
                        "Re-add it through ChromaStore."
                    )
                all_ids.append(record_id)
                all_codes.append(decode_code(text, index.words))
            offset += len(page["ids"])
        codes = np.vstack(all_codes) if all_codes else np.zeros((0, index.words), dtype=np.uint64)
        index.replace_all(all_ids, codes)
        logger.debug(
            "Rebuilt binary index of %s: %d codes, %d bytes",
            self.collection.name,
            len(index),
            index.nbytes(),
        )
        return index


def _user_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (meta or {}).items() if not key.startswith("ragkit:")}


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"Collection name {name!r} is invalid: use 3-512 characters from letters, digits, '.', '_' "
            "and '-', starting and ending with a letter or digit."
        )


def _check_modes(search: str, rescore: str, oversample: int) -> None:
    if search not in ("float", "binary"):
        raise ConfigError(f"search must be 'float' or 'binary', got {search!r}.")
    if rescore not in ("float", "asymmetric", "none"):
        raise ConfigError(f"rescore must be 'float', 'asymmetric' or 'none', got {rescore!r}.")
    if oversample < 1:
        raise ConfigError(f"oversample must be at least 1, got {oversample}.")
