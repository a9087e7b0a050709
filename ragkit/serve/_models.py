"""The models a server holds: embedders (prompts, Matryoshka ``dimensions``) and rerankers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from ragkit.embed.onnx import TextEmbedder
from ragkit.embed.pooling import l2_normalize, layer_norm, truncate_dim
from ragkit.rerank.cross_encoder import CrossEncoderReranker
from ragkit.serve._errors import APIError
from ragkit.types import Matrix

__all__ = ["ServedEmbedder", "ServedReranker"]

InputType = Literal["query", "document"]


@dataclass
class ServedEmbedder:
    """A TextEmbedder behind the API. Model runs are serialised (they use every core anyway)."""

    name: str
    embedder: TextEmbedder
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def dim(self) -> int:
        """Width of the vectors at full size."""
        return self.embedder.dim

    def prompt(self, input_type: InputType | None) -> str:
        """The prompt for ``input_type``; none when it is unset (OpenAI: embed the input as is)."""
        return self.embedder.spec.prompt_for(input_type) if input_type else ""

    def run(self, texts: list[str]) -> tuple[Matrix, int]:
        """Embed texts exactly as given (prompts already added); vectors and tokens."""
        with self._lock:
            vectors = self.embedder.embed_documents(texts, prompt="", show_progress_bar=False)
            return vectors, self.embedder.last_stats.tokens

    def check_dimensions(self, dimensions: int | None) -> None:
        """A 400 when ``dimensions`` is more than the model gives."""
        if dimensions is not None and dimensions > self.dim:
            raise APIError(
                400,
                f"'dimensions' is {dimensions}, but {self.name} gives {self.dim}-d vectors: "
                f"ask for at most {self.dim}.",
                param="dimensions",
                code="invalid_value",
            )

    def shorten(self, vectors: Matrix, dimensions: int | None) -> Matrix:
        """Matryoshka truncation to ``dimensions``, renormalised."""
        if dimensions is None or dimensions == vectors.shape[1]:
            return vectors
        if self.embedder.spec.layer_norm_before_truncate:
            vectors = layer_norm(vectors)
        return l2_normalize(truncate_dim(vectors, dimensions))

    def card(self) -> dict[str, Any]:
        """The ``/v1/models`` entry (OpenAI's fields, then ragkit's)."""
        spec = self.embedder.spec
        return {
            "id": self.name,
            "object": "model",
            "created": 0,
            "owned_by": "ragkit",
            "type": "embedding",
            "dim": self.dim,
            "max_tokens": spec.max_tokens,
            "query_prompt": spec.query_prompt,
            "document_prompt": spec.document_prompt,
        }


@dataclass
class ServedReranker:
    """A CrossEncoderReranker behind the API."""

    name: str
    reranker: CrossEncoderReranker
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run(self, query: str, documents: list[str]) -> tuple[list[float], int]:
        """Probabilities in input order, and tokens run."""
        with self._lock:
            scores = self.reranker.score(query, documents)
            return [float(s) for s in scores], self.reranker.last_stats.tokens

    def card(self) -> dict[str, Any]:
        """The ``/v1/models`` entry."""
        return {
            "id": self.name,
            "object": "model",
            "created": 0,
            "owned_by": "ragkit",
            "type": "rerank",
            "max_tokens": self.reranker.max_length,
        }
