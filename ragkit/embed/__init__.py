"""Embedders: local ONNX models, and a hash embedder for tests."""

from __future__ import annotations

from ragkit.embed.base import Embedder, EmbedStats
from ragkit.embed.fake import HashEmbedder
from ragkit.embed.onnx import TextEmbedder, Truncation

__all__ = ["EmbedStats", "Embedder", "HashEmbedder", "TextEmbedder", "Truncation"]
