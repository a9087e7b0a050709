"""Embedders: local ONNX models, late chunking, and a hash embedder for tests."""

from __future__ import annotations

from ragkit.embed.base import Embedder, EmbedStats
from ragkit.embed.fake import HashEmbedder
from ragkit.embed.late import late_chunk, late_chunk_documents
from ragkit.embed.onnx import TextEmbedder, Truncation
from ragkit.embed.tokens import TokenStates

__all__ = [
    "EmbedStats",
    "Embedder",
    "HashEmbedder",
    "TextEmbedder",
    "TokenStates",
    "Truncation",
    "late_chunk",
    "late_chunk_documents",
]
