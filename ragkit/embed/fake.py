"""HashEmbedder: deterministic vectors from a hash, for tests and examples that need no model."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from ragkit.embed.base import check_texts
from ragkit.embed.pooling import l2_normalize
from ragkit.errors import ConfigError
from ragkit.types import Matrix, Vector

__all__ = ["HashEmbedder"]


class HashEmbedder:
    """Unit vectors seeded by the sha256 of (prompt + text): equal texts give equal vectors.

    It has no notion of meaning; use it where a test or example needs an embedder and no model.

    Usage::

        embedder = HashEmbedder(dim=8)
        assert (embedder.embed_query("a") == embedder.embed_documents(["a"])[0]).all()
    """

    def __init__(self, dim: int = 64, *, query_prompt: str = "", document_prompt: str = "") -> None:
        if dim < 1:
            raise ConfigError(f"dim must be at least 1, got {dim}.")
        self._dim = dim
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt

    @property
    def dim(self) -> int:
        """Dimension of the vectors."""
        return self._dim

    def _vector(self, text: str) -> Vector:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32)

    def _embed(self, texts: list[str], prompt: str) -> Matrix:
        if not texts:
            return np.empty((0, self._dim), dtype=np.float32)
        return l2_normalize(np.stack([self._vector(prompt + t) for t in texts]))

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """Embed documents (with the document prompt)."""
        return self._embed(check_texts(texts), self.document_prompt)

    @overload
    def embed_query(self, text: str) -> Vector: ...

    @overload
    def embed_query(self, text: Sequence[str]) -> Matrix: ...

    def embed_query(self, text: str | Sequence[str]) -> Vector | Matrix:
        """Embed one query (``(dim,)``) or several (``(n, dim)``) with the query prompt."""
        if isinstance(text, str):
            single: Vector = self._embed([text], self.query_prompt)[0]
            return single
        return self._embed(check_texts(text, what="queries"), self.query_prompt)

    def fingerprint(self) -> dict[str, Any]:
        """What determines the vectors."""
        return {
            "model": "hash",
            "dim": self._dim,
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
        }
