"""Loaders: text, Markdown, HTML, PDF and JSONL (BEIR) files as documents to chunk.

Usage::

    from ragkit import FolderLoader, MarkdownChunker

    loader = FolderLoader("docs/")
    chunks = list(MarkdownChunker(embedder).chunk_documents(loader))
    loader.failures  # files skipped (undecodable, malformed), each with its error
"""

from __future__ import annotations

from ragkit.loaders.document import Document, MetadataValue
from ragkit.loaders.folder import SUPPORTED_SUFFIXES, FolderLoader, LoadFailure, load_file
from ragkit.loaders.html import html_to_text

__all__ = [
    "Document",
    "FolderLoader",
    "LoadFailure",
    "MetadataValue",
    "SUPPORTED_SUFFIXES",
    "html_to_text",
    "load_file",
]
