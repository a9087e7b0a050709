"""``RagkitEmbeddings``: ragkit's local ONNX embedders as LangChain ``Embeddings``."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ragkit import Embedder, TextEmbedder
from ragkit.types import Precision

__all__ = ["DEFAULT_MODEL", "RagkitEmbeddings"]

DEFAULT_MODEL = "BAAI/bge-small-en-v1.5"

_WRAPPING: ContextVar[bool] = ContextVar("_WRAPPING", default=False)
"""Set while :meth:`RagkitEmbeddings.from_embedder` builds a model (no TextEmbedder then)."""


class RagkitEmbeddings(BaseModel, Embeddings):
    """A ragkit :class:`~ragkit.TextEmbedder` behind LangChain's ``Embeddings``.

    ``embed_documents`` applies the model's document prompt and ``embed_query`` its query
    prompt (e5's ``passage: ``/``query: ``, the bge query instruction...), so documents and
    questions land where the model was trained to put them. Vectors are unit length: their
    dot product is the cosine similarity.

    Attributes:
        model_name: A ragkit catalogue id (downloaded once) or a local model folder.
        precision: ``"fp32"`` or ``"int8"`` (the repo's quantized file, or one built locally).
        dim: Matryoshka dimension (truncate, then renormalise); None keeps the model's.
        query_prompt: Overrides the model's query prompt ("" for none).
        document_prompt: Overrides the model's document prompt ("" for none).
        cache_dir: Where downloaded models live (default: ragkit's cache).
        offline: Never touch the network (default: ``RAGKIT_OFFLINE`` / ``HF_HUB_OFFLINE``).
        model_kwargs: Any other :class:`~ragkit.TextEmbedder` keyword (``batch_size``,
            ``threads``, ``truncation``, ``providers``...).

    Usage::

        embeddings = RagkitEmbeddings(model_name="intfloat/e5-small-v2", precision="int8")
        vectors = embeddings.embed_documents(["Binary codes take 32x less memory."])
        query = embeddings.embed_query("how much memory do binary codes save?")
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_name: str = DEFAULT_MODEL
    precision: Precision = "fp32"
    dim: int | None = Field(default=None, ge=1)
    query_prompt: str | None = None
    document_prompt: str | None = None
    cache_dir: str | None = None
    offline: bool | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)

    _embedder: Embedder = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _paths_as_str(cls, values: Any) -> Any:
        """Accept ``pathlib.Path`` for ``model_name`` and ``cache_dir``."""
        if isinstance(values, dict):
            return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
        return values

    def model_post_init(self, context: Any, /) -> None:
        """Build the ragkit embedder (model files load lazily, at the first call)."""
        if _WRAPPING.get():
            return
        self._embedder = TextEmbedder(
            self.model_name,
            precision=self.precision,
            dim=self.dim,
            query_prompt=self.query_prompt,
            document_prompt=self.document_prompt,
            cache_dir=self.cache_dir,
            offline=self.offline,
            **self.model_kwargs,
        )

    @classmethod
    def from_embedder(cls, embedder: Embedder) -> RagkitEmbeddings:
        """Wrap an existing ragkit embedder (a ``TextEmbedder``, ``HashEmbedder``...) as is.

        The fields then describe nothing: the embedder's own settings apply.
        """
        token = _WRAPPING.set(True)
        try:
            model = cls.model_construct(model_name=str(embedder.fingerprint().get("model", "")))
        finally:
            _WRAPPING.reset(token)
        model._embedder = embedder
        return model

    @property
    def embedder(self) -> Embedder:
        """The ragkit embedder doing the work (a ``ChromaStore`` can take it directly)."""
        return self._embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents with the model's document prompt.

        Args:
            texts: The documents.

        Returns:
            One unit-length vector per document.
        """
        if not texts:
            return []
        return [[float(x) for x in row] for row in self._embedder.embed_documents(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query with the model's query prompt.

        Args:
            text: The query.

        Returns:
            Its unit-length vector.
        """
        return [float(x) for x in self._embedder.embed_query(text)]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """:meth:`embed_documents` in a worker thread (ONNX Runtime releases the GIL)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """:meth:`embed_query` in a worker thread."""
        return await asyncio.to_thread(self.embed_query, text)
