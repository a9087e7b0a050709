"""LangChain integration for ragkit: embeddings, vector store, pipeline retriever, reranking.

The vector store scores with true cosines; the retriever runs ragkit's whole pipeline.

Usage::

    from langchain_ragkit import RagkitEmbeddings, RagkitRerank, RagkitVectorStore

    store = RagkitVectorStore(RagkitEmbeddings(model_name="BAAI/bge-small-en-v1.5"), path="./index")
    store.add_texts(["Binary codes take 32x less memory."])
    docs = store.as_retriever(search_type="mmr").invoke("how small are binary codes?")
"""

from __future__ import annotations

from langchain_ragkit._bridge import LangChainEmbedder, as_ragkit_embedder
from langchain_ragkit.embeddings import RagkitEmbeddings
from langchain_ragkit.rerank import RagkitRerank
from langchain_ragkit.retrievers import RagkitRetriever, passage_to_document
from langchain_ragkit.vectorstores import RagkitVectorStore, cosine_to_relevance

__all__ = [
    "LangChainEmbedder",
    "RagkitEmbeddings",
    "RagkitRerank",
    "RagkitRetriever",
    "RagkitVectorStore",
    "as_ragkit_embedder",
    "cosine_to_relevance",
    "passage_to_document",
]
