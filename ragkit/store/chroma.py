"""ChromaStore: Chroma as the system of record, plus an exact binary first stage, rescored.

Chroma keeps ids, documents, metadata, the float vectors, and for each record its packed sign
code and an int8 copy of its vector; ragkit keeps the codes in memory (32x smaller than
float32), scans them exactly by Hamming distance, and rescores ``k * oversample`` candidates
with the float vectors (or the dequantized int8 copies) from Chroma, so results carry true
cosine similarities. Vectors can be kept at a Matryoshka dimension, optionally after a PCA
rotation fitted on the corpus (:mod:`ragkit.store.layout`).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ragkit.config import get_settings
from ragkit.embed.base import Embedder
from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError, EmbedderMismatchError, InputError, StoreError
from ragkit.store._lock import acquire_folder, release_folder
from ragkit.store.base import Hit
from ragkit.store.codes import pack_signs, sign_factors
from ragkit.store.fields import (
    CODE_KEY,
    FACTOR_KEY,
    INT8_KEY,
    decode_codes,
    decode_int8,
    decode_int8_rows,
    encode_code,
    encode_int8_rows,
    quantize_rows,
)
from ragkit.store.filters import validate_where, validate_where_document
from ragkit.store.index import BinaryIndex, RankBy
from ragkit.store.layout import LayoutRequest, Rotate, StoreLayout, load_layout
from ragkit.store.records import chunked, validate_records
from ragkit.types import Matrix, Vector

__all__ = ["ChromaStore", "RescoreMode", "SearchMode", "StoreWrite"]

logger = logging.getLogger(__name__)

SearchMode = Literal["float", "binary"]
RescoreMode = Literal["float", "int8", "asymmetric", "none"]

_FINGERPRINT_KEY = "ragkit:fingerprint"
_GENERATION_KEY = "ragkit:generation"
# Records per Chroma read. Chroma's native side keeps what a big read allocated: reading
# 9,065 SciFact chunks in pages of 5,000 left the process 100-140 MB larger, in pages of 500
# 10-40 MB, and was no slower.
_PAGE = 500
_OVERSAMPLE = 4  # candidates rescored per result, by default
_INT8_OVERSAMPLE = 2  # ... when the index's int8 cosines rank them before float rescoring


@dataclass(frozen=True)
class StoreWrite:
    """One write through a :class:`ChromaStore`, as the listeners it was given see it.

    Attributes:
        ids: The records upserted or deleted.
        documents: Their documents as given (None for deletes, or where the stored text stays).
        metadatas: Their user metadata as given (None for deletes, or when none was given).
        deleted: Whether the records were deleted.
        before: The collection's write counter (:meth:`ChromaStore.generation`) the write
            found; another client wrote in between if it is not the one the listener last saw.
        after: The counter once the write is recorded.
    """

    ids: list[str]
    documents: list[str | None] | None
    metadatas: list[dict[str, Any] | None] | None
    deleted: bool
    before: int
    after: int


class ChromaStore:
    """A Chroma collection (cosine space) with a binary index in front of it.

    Args:
        name: Collection name.
        embedder: Embeds documents and queries; None when the caller brings vectors.
        path: Folder of a persistent store (embedded ``PersistentClient``).
        client: Any Chroma client (``EphemeralClient``, ``HttpClient``...); overrides ``path``.
        search: ``"binary"`` (Hamming scan, then rescoring) or ``"float"`` (Chroma's HNSW).
        rescore: ``"float"`` (true cosine from Chroma's vectors), ``"int8"`` (the same from each
            record's dequantized int8 copy, with no float vectors read), ``"asymmetric"``
            (float query against the candidates' bits) or ``"none"`` (Hamming order; cosine
            estimated from the distance).
        oversample: Candidates rescored per result (default: 2 when int8 cosines rank the
            candidates and floats rescore them, which gave the same ids and scores as 4 on all
            1,109 SciFact queries at k=10 and k=20 in a quarter less time; 4 otherwise).
        funnel: The Hamming scan keeps ``funnel`` times as many candidates, which the
            asymmetric estimate (float query against their bits, held in memory) narrows
            down before rescoring; 1 turns it off. On SciFact with all-MiniLM-L6-v2,
            oversample 4 kept 98.8% of float NDCG@10 without the funnel and 99.9% with
            ``funnel=2``, reading 40 vectors per query from Chroma (docs/benchmarks.md).
        dim: Dimension of the vectors kept in Chroma (default: the embedder's); without a
            rotation, the leading dimensions (right for Matryoshka models).
        code_dim: Bits per code: the first ``code_dim`` dimensions of the embedder's vector
            (default: all of them). Short codes first, longer vectors to rescore.
        rotate: ``"pca"`` fits a rotation onto the corpus's principal axes on the first batch
            written, applied before cutting to ``dim`` (for models not trained for
            Matryoshka), or a fitted :class:`~ragkit.store.rotation.PcaRotation`.
        whiten: With a rotation, divide each axis by its variance to this power
            (default 0.1; 0 is a pure rotation).
        int8_rows: Keep every record's int8 vector in the index (``dim`` bytes a record), so
            the Hamming candidates are ranked by a near-exact cosine before the best
            ``k * oversample`` are rescored; wide candidate lists then cost little and reach
            high recall on large stores. Off: candidates are ranked by the asymmetric estimate.
        candidates: Hamming candidates per query when the index keeps int8 vectors (default:
            1,000 plus 1% of the records, at least ``k * oversample * funnel``: recall@10
            vs exact float search 0.996 at 100k and 1M tiled SciFact vectors in
            docs/benchmarks.md); ignored without int8 rows.
        memory_map: Keep the index's ids and int8 vectors in memory-mapped temporary files
            (paged in on demand, gone with the process), so only the codes (50 bytes a 384-bit
            record) stay resident; False keeps everything in RAM.
        index_dir: Folder for those files (default: ``RAGKIT_INDEX_DIR``, or
            ``<cache_dir>/index``).
        reembed: If the collection was built with another embedder, re-embed its documents
            instead of raising :class:`EmbedderMismatchError`.

    ``dim``, ``code_dim`` and the rotation are fixed when the first records are written and
    recorded in the collection; reopening it with other values is a :class:`ConfigError`.

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
        oversample: int | None = None,
        funnel: int = 2,
        dim: int | None = None,
        code_dim: int | None = None,
        rotate: Rotate = None,
        whiten: float | None = None,
        int8_rows: bool = True,
        candidates: int | None = None,
        memory_map: bool = True,
        index_dir: str | Path | None = None,
        reembed: bool = False,
    ) -> None:
        import chromadb
        from chromadb.config import Settings

        _check_modes(search, rescore, oversample, funnel, candidates)
        _check_name(name)
        self._request = LayoutRequest(dim=dim, code_dim=code_dim, rotate=rotate, whiten=whiten)
        self.embedder = embedder
        self.search, self.rescore = search, rescore
        self.oversample, self.funnel = oversample, funnel
        self.int8_rows, self.candidates = int8_rows, candidates
        self.index_dir: Path | None = None
        if memory_map:
            self.index_dir = Path(index_dir) if index_dir else get_settings().index_folder
        self._lock_key: str | None = None
        if client is not None and is_async_client(client):
            raise ConfigError(
                "ChromaStore takes a blocking Chroma client; for chromadb.AsyncHttpClient use "
                "`await AsyncChromaStore.open(name, client=async_client, ...)`."
            )
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
            self._index: BinaryIndex | None = None
            self._seen_generation: int | None = None
            self._listeners: list[Callable[[StoreWrite], None]] = []
            self.layout: StoreLayout | None = None
            self._check_fingerprint(reembed)
            self._load_layout(self._meta())
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

    def _load_layout(self, meta: Mapping[str, Any]) -> StoreLayout | None:
        """Read the collection's layout (once fixed, it never changes) and check the request."""
        if self.layout is None:
            self.layout = load_layout(self.client, meta, self._one_stored_dim)
            if self.layout is not None:
                self._request.check(self.layout, self.collection.name)
        return self.layout

    def _one_stored_dim(self) -> int | None:
        found = self.collection.get(limit=1, include=["embeddings"]).get("embeddings")
        return len(found[0]) if found is not None and len(found) else None

    @property
    def code_dim(self) -> int | None:
        """Bits per code (None until the first records fix the layout)."""
        return self.layout.code_dim if self.layout is not None else self._request.code_dim

    def _modify(self, changes: Mapping[str, Any]) -> None:
        meta = self._meta()
        meta.update(changes)
        meta.pop("hnsw:space", None)  # configuration owns the space; metadata may not repeat it
        self.collection.modify(metadata=meta)

    def _bump_generation(self, changes: Mapping[str, Any] | None = None) -> int:
        """Record a write (and ``changes``) in one metadata update that other clients see.

        Returns:
            The write counter as it was before.
        """
        before = int(self._meta().get(_GENERATION_KEY, 0))
        if before != self._seen_generation:
            self._index = None  # another client wrote since it was built: rebuild it
        self._modify({**(changes or {}), _GENERATION_KEY: before + 1})
        self._seen_generation = before + 1
        return before

    def generation(self) -> int:
        """The collection's write counter: every write through any ragkit client bumps it."""
        return int(self._meta().get(_GENERATION_KEY, 0))

    def subscribe(self, listener: Callable[[StoreWrite], None]) -> None:
        """Call ``listener`` after each write through this store (under its write lock).

        Side indexes (:class:`ragkit.lexical.bm25.BM25Index`) follow the writes this way;
        writes by other clients show up as a changed :meth:`generation`.
        """
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[StoreWrite], None]) -> None:
        """Stop calling ``listener`` (given to :meth:`subscribe`)."""
        self._listeners.remove(listener)

    def _notify(self, write: StoreWrite) -> None:
        for listener in list(self._listeners):
            listener(write)

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
        A known id's metadata is replaced, not merged; without ``documents`` its stored text
        stays. Everything is validated before anything is written.

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
        """Dimension of the vectors the store is given: the embedder's, or the recorded one."""
        if self.embedder is not None:
            return self.embedder.dim
        layout = self.layout or self._load_layout(self._meta())
        return layout.input_dim if layout is not None else None

    def _write(
        self,
        ids: list[str],
        vectors: Matrix,
        documents: list[str | None] | None,
        metadatas: list[dict[str, Any] | None] | None,
    ) -> None:
        with self._lock:
            meta = self._meta()
            changes: dict[str, Any] = {}
            layout = self._load_layout(meta)
            if layout is None:  # the first write fixes the layout
                layout = self._request.fit(vectors)
                changes |= layout.save(self.client)
            code_input = layout.code_input(vectors)
            stored = layout.stored(vectors)
            int8_codes, int8_scales = quantize_rows(stored)
            int8_rows = int8_codes if self.int8_rows else None
            codes, factors = pack_signs(code_input), sign_factors(code_input)
            copies = encode_int8_rows(int8_codes, int8_scales)
            fields = [
                {CODE_KEY: encode_code(code), FACTOR_KEY: float(factor), INT8_KEY: copy}
                for code, factor, copy in zip(codes, factors, copies, strict=True)
            ]
            users = metadatas or [None] * len(ids)
            for part in chunked(len(ids), self.client.get_max_batch_size()):
                metas = [dict(m or {}) | f for m, f in zip(users[part], fields[part], strict=True)]
                self.collection.upsert(
                    ids=ids[part],
                    embeddings=stored[part],
                    documents=documents[part] if documents is not None else None,
                    metadatas=self._replacing(ids[part], metas),
                )
            self.layout = layout
            before = self._bump_generation(changes)
            if self._index is not None:
                self._index.upsert(ids, codes, factors, int8_rows)
            self._notify(StoreWrite(ids, documents, metadatas, False, before, before + 1))

    def _replacing(self, ids: list[str], metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Metadata that replaces what the ids hold, rather than merging into it.

        Chroma's upsert merges keys: old keys the new metadata lacks are set to None, which
        Chroma deletes.
        """
        old = self.collection.get(ids=ids, include=["metadatas"])
        held = dict(zip(old["ids"], old["metadatas"], strict=True))
        return [
            {key: None for key in (held.get(i) or {}) if key not in m} | m
            for i, m in zip(ids, metas, strict=True)
        ]

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
            before = self._bump_generation()
            if self._index is not None:
                self._index.delete(doomed)
            self._notify(StoreWrite(doomed, None, None, True, before, before + 1))

    def count(self) -> int:
        """Number of records."""
        return int(self.collection.count())

    def get(self, ids: Sequence[str]) -> list[Hit]:
        """Records by id (missing ids are skipped), with score 1.0."""
        found = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [
            Hit(i, 1.0, doc, user_metadata(meta))
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
        self.layout = None  # the new collection fits its own layout (and rotation)
        if everything["ids"]:
            vectors = l2_normalize(
                self.embedder.embed_documents([d or "" for d in everything["documents"]])
            )
            metas = [user_metadata(m) or None for m in everything["metadatas"]]
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
        funnel: int | None = None,
        candidates: int | None = None,
    ) -> list[Hit]:
        """The ``k`` records most similar to ``query`` (text or vector), best first.

        ``search``, ``rescore``, ``oversample``, ``funnel`` and ``candidates`` override the
        store's settings for this query.

        Raises:
            FilterError: A malformed filter.
            InputError: A vector of the wrong dimension, or non-finite.
        """
        return self._search(
            query, k, where, where_document, search, rescore, oversample, funnel, candidates
        )

    def query_scores(
        self,
        query: str | Sequence[float] | np.ndarray[Any, Any],
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        search: SearchMode | None = None,
        rescore: RescoreMode | None = None,
        oversample: int | None = None,
        funnel: int | None = None,
        candidates: int | None = None,
    ) -> list[tuple[str, float]]:
        """:meth:`query`'s ids and scores alone: no documents or metadata are read.

        For callers that fuse or cut the ranking before they need the text (hybrid search
        reads text for its final ``k`` only). A record deleted by another client since the
        index was refreshed may still appear; reading it then finds nothing.

        Raises:
            FilterError: A malformed filter.
            InputError: A vector of the wrong dimension, or non-finite.
        """
        hits = self._search(
            query,
            k,
            where,
            where_document,
            search,
            rescore,
            oversample,
            funnel,
            candidates,
            text=False,
        )
        return [(hit.id, hit.score) for hit in hits]

    def _search(
        self,
        query: str | Sequence[float] | np.ndarray[Any, Any],
        k: int,
        where: Mapping[str, Any] | None,
        where_document: Mapping[str, Any] | None,
        search: SearchMode | None,
        rescore: RescoreMode | None,
        oversample: int | None,
        funnel: int | None,
        candidates: int | None,
        *,
        text: bool = True,
    ) -> list[Hit]:
        """The ranking of :meth:`query`; with ``text=False`` hits carry no document or metadata."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}.")
        search, rescore = search or self.search, rescore or self.rescore
        oversample = self.oversample if oversample is None else oversample
        funnel = self.funnel if funnel is None else funnel
        candidates = self.candidates if candidates is None else candidates
        _check_modes(search, rescore, oversample, funnel, candidates)
        where_ok, doc_ok = validate_where(where), validate_where_document(where_document)
        vector = self._query_vector(query)
        layout = self.layout or self._load_layout(self._meta())
        if layout is None:  # nothing written through ragkit yet
            if self.count() == 0:
                return []
            raise StoreError(
                f"Collection {self.collection.name!r} has records but no ragkit layout; "
                "it was written without ragkit: add its records through ChromaStore."
            )
        if search == "float":
            return self._float_query(layout.stored(vector[None])[0], k, where_ok, doc_ok, text)
        index = self._fresh_index()
        if len(index) == 0:
            return []
        return self._binary_query(
            index,
            vector,
            layout,
            k,
            where_ok,
            doc_ok,
            rescore,
            oversample,
            funnel,
            candidates,
            text,
        )

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
        self, vector: np.ndarray[Any, Any], k: int, where: Any, where_document: Any, text: bool
    ) -> list[Hit]:
        found = self.collection.query(
            query_embeddings=[vector],
            n_results=k,
            where=where,
            where_document=where_document,
            include=["documents", "metadatas", "distances"] if text else ["distances"],
        )
        if not text:
            return [
                Hit(i, 1.0 - float(d), None, {})
                for i, d in zip(found["ids"][0], found["distances"][0], strict=True)
            ]
        return [
            Hit(i, 1.0 - float(d), doc, user_metadata(meta))
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
        index: BinaryIndex,
        vector: Vector,
        layout: StoreLayout,
        k: int,
        where: Any,
        where_document: Any,
        rescore: RescoreMode,
        oversample: int | None,
        funnel: int,
        candidates: int | None,
        text: bool = True,
    ) -> list[Hit]:
        if oversample is None:  # int8 cosines rank nearly exactly: fewer floats to read
            int8_ranked = index.int8_dim is not None and rescore == "float"
            oversample = _INT8_OVERSAMPLE if int8_ranked else _OVERSAMPLE
        allowed = None
        if where is not None or where_document is not None:
            allowed = index.mask_for(
                self.collection.get(where=where, where_document=where_document, include=[])["ids"]
            )
        code_query = l2_normalize(layout.code_input(vector[None]))[0]
        stored_query = layout.stored(vector[None])[0]
        shortlist = k * oversample
        by: RankBy
        if rescore == "none":
            width, shortlist, by = k, k, "hamming"
        elif rescore == "asymmetric":
            width, by = shortlist, "signs"
        elif index.int8_dim is not None:
            width = candidates or max(shortlist * funnel, _auto_candidates(len(index)))
            by = "int8"
            if rescore == "int8":
                shortlist = k  # the index's int8 cosines are the final scores
        else:
            width, by = shortlist * funnel, "signs"
        ids, scores = index.shortlist(
            code_query,
            stored_query,
            width=max(width, shortlist),
            keep=shortlist,
            by=by,
            allowed=allowed,
        )
        if not ids:
            return []
        if rescore in ("none", "asymmetric") or (by == "int8" and rescore == "int8"):
            final = [float(v) for v in scores]
            return self._hits(ids, k, scores=final, text=text)  # final scores
        return self._hits(ids, k, rescore=rescore, query=stored_query, text=text)

    def _hits(
        self,
        ids: list[str],
        k: int,
        *,
        scores: list[float] | None = None,
        rescore: RescoreMode = "none",
        query: Vector | None = None,
        text: bool = True,
    ) -> list[Hit]:
        """The best ``k`` of ``ids``: by the given scores, or rescored against ``query``.

        With ``text=False`` no document or metadata is read (hits carry None and ``{}``).
        """
        if query is not None and rescore == "float" and len(ids) > k:
            # Rescore from the vectors alone, then read text and metadata for the k kept:
            # Chroma's get costs per record and field (80 records with all three: ~24 ms;
            # their vectors, then 20 records' text and metadata: ~13 ms).
            found = self.collection.get(ids=ids, include=["embeddings"])
            cosines = l2_normalize(np.asarray(found["embeddings"], dtype=np.float32)) @ query
            ranked = sorted(
                zip(found["ids"], map(float, cosines), strict=True), key=lambda p: (-p[1], p[0])
            )[:k]
            ids, scores, query = [i for i, _ in ranked], [s for _, s in ranked], None
        if not text and query is None:
            assert scores is not None
            ranked = sorted(zip(ids, scores, strict=True), key=lambda p: (-p[1], p[0]))[:k]
            return [Hit(i, score, None, {}) for i, score in ranked]
        rescoring = query is not None and rescore == "float"
        include = ["documents", "metadatas"] + (["embeddings"] if rescoring else [])
        found = self.collection.get(ids=ids, include=include)  # deleted ids drop out here
        if query is not None:
            if rescore == "float":
                vectors = np.asarray(found["embeddings"], dtype=np.float32)
            else:
                dim = len(query)
                vectors = np.array([decode_int8(_int8_of(m), dim) for m in found["metadatas"]])
            by_id = dict(zip(found["ids"], map(float, l2_normalize(vectors) @ query), strict=True))
        else:
            assert scores is not None
            by_id = dict(zip(ids, scores, strict=True))
        hits = [
            Hit(i, by_id[i], doc, user_metadata(meta))
            for i, doc, meta in zip(
                found["ids"], found["documents"], found["metadatas"], strict=True
            )
        ]
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:k]

    def _fresh_index(self) -> BinaryIndex:
        """The in-memory index, rebuilt from Chroma when missing or changed by another client.

        Every ragkit write bumps the collection's write counter, so one cheap metadata read
        tells whether the index is current (Chroma's ``count()`` costs ~10 ms at 100k records).
        """
        with self._lock:
            meta = self._meta()
            generation = meta.get(_GENERATION_KEY)
            stale = self._index is None or generation != self._seen_generation
            if stale:
                self._load_layout(meta)
                self._index = self._rebuild_index()
                self._seen_generation = generation
            assert self._index is not None
            return self._index

    def _rebuild_index(self) -> BinaryIndex:
        code_dim = self.code_dim
        if code_dim is None:
            raise StoreError(
                f"Collection {self.collection.name!r} has no ragkit layout; add records through ChromaStore."
            )
        layout = self.layout
        int8_dim = layout.dim if self.int8_rows and layout is not None else None
        index = BinaryIndex(code_dim, int8_dim=int8_dim, directory=self.index_dir)
        # All ids in one call, then pages by id: Chroma's offset paging costs O(offset) per
        # page (a 5,000-record page at offset 95,000 took 3x one at 0), by-id pages stay flat.
        every_id = self.collection.get(include=[])["ids"]
        for first in range(0, len(every_id), _PAGE):  # straight into the index, page by page
            page = self.collection.get(ids=every_id[first : first + _PAGE], include=["metadatas"])
            metas = [meta or {} for meta in page["metadatas"]]
            named = list(zip(page["ids"], metas, strict=True))
            texts = [_code_of(record_id, meta) for record_id, meta in named]
            factors = [_factor_of(record_id, meta) for record_id, meta in named]
            int8 = None
            if int8_dim is not None:
                int8 = decode_int8_rows([_int8_of(meta) for meta in metas], int8_dim)
            index.extend(  # Chroma's ids are unique: no lookups needed
                page["ids"],
                decode_codes(texts, index.words),
                np.array(factors, dtype=np.float32),
                int8,
            )
        index.compact()
        logger.debug(
            "Rebuilt binary index of %s: %d codes, %d bytes",
            self.collection.name,
            len(index),
            index.nbytes(),
        )
        return index


def is_async_client(client: Any) -> bool:
    """Whether ``client`` is one of Chroma's asyncio clients."""
    from chromadb.api import AsyncClientAPI

    return isinstance(client, AsyncClientAPI)


def _code_of(record_id: str, meta: Mapping[str, Any]) -> str:
    text = meta.get(CODE_KEY)
    if not isinstance(text, str):
        raise StoreError(
            f"Record {record_id!r} has no binary code; it was written without ragkit. "
            "Re-add it through ChromaStore."
        )
    return text


def _factor_of(record_id: str, meta: Mapping[str, Any]) -> float:
    factor = meta.get(FACTOR_KEY)
    if not isinstance(factor, (int, float)) or not 0 < factor <= 1.0001:
        raise StoreError(
            f"Record {record_id!r} has no valid {FACTOR_KEY!r} (written by an older ragkit?); "
            "re-add it through ChromaStore."
        )
    return float(factor)


def _int8_of(meta: Mapping[str, Any] | None) -> str:
    text = (meta or {}).get(INT8_KEY)
    if not isinstance(text, str):
        raise StoreError(
            "A record has no int8 copy (written by an older ragkit or without it); "
            "use rescore='float', or re-add the records through ChromaStore."
        )
    return text


def user_metadata(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """A record's metadata without ragkit's own fields (codes, int8 copies)."""
    return {key: value for key, value in (meta or {}).items() if not key.startswith("ragkit:")}


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"Collection name {name!r} is invalid: use 3-512 characters from letters, digits, '.', '_' "
            "and '-', starting and ending with a letter or digit."
        )


def _auto_candidates(records: int) -> int:
    """Hamming candidates ranked by int8 cosine when none are asked for: 1,000 + 1% of records.

    Sign bits rank near neighbours less well as a store grows, so the list grows with it. On
    SciFact embeddings tiled with noise this kept recall@10 vs exact float search at 0.996
    (100k, 2,000 candidates) and 0.996-1.0 (1M, 10,000-20,000); on Gaussian draws shaped like
    them, the hard case, 0.95 at 100k (docs/benchmarks.md). At 1M it reads 4 MB of int8 rows.
    """
    return _CANDIDATE_BASE + math.ceil(records * _CANDIDATE_SHARE)


_CANDIDATE_BASE, _CANDIDATE_SHARE = 1_000, 0.01


def _check_modes(
    search: str, rescore: str, oversample: int | None, funnel: int, candidates: int | None = None
) -> None:
    if search not in ("float", "binary"):
        raise ConfigError(f"search must be 'float' or 'binary', got {search!r}.")
    if rescore not in ("float", "int8", "asymmetric", "none"):
        raise ConfigError(
            f"rescore must be 'float', 'int8', 'asymmetric' or 'none', got {rescore!r}."
        )
    for name, value in (("oversample", oversample), ("funnel", funnel), ("candidates", candidates)):
        if name in ("candidates", "oversample") and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be an integer of at least 1, got {value!r}.")
