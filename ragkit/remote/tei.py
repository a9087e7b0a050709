"""TEIEmbedder: Hugging Face Text Embeddings Inference's ``POST /embed``.

Usage::

    from ragkit.remote import TEIEmbedder

    embedder = TEIEmbedder("BAAI/bge-small-en-v1.5", base_url="http://localhost:8080")
    query = embedder.embed_query("how much memory do binary codes save?")
"""

from __future__ import annotations

from typing import Any, ClassVar

from ragkit.remote._base import _COMMON_KEY, RemoteEmbedder

__all__ = ["TEIEmbedder"]


class TEIEmbedder(RemoteEmbedder):
    """Embeddings from a Text Embeddings Inference server's ``/embed``.

    TEI serves one model; ``model`` names it, for its prompts and the fingerprint. ``base_url``
    is the server root (default ``http://localhost:8080``); the key (TEI's ``--api-key``)
    comes from ``RAGKIT_REMOTE_API_KEY`` or ``TEI_API_KEY``. Batches hold at most 32 texts,
    TEI's default ``--max-client-batch-size``. Texts over the model's window are refused
    (HTTP 413/422) unless ``extra_body={"truncate": True}``. ``dimensions`` cuts the vectors
    here. See :class:`~ragkit.remote.RemoteEmbedder` for every argument.
    """

    provider: ClassVar[str] = "Text Embeddings Inference"
    path: ClassVar[str] = "/embed"
    default_base_url: ClassVar[str] = "http://localhost:8080"
    base_url_env: ClassVar[tuple[str, ...]] = ()
    api_key_env: ClassVar[tuple[str, ...]] = (_COMMON_KEY, "TEI_API_KEY")
    max_batch_size: ClassVar[int] = 32

    def _body(self, texts: list[str]) -> dict[str, Any]:
        return {"inputs": texts, "normalize": True}

    def _rows(self, payload: Any) -> list[Any]:
        if not isinstance(payload, list):
            raise TypeError(f"expected a JSON list of vectors, got {type(payload).__name__}")
        return payload
