"""``RagkitRerank``: ragkit's ONNX cross-encoders as a LangChain document compressor."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from ragkit import CrossEncoderReranker
from ragkit.rerank.cross_encoder import DEFAULT_RERANKER
from ragkit.types import Precision

__all__ = ["RagkitRerank"]


class RagkitRerank(BaseDocumentCompressor):
    """A ragkit :class:`~ragkit.CrossEncoderReranker` as LangChain's ``BaseDocumentCompressor``.

    Each document is scored against the query by the cross-encoder (a probability in [0, 1]);
    the best ``top_n`` come back, best first, each a copy with ``relevance_score`` in its
    metadata. Use it in a ``ContextualCompressionRetriever`` over a vector store retriever
    that fetches more candidates than ``top_n``.

    Attributes:
        model: A ragkit reranker catalogue id or a local cross-encoder folder.
        top_n: Documents kept.
        precision: ``"fp32"`` or ``"int8"``.
        score_threshold: Drop documents scoring below this (None keeps ``top_n``).
        model_kwargs: Other :class:`~ragkit.CrossEncoderReranker` keywords (``batch_size``,
            ``max_length``, ``cache_dir``, ``offline``...).

    Usage::

        reranker = RagkitRerank(model="BAAI/bge-reranker-base", top_n=3)
        best = reranker.compress_documents(documents, "how do binary codes save memory?")
        best[0].metadata["relevance_score"]
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), arbitrary_types_allowed=True)

    model: str = str(DEFAULT_RERANKER)
    top_n: int = Field(default=3, ge=1)
    precision: Precision = "fp32"
    score_threshold: float | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)

    _reranker: CrossEncoderReranker = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _paths_as_str(cls, values: Any) -> Any:
        """Accept a ``pathlib.Path`` for ``model``."""
        if isinstance(values, dict) and isinstance(values.get("model"), Path):
            return {**values, "model": str(values["model"])}
        return values

    def model_post_init(self, context: Any, /) -> None:
        """Build the ragkit reranker (its files load at the first call)."""
        self._reranker = CrossEncoderReranker(
            self.model, precision=self.precision, **self.model_kwargs
        )

    @property
    def reranker(self) -> CrossEncoderReranker:
        """The ragkit reranker doing the work."""
        return self._reranker

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The ``top_n`` documents most relevant to ``query``, best first.

        Args:
            documents: Candidates (for example a retriever's results).
            query: The question.
            callbacks: Not used (no LLM calls are made).

        Returns:
            Copies of the best documents with ``metadata["relevance_score"]`` (the
            cross-encoder's probability); the input documents are not modified.
        """
        if not documents:
            return []
        scores = self._reranker.score(query, [d.page_content for d in documents])
        order = sorted(range(len(documents)), key=lambda i: -float(scores[i]))
        kept: list[Document] = []
        for i in order[: self.top_n]:
            score = float(scores[i])
            if self.score_threshold is not None and score < self.score_threshold:
                break
            doc = documents[i]
            kept.append(
                doc.model_copy(update={"metadata": {**doc.metadata, "relevance_score": score}})
            )
        return kept

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """:meth:`compress_documents` in a worker thread."""
        return await asyncio.to_thread(self.compress_documents, documents, query, callbacks)
