"""Chunkers that count with the embedder's own tokenizer and never exceed its window.

Usage::

    from ragkit import MarkdownChunker, TextEmbedder

    embedder = TextEmbedder("BAAI/bge-small-en-v1.5")
    chunks = MarkdownChunker(embedder, header="headings").chunk(text, source_id="guide.md")
    vectors = embedder.embed_documents([c.embed_text for c in chunks])  # nothing truncated
"""

from __future__ import annotations

from ragkit.chunking.base import BaseChunker, DocumentLike, SupportsTokenCounter, TokenizerSource
from ragkit.chunking.chunk import Chunk, HeaderMode
from ragkit.chunking.counter import TokenCounter
from ragkit.chunking.markdown import Heading, MarkdownChunker, markdown_headings
from ragkit.chunking.recursive import RecursiveChunker
from ragkit.chunking.token import TokenChunker

__all__ = [
    "BaseChunker",
    "Chunk",
    "DocumentLike",
    "HeaderMode",
    "Heading",
    "MarkdownChunker",
    "RecursiveChunker",
    "SupportsTokenCounter",
    "TokenChunker",
    "TokenCounter",
    "TokenizerSource",
    "markdown_headings",
]
