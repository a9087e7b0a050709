"""OpenAIEmbedder: any OpenAI-compatible ``POST /v1/embeddings`` (OpenAI, vLLM, TEI, ragkit serve).

Usage::

    from ragkit.remote import OpenAIEmbedder

    embedder = OpenAIEmbedder("text-embedding-3-small", dimensions=256)  # OPENAI_API_KEY
    local = OpenAIEmbedder("BAAI/bge-small-en-v1.5", base_url="http://127.0.0.1:8000/v1")
    local.embed_query("how much memory do binary codes save?")  # bge's query instruction added
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

import numpy as np

from ragkit.remote._base import _COMMON_KEY, RemoteEmbedder

__all__ = ["OpenAIEmbedder"]


class OpenAIEmbedder(RemoteEmbedder):
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint.

    ``base_url`` is the API root ending in ``/v1`` (default ``OPENAI_BASE_URL``, then
    ``https://api.openai.com/v1``); the key comes from ``RAGKIT_REMOTE_API_KEY`` or
    ``OPENAI_API_KEY``. ``dimensions`` is sent to the server (Matryoshka / text-embedding-3);
    remove it with ``extra_body={"dimensions": None}`` for servers that refuse it, and the
    vectors are still cut here. ``extra_body={"encoding_format": "base64"}`` asks for the
    compact encoding. At most 2048 inputs per request (OpenAI's limit); 256 by default.
    See :class:`~ragkit.remote.RemoteEmbedder` for every argument.
    """

    provider: ClassVar[str] = "OpenAI-compatible"
    path: ClassVar[str] = "/embeddings"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    base_url_env: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL",)
    api_key_env: ClassVar[tuple[str, ...]] = (_COMMON_KEY, "OPENAI_API_KEY")
    max_batch_size: ClassVar[int] = 256

    def _body(self, texts: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        return body

    def _rows(self, payload: Any) -> list[Any]:
        items = sorted(payload["data"], key=lambda item: int(item["index"]))
        return [_decode(item["embedding"]) for item in items]


def _decode(embedding: Any) -> Any:
    """A float list as it is; a base64 string as the little-endian float32 it encodes."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding, validate=True), dtype="<f4")
    return embedding
