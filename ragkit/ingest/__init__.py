"""Ingestion: folders to chunks to a store, incrementally (``ragkit index``).

Usage::

    from ragkit import ChromaStore, Indexer, RecursiveChunker, TextEmbedder

    embedder = TextEmbedder("BAAI/bge-small-en-v1.5")
    store = ChromaStore("docs", embedder=embedder, path="./index")
    Indexer(store, RecursiveChunker(embedder)).index(["docs/"], prune=True)
"""

from __future__ import annotations

from ragkit.ingest.indexer import Indexer, IndexReport, chunk_metadata
from ragkit.ingest.manifest import FileState, Manifest

__all__ = ["FileState", "IndexReport", "Indexer", "Manifest", "chunk_metadata"]
