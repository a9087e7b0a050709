"""Any LangChain ``Embeddings`` as a ragkit :class:`~ragkit.Embedder`, for ``ChromaStore``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_ragkit.embeddings import RagkitEmbeddings
from ragkit import Embedder, InputError
from ragkit.embed.base import check_texts
from ragkit.types import Matrix, Vector

__all__ = ["LangChainEmbedder", "as_ragkit_embedder"]

_FINGERPRINT_FIELDS = ("model", "model_name", "model_id", "deployment", "size", "dimensions")


class LangChainEmbedder:
    """A LangChain ``Embeddings`` behind ragkit's embedder protocol.

    LangChain embeddings apply their own prompts (if any) in ``embed_documents`` and
    ``embed_query``; this calls them and returns float32 arrays. The dimension is learned from
    the first vectors (or one probe query when it is needed first).

    Args:
        embeddings: The LangChain embeddings.
        dim: Their dimension, if known (saves the probe).
    """

    def __init__(self, embeddings: Embeddings, *, dim: int | None = None) -> None:
        self.embeddings = embeddings
        self._dim = dim

    def __repr__(self) -> str:
        return f"LangChainEmbedder({self.embeddings!r})"

    @property
    def dim(self) -> int:
        """Dimension of the vectors (one probe query if nothing was embedded yet)."""
        if self._dim is None:
            self._dim = len(self.embeddings.embed_query("dimension probe"))
        return self._dim

    def _matrix(self, rows: Sequence[Sequence[float]], count: int) -> Matrix:
        matrix = np.asarray(rows, dtype=np.float32)
        if count == 0:
            return np.empty((0, self._dim or 0), dtype=np.float32)
        if matrix.ndim != 2 or len(matrix) != count:
            raise InputError(
                f"{type(self.embeddings).__name__} returned {len(rows)} vectors for {count} "
                "texts (or vectors of unequal length)."
            )
        if self._dim is None:
            self._dim = int(matrix.shape[1])
        return matrix

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """The LangChain embeddings' ``embed_documents``, as an ``(n, dim)`` array."""
        items = check_texts(texts)
        rows = self.embeddings.embed_documents(items) if items else []
        return self._matrix(rows, len(items))

    @overload
    def embed_query(self, text: str) -> Vector: ...

    @overload
    def embed_query(self, text: Sequence[str]) -> Matrix: ...

    def embed_query(self, text: str | Sequence[str]) -> Vector | Matrix:
        """The LangChain embeddings' ``embed_query``: ``(dim,)``, or ``(n, dim)`` for a list."""
        if isinstance(text, str):
            single: Vector = self._matrix([self.embeddings.embed_query(text)], 1)[0]
            return single
        items = check_texts(text, what="queries")
        return self._matrix([self.embeddings.embed_query(t) for t in items], len(items))

    def fingerprint(self) -> dict[str, Any]:
        """The embeddings' class and the model-naming fields it has (no secrets)."""
        cls = type(self.embeddings)
        found: dict[str, Any] = {
            "model": "langchain",
            "class": f"{cls.__module__}.{cls.__qualname__}",
        }
        for name in _FINGERPRINT_FIELDS:
            value = getattr(self.embeddings, name, None)
            if isinstance(value, str | int | float | bool):
                found[name] = value
        return found


def as_ragkit_embedder(embeddings: Embeddings) -> Embedder:
    """The ragkit embedder for LangChain ``embeddings``.

    ``RagkitEmbeddings`` hand over their own ragkit embedder (its fingerprint and prompts);
    anything else is wrapped in a :class:`LangChainEmbedder`.
    """
    if isinstance(embeddings, RagkitEmbeddings):
        return embeddings.embedder
    return LangChainEmbedder(embeddings)
