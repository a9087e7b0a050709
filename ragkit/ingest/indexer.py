"""Ingestion: walk folders, chunk with the embedder's tokenizer, embed in batches, store.

Incremental and idempotent. Each file's state (hash, size, mtime, settings) is kept in the
store's manifest (:mod:`ragkit.ingest.manifest`): unchanged files are skipped without being
read (same size and mtime) or parsed (same hash), changed ones replaced, and with
``prune=True`` files gone from the folder are removed. Chunk ids are stable
(``<file>#<chunk>``, or ``<file>#<record>#<chunk>`` for JSONL lines), so re-writing a file
overwrites its chunks and an interrupted run, resumed, leaves no duplicates.

Usage::

    store = ChromaStore("docs", embedder=embedder, path="./index")
    report = Indexer(store, RecursiveChunker(embedder)).index(["docs/"], prune=True)
    report.files_indexed, report.chunks_written
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.chunking.base import BaseChunker
from ragkit.chunking.chunk import Chunk
from ragkit.embed.late import late_chunk_documents
from ragkit.embed.onnx import TextEmbedder
from ragkit.errors import ConfigError, LoaderError
from ragkit.ingest.manifest import FileState, Manifest
from ragkit.loaders._read import read_file
from ragkit.loaders.document import Document
from ragkit.loaders.folder import FolderLoader, LoadFailure, load_raw
from ragkit.store.chroma import ChromaStore
from ragkit.types import Matrix

__all__ = ["IndexReport", "Indexer", "chunk_metadata"]

logger = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What one :meth:`Indexer.index` run did.

    Attributes:
        files_seen: Supported files found under the paths.
        files_indexed: Files (re)chunked and written.
        files_unchanged: Files skipped as unchanged.
        files_pruned: Files removed because they are gone (``prune=True``).
        failures: Files that could not be loaded, each with its error; the rest still indexed.
        chunks_written: Chunks embedded and written.
        tokens: Tokens embedded (prompt and header included).
        seconds: Wall time.
    """

    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_pruned: int = 0
    failures: list[LoadFailure] = field(default_factory=list)
    chunks_written: int = 0
    tokens: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for ``--json``)."""
        return {
            "files_seen": self.files_seen,
            "files_indexed": self.files_indexed,
            "files_unchanged": self.files_unchanged,
            "files_pruned": self.files_pruned,
            "files_failed": len(self.failures),
            "failures": [{"path": str(f.path), "error": str(f.error)} for f in self.failures],
            "chunks_written": self.chunks_written,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Pending:
    """A file whose chunks wait in the batch."""

    state: FileState
    chunks: list[tuple[str, Chunk, dict[str, Any]]]  # (id, chunk, metadata)
    replaces: bool  # the store may hold chunks of an older version
    texts: dict[str, str] = field(default_factory=dict)  # document id -> text (late chunking)


class Indexer:
    """Indexes folders into a :class:`ChromaStore` with a chunker.

    Args:
        store: The store; its embedder embeds the chunks.
        chunker: Splits documents (build it from the same embedder, so chunks fit its window).
        markdown_chunker: Splits Markdown files instead (a :class:`MarkdownChunker` keeps
            each chunk's heading path).
        settings: Recorded in the manifest beside the chunking signature (``ragkit index``
            saves the embedder options there, for ``ragkit query``).
        batch_chunks: Chunks embedded and written together (across files).
        show_progress: A progress bar (files, chunks, tokens/s) on stderr.
        late_chunking: Embed each document whole and mean-pool each chunk's tokens
            (:func:`ragkit.embed.late.late_chunk`), so a chunk's vector knows its document.
            Contextual headers (``chunk.embed_text``) do not apply then: the document is the
            context. Needs a :class:`TextEmbedder` whose graph gives token states.

    Raises:
        ConfigError: The store has no embedder, or late chunking is asked of an embedder
            that is not a :class:`TextEmbedder`.
    """

    def __init__(
        self,
        store: ChromaStore,
        chunker: BaseChunker,
        *,
        markdown_chunker: BaseChunker | None = None,
        settings: Mapping[str, Any] | None = None,
        batch_chunks: int = 2048,
        show_progress: bool = False,
        late_chunking: bool = False,
    ) -> None:
        if store.embedder is None:
            raise ConfigError("Indexing needs a store with an embedder: ChromaStore(embedder=...).")
        if late_chunking and not isinstance(store.embedder, TextEmbedder):
            raise ConfigError(
                f"Late chunking needs a TextEmbedder (token states), not "
                f"{type(store.embedder).__name__}; drop late_chunking or use a TextEmbedder."
            )
        self.late_chunking = late_chunking
        self._late = store.embedder if isinstance(store.embedder, TextEmbedder) else None
        self.store, self.chunker = store, chunker
        self.markdown_chunker = markdown_chunker
        self.settings = dict(settings or {})
        self.embedder = store.embedder
        self.batch_chunks = batch_chunks
        self.show_progress = show_progress
        self.manifest = Manifest(store.client, store.collection.name)
        self._touched: list[FileState] = []
        self._reuse_ids: bool | None = None  # chunkers' token ids fit the embedder (found lazily)
        described: dict[str, Any] = {
            "chunker": _describe(chunker),
            "markdown": _describe(markdown_chunker) if markdown_chunker else None,
            "embedder": self.embedder.fingerprint(),
        }
        if late_chunking:  # only when on, so stores indexed before the option stay valid
            described["late_chunking"] = True
        self.signature = json.dumps(described, sort_keys=True)

    def index(self, paths: Sequence[str | Path], *, prune: bool = False) -> IndexReport:
        """Index every supported file under ``paths`` (folders or files).

        Raises:
            ConfigError: A path does not exist, or two paths give the same file id.
        """
        from tqdm import tqdm

        began = time.perf_counter()
        report = IndexReport()
        known = self.manifest.load()
        self._touched = []  # unchanged files with a new mtime: their states are saved at once
        files = list(self._walk(paths))
        report.files_seen = len(files)
        seen: set[str] = set()
        batch: list[_Pending] = []
        bar = tqdm(total=len(files), unit="file", disable=not self.show_progress, leave=True)

        def show() -> None:
            bar.set_postfix(_rates(report, began))

        try:
            for root, path, key in files:
                if key in seen:
                    raise ConfigError(
                        f"Two files have the id {key!r} (paths are relative to each folder "
                        "given): index those folders into separate stores, or give their parent."
                    )
                seen.add(key)
                pending = self._prepare(root, path, key, known.get(key), report)
                bar.update()
                if pending is None:
                    continue
                batch.append(pending)
                if sum(len(p.chunks) for p in batch) >= self.batch_chunks:
                    self._flush(batch, report, show)
                    batch = []
            self._flush(batch, report, show)
            self.manifest.save(self._touched)
            if prune:
                roots = {str(Path(p).resolve()) for p in paths}
                gone = [s for k, s in known.items() if k not in seen and s.root in roots]
                self._prune(gone, report)
        finally:
            bar.set_postfix(_rates(report, began))
            bar.close()
        self.manifest.save_settings({**self.settings, "signature": self.signature})
        report.seconds = time.perf_counter() - began
        return report

    # -- steps ---------------------------------------------------------------------------------

    def _walk(self, paths: Sequence[str | Path]) -> Iterator[tuple[Path, Path, str]]:
        """(root, file, key) for every supported file; the key is relative to its root."""
        for given in paths:
            root = Path(given).resolve()
            loader = FolderLoader(root)  # raises ConfigError for a missing path
            base = root.parent if root.is_file() else root
            for path in loader.files():
                yield root, path, path.relative_to(base).as_posix()

    def _prepare(
        self,
        root: Path,
        path: Path,
        key: str,
        old: FileState | None,
        report: IndexReport,
    ) -> _Pending | None:
        """The file's chunks, or None when it is unchanged or cannot be loaded.

        The file is read once: its bytes are hashed and, if changed, parsed from memory.
        """
        try:
            stat = path.stat()
        except OSError as exc:
            report.failures.append(LoadFailure(path, LoaderError(f"Cannot read {path}: {exc}")))
            return None
        current = old is not None and old.done and old.signature == self.signature
        if (
            current
            and old is not None
            and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
        ):
            report.files_unchanged += 1
            return None
        try:
            raw = read_file(path)
        except LoaderError as exc:
            report.failures.append(LoadFailure(path, exc))
            return None
        state = FileState(
            key, str(root), raw.sha256, stat.st_size, stat.st_mtime_ns, 0, self.signature
        )
        if current and old is not None and old.sha256 == raw.sha256:
            self._touched.append(replace(state, chunks=old.chunks))  # new mtime only
            report.files_unchanged += 1
            return None
        try:
            documents = load_raw(raw, key, encoding=None)
        except LoaderError as exc:
            logger.warning("Skipped %s: %s", path, exc)
            report.failures.append(LoadFailure(path, exc))
            return None
        chunks = [
            (_chunk_id(key, doc, chunk), chunk, chunk_metadata(key, doc, chunk))
            for doc, doc_chunks in zip(documents, self._chunk(documents), strict=True)
            for chunk in doc_chunks
        ]
        state = replace(state, chunks=len(chunks))
        texts = {doc.id: doc.text for doc in documents} if self.late_chunking else {}
        return _Pending(state, chunks, replaces=old is not None, texts=texts)

    def _chunk(self, documents: list[Document]) -> list[list[Chunk]]:
        """Each document's chunks, in order; a file of many documents chunks in threads."""
        out: list[list[Chunk]] = [[] for _ in documents]
        groups: dict[int, tuple[BaseChunker, list[int]]] = {}
        for row, doc in enumerate(documents):
            chunker = self._chunker_for(doc)
            groups.setdefault(id(chunker), (chunker, []))[1].append(row)
        for chunker, rows in groups.values():
            for row, chunks in zip(
                rows, chunker.chunk_many([documents[r] for r in rows]), strict=True
            ):
                out[row] = chunks
        return out

    def _chunker_for(self, doc: Document) -> BaseChunker:
        if self.markdown_chunker is not None and doc.metadata.get("format") in ("md", "html"):
            return self.markdown_chunker
        return self.chunker

    def _flush(
        self, batch: list[_Pending], report: IndexReport, on_rows: Callable[[], None] | None = None
    ) -> None:
        """Embed and write a batch: manifest pending, chunks, stale chunks out, manifest done.

        A batch over ``batch_chunks`` chunks (a large JSONL file) goes in slices of that size,
        sorted by length first so each slice pads as little as one call would; the files'
        states turn done only after the last slice is written. (Writing a slice in a thread
        while the next one embeds was measured slower on 2 cores: Chroma's insert competes
        with ONNX Runtime's threads.)
        """
        if not batch:
            return
        self.manifest.save([p.state.pending() for p in batch])
        rows = [row for pending in batch for row in pending.chunks]
        if not self.late_chunking:  # late chunking keeps each document's chunks together
            rows.sort(key=lambda row: -row[1].token_count)
        texts = {doc_id: text for pending in batch for doc_id, text in pending.texts.items()}
        for first in range(0, len(rows), self.batch_chunks):
            part = rows[first : first + self.batch_chunks]
            vectors = self._embed([chunk for _, chunk, _ in part], texts)
            self.store.add(
                [chunk_id for chunk_id, _, _ in part],
                documents=[chunk.text for _, chunk, _ in part],
                metadatas=[meta for _, _, meta in part],
                embeddings=vectors,
            )
            report.chunks_written += len(part)
            report.tokens += sum(chunk.token_count for _, chunk, _ in part)
            if on_rows is not None:
                on_rows()
        for pending in batch:
            if pending.replaces:  # drop chunks the new version no longer has
                fresh = {chunk_id for chunk_id, _, _ in pending.chunks}
                held = self.store.collection.get(where={"file": pending.state.key}, include=[])
                stale = [i for i in held["ids"] if i not in fresh]
                if stale:
                    self.store.delete(stale)
        self.manifest.save([p.state for p in batch])
        report.files_indexed += len(batch)

    def _embed(self, chunks: list[Chunk], texts: Mapping[str, str]) -> Matrix:
        """One vector per chunk: each alone, or late-chunked within its document."""
        if not self.late_chunking or self._late is None:
            measured = [chunk.token_ids for chunk in chunks if chunk.token_ids is not None]
            if self._late is not None and len(measured) == len(chunks):  # counted when chunked
                if self._reuses_ids(self._late):
                    return self._late.embed_token_ids(measured)
            return self.embedder.embed_documents([chunk.embed_text for chunk in chunks])
        # A document cut by the slice edge runs once per slice: correct, a little extra work.
        groups: dict[str, list[int]] = {}
        for row, chunk in enumerate(chunks):
            groups.setdefault(chunk.source_id, []).append(row)
        pooled = late_chunk_documents(
            self._late, [(texts[doc], [chunks[r] for r in rows]) for doc, rows in groups.items()]
        )
        vectors = np.empty((len(chunks), self._late.dim), dtype=np.float32)
        for rows, part in zip(groups.values(), pooled, strict=True):
            vectors[rows] = part
        return vectors

    def _reuses_ids(self, embedder: TextEmbedder) -> bool:
        """Whether the chunkers tokenise exactly as ``embedder`` does (then ids are reused)."""
        if self._reuse_ids is None:
            counter = embedder.token_counter()
            chunkers = [self.chunker] + [self.markdown_chunker] * bool(self.markdown_chunker)
            self._reuse_ids = all(
                c is not None and c.counter.same_tokens(counter) for c in chunkers
            )
        return self._reuse_ids

    def _prune(self, gone: list[FileState], report: IndexReport) -> None:
        for state in gone:
            self.store.delete(where={"file": state.key})
        self.manifest.remove(s.key for s in gone)
        report.files_pruned = len(gone)


def chunk_metadata(file_key: str, doc: Document, chunk: Chunk) -> dict[str, Any]:
    """What a stored chunk carries: where it comes from, for citations and expansion.

    ``file``, ``source`` (the document id), ``start``/``end`` (character offsets in the
    document), ``position``, ``tokens``, ``headings`` (the heading path as a JSON list),
    ``title``, and the loader's metadata (``path``, ``sha256``, ``format``...).
    """
    meta: dict[str, Any] = {key: value for key, value in doc.metadata.items()}
    meta.update(
        file=file_key,
        source=doc.id,
        start=chunk.start,
        end=chunk.end,
        position=chunk.position,
        tokens=chunk.token_count,
        headings=json.dumps(list(chunk.heading_path), ensure_ascii=False),
    )
    if doc.title:
        meta["title"] = doc.title
    return meta


def _chunk_id(file_key: str, doc: Document, chunk: Chunk) -> str:
    return f"{doc.id}#{chunk.position}" if doc.id else f"{file_key}#{chunk.position}"


def _describe(chunker: BaseChunker) -> dict[str, Any]:
    return {
        "kind": type(chunker).__name__,
        "chunk_size": chunker.chunk_size,
        "chunk_overlap": chunker.chunk_overlap,
        "header": chunker.header,
        "max_tokens": chunker.max_tokens,
    }


def _rates(report: IndexReport, began: float) -> dict[str, str]:
    seconds = max(time.perf_counter() - began, 1e-9)
    return {
        "chunks": f"{report.chunks_written:,}",
        "tok/s": f"{report.tokens / seconds:,.0f}",
    }
