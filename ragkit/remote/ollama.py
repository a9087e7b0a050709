"""OllamaEmbedder: Ollama's native ``POST /api/embed`` (batched input).

Usage::

    from ragkit.remote import OllamaEmbedder

    embedder = OllamaEmbedder("nomic-embed-text")  # nomic's search_query:/search_document: added
    vectors = embedder.embed_documents(["Binary codes take 32x less memory."])
"""

from __future__ import annotations

from typing import Any, ClassVar

from ragkit.remote._base import _COMMON_KEY, RemoteEmbedder

__all__ = ["OllamaEmbedder"]


class OllamaEmbedder(RemoteEmbedder):
    """Embeddings from Ollama's ``/api/embed``.

    ``base_url`` is the server root (default ``OLLAMA_HOST``, then ``http://localhost:11434``).
    Ollama names models with tags (``nomic-embed-text:latest``); the catalogue's prompts are
    found from the name without its tag. ``dimensions`` cuts the vectors here (Matryoshka),
    and ``extra_body`` passes Ollama options (``{"truncate": False, "keep_alive": "10m"}``).
    See :class:`~ragkit.remote.RemoteEmbedder` for every argument.
    """

    provider: ClassVar[str] = "Ollama"
    path: ClassVar[str] = "/api/embed"
    default_base_url: ClassVar[str] = "http://localhost:11434"
    base_url_env: ClassVar[tuple[str, ...]] = ("OLLAMA_HOST",)
    api_key_env: ClassVar[tuple[str, ...]] = (_COMMON_KEY, "OLLAMA_API_KEY")
    max_batch_size: ClassVar[int] = 64

    def _body(self, texts: list[str]) -> dict[str, Any]:
        return {"model": self.model, "input": texts}

    def _rows(self, payload: Any) -> list[Any]:
        rows: list[Any] = payload["embeddings"]
        return rows
