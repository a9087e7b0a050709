"""BM25Index: BM25 (bm25s) over a ChromaStore's documents, kept in step with the store.

Chroma stays the system of record. The index keeps each record's terms (:class:`TermTable`)
and builds bm25s's score matrix from them when a search finds it out of date. It follows the
store the way the binary index does: writes through the same :class:`ChromaStore` are applied
as they happen (:meth:`ChromaStore.subscribe`), and any other client's write shows up as a
changed write counter (:meth:`ChromaStore.generation`), after which the index compares its
text hashes with Chroma's records and re-tokenizes only those that changed.

The terms are saved beside the binary index (``<index_dir>/lexical/<collection id>.npz``,
replaced atomically) whenever the matrix is rebuilt, and by :meth:`BM25Index.save`; a reopened
store loads them instead of tokenizing every document again. A damaged or foreign file is
ignored and rebuilt from Chroma.

Usage::

    lexical = BM25Index(store)  # English stopwords and stems
    lexical.search("binary codes memory", k=10, where={"topic": "memory"})  # [(id, bm25), ...]
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragkit.config import get_settings
from ragkit.errors import ConfigError, InputError
from ragkit.lexical.analyzer import Analyzer, import_bm25s
from ragkit.lexical.snapshot import SnapshotError, read_snapshot, write_snapshot
from ragkit.lexical.terms import TermTable
from ragkit.store.chroma import ChromaStore, StoreWrite
from ragkit.store.filters import validate_where, validate_where_document

__all__ = ["BM25Index", "indexed_text"]

logger = logging.getLogger(__name__)

# Records per Chroma read. Chroma's native side keeps what a big read allocated: reading
# 9,065 SciFact chunks in pages of 5,000 left the process 100-140 MB larger, in pages of 500
# 10-40 MB, and was no slower.
_PAGE = 500
_TITLE_KEY = "title"


class BM25Index:
    """BM25 over the documents (and ``title`` metadata) of a :class:`ChromaStore`. Thread-safe.

    Args:
        store: The store whose records are indexed; the index follows its writes.
        analyzer: How text becomes terms (default: English stopwords, Snowball stems).
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
        method: bm25s's BM25 variant: ``"lucene"``, ``"robertson"``, ``"atire"``,
            ``"bm25l"`` or ``"bm25+"``.
        directory: Folder for the saved terms (default: the store's ``index_dir``, or
            ``RAGKIT_INDEX_DIR`` / ``<cache_dir>/index``).
        persist: Save the terms, so a reopened store need not tokenize everything again.

    Raises:
        DependencyError: The ``lexical`` extra (bm25s, PyStemmer) is not installed.
    """

    def __init__(
        self,
        store: ChromaStore,
        *,
        analyzer: Analyzer | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        method: str = "lucene",
        directory: str | Path | None = None,
        persist: bool = True,
    ) -> None:
        if not k1 >= 0 or not 0 <= b <= 1:
            raise ConfigError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}.")
        self.store = store
        self.analyzer = analyzer or Analyzer()
        self.k1, self.b, self.method = k1, b, method
        folder = Path(directory) if directory else store.index_dir or get_settings().index_folder
        self.path = folder / "lexical" / f"{store.collection.id}.npz" if persist else None
        self._lock = threading.RLock()
        self._table = TermTable()
        self._seen: int | None = None  # the store generation the table matches
        self._matrix: Any = None  # bm25s.BM25 built from the table; None when out of date
        self._unsaved = False
        self._load()
        store.subscribe(self._on_write)

    def __len__(self) -> int:
        return len(self._table)

    def close(self) -> None:
        """Save unsaved terms and stop following the store."""
        self.save()
        self.store.unsubscribe(self._on_write)

    def __enter__(self) -> BM25Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def nbytes(self) -> int:
        """Bytes of the term table and the BM25 matrix (vocabulary dicts not counted)."""
        with self._lock:
            held = self._table.nbytes()
            if self._matrix is not None:
                held += sum(self._matrix.scores[k].nbytes for k in ("data", "indices", "indptr"))
            return held

    # -- following the store ---------------------------------------------------------------

    def refresh(self) -> None:
        """Catch up with the store now (searches do this themselves)."""
        with self._lock:
            generation = self.store.generation()
            if generation != self._seen:
                self._sync(generation)
            if self._matrix is None and len(self._table):
                self._matrix = self._build()
                self.save()

    def save(self) -> None:
        """Write the terms to :attr:`path` (atomically), if anything changed since the last save."""
        with self._lock:
            if self.path is None or not self._unsaved or self._seen is None:
                return
            header = {
                "collection": self.store.collection.id.hex,
                "generation": self._seen,
                "analyzer": self.analyzer.describe(),
            }
            write_snapshot(self.path, header, self._table.arrays())
            self._unsaved = False

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            header, arrays = read_snapshot(self.path)
            if header.get("collection") != self.store.collection.id.hex:
                raise SnapshotError("saved for another collection")
            if header.get("analyzer") != self.analyzer.describe():
                raise SnapshotError("saved with other analyzer settings")
            table = TermTable.from_arrays(arrays)
            generation = int(header["generation"])
        except (SnapshotError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            if self.path.exists():
                logger.warning("Ignoring saved BM25 terms (%s); rebuilding from Chroma", exc)
            return
        self._table, self._seen = table, generation

    def _on_write(self, write: StoreWrite) -> None:
        """Apply a write made through the store, unless another client wrote since we looked."""
        with self._lock:
            if write.before != self._seen:
                self._seen = None  # the next search compares with Chroma
                return
            try:
                if write.deleted:
                    self._table.delete(write.ids)
                else:
                    self._apply(write)
            except Exception:  # the write is in Chroma already: recover from it later
                logger.exception("BM25 index could not follow a write; it will resync")
                self._seen = None
                return
            self._seen, self._matrix, self._unsaved = write.after, None, True

    def _apply(self, write: StoreWrite) -> None:
        documents = write.documents or [None] * len(write.ids)
        metadatas = write.metadatas or [None] * len(write.ids)
        texts = dict.fromkeys(write.ids, "")
        kept = [i for i, doc in zip(write.ids, documents, strict=True) if doc is None]
        for record_id, doc, meta in zip(write.ids, documents, metadatas, strict=True):
            if doc is not None:
                texts[record_id] = indexed_text(doc, meta)
        if kept:  # the stored text stays: read it (and the new metadata) back from Chroma
            found = self.store.collection.get(ids=kept, include=["documents", "metadatas"])
            for record_id, doc, meta in zip(
                found["ids"], found["documents"], found["metadatas"], strict=True
            ):
                texts[record_id] = indexed_text(doc, meta)
        self._update(list(texts), list(texts.values()))

    def _sync(self, generation: int) -> None:
        """Make the table match Chroma: drop gone ids, re-tokenize new or changed texts."""
        collection = self.store.collection
        every_id = collection.get(include=[])["ids"]
        gone = set(self._table.ids()).difference(every_id)
        self._table.delete(sorted(gone))
        for first in range(0, len(every_id), _PAGE):
            page = collection.get(
                ids=every_id[first : first + _PAGE], include=["documents", "metadatas"]
            )
            texts = [
                indexed_text(doc, meta)
                for doc, meta in zip(page["documents"], page["metadatas"], strict=True)
            ]
            self._update(page["ids"], texts)
        self._seen, self._matrix, self._unsaved = generation, None, True
        logger.debug("BM25 index of %s synced: %d records", collection.name, len(self._table))

    def _update(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Upsert the records whose text differs from the one indexed (or is new)."""
        hashes = _hashes(texts)
        held = self._table.hashes_of(ids)
        changed = [n for n, old in enumerate(held) if old != int(hashes[n])]
        if not changed:
            return
        terms = self.analyzer.terms([texts[n] for n in changed])
        self._table.upsert([ids[n] for n in changed], hashes[changed], terms)

    def _build(self) -> Any:
        token_ids, vocabulary = self._table.corpus()
        matrix = import_bm25s().BM25(k1=self.k1, b=self.b, method=self.method)
        matrix.index((token_ids, vocabulary), create_empty_token=False, show_progress=False)
        return matrix

    # -- searching ---------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` records with the highest BM25 score for ``query``, best first.

        Only records sharing a term with the query are returned (so a query of stopwords
        only finds nothing); equal scores are ordered by id.

        Raises:
            InputError: The query is not a non-empty string.
            ConfigError: ``k`` is below 1.
            FilterError: A malformed filter.
        """
        if not isinstance(query, str) or not query.strip():
            raise InputError(f"The query must be a non-empty string, got {query!r}.")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be an integer of at least 1, got {k!r}.")
        where_ok, doc_ok = validate_where(where), validate_where_document(where_document)
        with self._lock:
            self.refresh()
            vocabulary = self._table.vocabulary
            term_ids = [vocabulary[t] for t in self.analyzer.terms([query])[0] if t in vocabulary]
            if not term_ids or self._matrix is None:
                return []
            mask = None
            if where_ok is not None or doc_ok is not None:
                allowed = self.store.collection.get(
                    where=where_ok, where_document=doc_ok, include=[]
                )["ids"]
                mask = np.zeros(len(self._table), dtype=np.float32)
                rows = self._table.rows_of(allowed)
                mask[rows[rows >= 0]] = 1.0
            scores = self._matrix.get_scores_from_ids(term_ids, weight_mask=mask)
            return self._top(scores, k)

    def _top(self, scores: npt.NDArray[np.floating[Any]], k: int) -> list[tuple[str, float]]:
        matched = np.flatnonzero(scores > 0)
        if len(matched) > k:  # everything scoring at least the k-th best, ties included
            kth = np.partition(scores[matched], len(matched) - k)[len(matched) - k]
            matched = matched[scores[matched] >= kth]
        ranked = sorted(
            zip(self._table.ids_at(matched.tolist()), scores[matched].tolist(), strict=True),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return [(record_id, float(score)) for record_id, score in ranked[:k]]


def indexed_text(document: str | None, metadata: Mapping[str, Any] | None) -> str:
    """What BM25 indexes for a record: its ``title`` metadata (if a string), then its text."""
    title = (metadata or {}).get(_TITLE_KEY)
    parts = [title] if isinstance(title, str) and title.strip() else []
    return "\n".join([*parts, document or ""])


def _hashes(texts: Sequence[str]) -> npt.NDArray[np.uint64]:
    digests = (hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest() for t in texts)
    hashes: npt.NDArray[np.uint64] = np.frombuffer(b"".join(digests), dtype=np.uint64).copy()
    return hashes
