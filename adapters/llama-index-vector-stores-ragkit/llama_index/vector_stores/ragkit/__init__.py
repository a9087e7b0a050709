"""A LlamaIndex vector store over ragkit's ChromaStore: a binary first stage, true cosine scores.

Usage::

    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.vector_stores.ragkit import RagkitVectorStore

    vector_store = RagkitVectorStore(path="./index")
    index = VectorStoreIndex.from_documents(
        documents, storage_context=StorageContext.from_defaults(vector_store=vector_store)
    )
"""

from __future__ import annotations

from llama_index.vector_stores.ragkit.base import DEFAULT_COLLECTION, RagkitVectorStore
from llama_index.vector_stores.ragkit.filters import combine_where, metadata_filters_to_where

__all__ = [
    "DEFAULT_COLLECTION",
    "RagkitVectorStore",
    "combine_where",
    "metadata_filters_to_where",
]
