"""Remote models with the local ones' interface: embedders and rerankers over HTTP.

Each embedder follows :class:`~ragkit.embed.Embedder` (plus ``aembed_documents`` /
``aembed_query``), applies the catalogue's query/document prompts for the model it names, and
returns L2-normalised float32 vectors, so it plugs into ``ChromaStore(embedder=...)``.

Usage::

    from ragkit.remote import OpenAIEmbedder

    embedder = OpenAIEmbedder("intfloat/e5-small-v2", base_url="http://127.0.0.1:8000/v1")
    embedder.embed_query("how much memory do binary codes save?")  # "query: " added here
"""

from __future__ import annotations

from ragkit.remote._base import RemoteEmbedder
from ragkit.remote.ollama import OllamaEmbedder
from ragkit.remote.openai import OpenAIEmbedder
from ragkit.remote.rerank import RemoteReranker, TEIReranker
from ragkit.remote.tei import TEIEmbedder

__all__ = [
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "RemoteEmbedder",
    "RemoteReranker",
    "TEIEmbedder",
    "TEIReranker",
]
