"""``RagkitEmbedding``: a ragkit embedder as a LlamaIndex embedding model."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager

from ragkit import ConfigError, Embedder, TextEmbedder
from ragkit.config import get_settings
from ragkit.types import Precision

__all__ = ["DEFAULT_EMBED_BATCH_SIZE", "RagkitEmbedding"]

DEFAULT_EMBED_BATCH_SIZE = 64
"""Texts per LlamaIndex batch: ragkit sorts each batch by length and pads per ONNX run, so
larger batches cost no padding (its own ONNX batch size is the ``batch_size`` option)."""


class RagkitEmbedding(BaseEmbedding):
    """A ragkit embedder behind LlamaIndex's ``BaseEmbedding``, with the model's own prompts.

    Queries go through ``embed_query`` and documents through ``embed_documents``, so each
    side gets the prompt its model was trained with: e5's ``query: ``/``passage: ``, nomic's
    ``search_query: ``/``search_document: ``, the bge/arctic/mxbai query instruction, or what a
    local folder's ``config_sentence_transformers.json`` says. Vectors are unit length, so
    LlamaIndex's cosine similarity is the true cosine.

    Args:
        model_name: A catalogue id (``"BAAI/bge-small-en-v1.5"``) or a local model folder
            (default: ``RAGKIT_MODEL``, else ``BAAI/bge-small-en-v1.5``).
        precision: ``"fp32"`` or ``"int8"`` (the repo's quantized file, or one built and cached).
        dim: Matryoshka dimension: vectors are truncated and renormalised (default: full).
        query_prompt: Replaces the model's query prompt (``""``: none).
        document_prompt: Replaces the model's document prompt (``""``: none).
        embed_batch_size: Texts LlamaIndex hands over per call.
        embedder: An existing ragkit embedder (a ``TextEmbedder``, ``HashEmbedder``...) to
            use instead of building one, e.g. the one a ``ChromaStore`` was built with; the
            other model arguments must then be left unset.
        callback_manager: LlamaIndex callbacks (default: ``Settings.callback_manager``'s).
        num_workers: LlamaIndex's workers for ``get_text_embedding_batch``.
        **options: Other ``TextEmbedder`` options: ``batch_size``, ``max_batch_tokens``,
            ``threads``, ``providers``, ``cuda``, ``cache_dir``, ``offline``, ``max_tokens``,
            ``truncation``, ``lazy_load``...

    Raises:
        ConfigError: Model arguments together with ``embedder``, or bad ``TextEmbedder``
            options.
        ModelNotFoundError: Unknown model id.

    Usage::

        embed_model = RagkitEmbedding("intfloat/e5-small-v2", precision="int8")
        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
        nodes = index.as_retriever(similarity_top_k=5).retrieve("how small are binary codes?")
    """

    model_name: str = Field(
        default_factory=lambda: get_settings().model,
        description="Catalogue id or local folder of the ragkit embedding model.",
    )
    precision: Precision = Field(default="fp32", description='"fp32" or "int8" weights.')
    dim: int | None = Field(
        default=None, gt=0, description="Matryoshka dimension (None: the model's own)."
    )
    query_prompt: str | None = Field(
        default=None, description="Query prompt (None: the model's own)."
    )
    document_prompt: str | None = Field(
        default=None, description="Document prompt (None: the model's own)."
    )
    embed_batch_size: int = Field(
        default=DEFAULT_EMBED_BATCH_SIZE,
        gt=0,
        le=2048,
        description="Texts per batch handed to the embedder.",
    )

    _embedder: Embedder = PrivateAttr()

    def __init__(
        self,
        model_name: str | Path | None = None,
        *,
        precision: Precision = "fp32",
        dim: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
        embedder: Embedder | None = None,
        callback_manager: CallbackManager | None = None,
        num_workers: int | None = None,
        **options: Any,
    ) -> None:
        base = {key: options.pop(key) for key in list(options) if key in BaseEmbedding.model_fields}
        if embedder is not None:
            given = [
                name
                for name, value in (
                    ("model_name", model_name),
                    ("dim", dim),
                    ("query_prompt", query_prompt),
                    ("document_prompt", document_prompt),
                )
                if value is not None
            ]
            if precision != "fp32":
                given.append("precision")
            given.extend(sorted(options))
            if given:
                raise ConfigError(
                    f"RagkitEmbedding(embedder=...) takes its model from the embedder; "
                    f"{', '.join(given)} cannot be set as well."
                )
            fingerprint = embedder.fingerprint()
            model_name = str(fingerprint.get("model", type(embedder).__name__))
            precision = fingerprint.get("precision", "fp32")
            dim = embedder.dim
            query_prompt = fingerprint.get("query_prompt")
            document_prompt = fingerprint.get("document_prompt")
        else:
            model_name = str(model_name) if model_name is not None else get_settings().model
            embedder = TextEmbedder(
                model_name,
                precision=precision,
                dim=dim,
                query_prompt=query_prompt,
                document_prompt=document_prompt,
                **options,
            )
        fields: dict[str, Any] = {
            "model_name": model_name,
            "precision": precision,
            "dim": dim,
            "query_prompt": query_prompt,
            "document_prompt": document_prompt,
            "embed_batch_size": embed_batch_size,
            "num_workers": num_workers,
            **base,
        }
        if callback_manager is not None:
            fields["callback_manager"] = callback_manager
        super().__init__(**fields)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "RagkitEmbedding"

    @property
    def embedder(self) -> Embedder:
        """The ragkit embedder doing the work (to share with a ``ChromaStore``)."""
        return self._embedder

    def _get_query_embedding(self, query: str) -> Embedding:
        """The query's vector, with the model's query prompt."""
        vector: Embedding = self._embedder.embed_query(query).tolist()
        return vector

    def _get_text_embedding(self, text: str) -> Embedding:
        """A document's vector, with the model's document prompt."""
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: Sequence[str]) -> list[Embedding]:
        """Documents' vectors in input order, with the model's document prompt."""
        vectors: list[Embedding] = self._embedder.embed_documents(list(texts)).tolist()
        return vectors

    async def _aget_query_embedding(self, query: str) -> Embedding:
        """:meth:`_get_query_embedding` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> Embedding:
        """:meth:`_get_text_embedding` in a worker thread."""
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: Sequence[str]) -> list[Embedding]:
        """:meth:`_get_text_embeddings` in a worker thread."""
        return await asyncio.to_thread(self._get_text_embeddings, texts)
