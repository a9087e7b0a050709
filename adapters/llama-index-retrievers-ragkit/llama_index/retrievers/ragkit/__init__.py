"""ragkit retrieval (quantized ONNX embedders, a binary Chroma first stage, reranking) for LlamaIndex.

Usage::

    from llama_index.retrievers.ragkit import RagkitRetriever
    retriever = RagkitRetriever(ragkit.Retriever(store, k=5))
    nodes = retriever.retrieve("how do binary codes save memory?")
"""

from __future__ import annotations

from llama_index.retrievers.ragkit.base import (
    HIDDEN_METADATA_KEYS,
    RagkitRetriever,
    passage_to_node,
)
from llama_index.retrievers.ragkit.filters import combine_where, metadata_filters_to_where

__all__ = [
    "HIDDEN_METADATA_KEYS",
    "RagkitRetriever",
    "combine_where",
    "metadata_filters_to_where",
    "passage_to_node",
]
