"""Chroma integration for ragkit: an EmbeddingFunction backed by ragkit's local ONNX embedders.

Importing this package registers :class:`RagkitEmbeddingFunction` with Chroma under the name
``"ragkit"``, so collections created with it can be reopened without passing it again.
"""

from __future__ import annotations

from chroma_ragkit.embedding_function import RagkitEmbeddingFunction

__all__ = ["RagkitEmbeddingFunction", "__version__"]

__version__ = "0.1.0"
