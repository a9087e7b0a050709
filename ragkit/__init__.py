"""ragkit: local, offline retrieval for RAG apps.

Usage::

    from ragkit import TextEmbedder
    embedder = TextEmbedder("BAAI/bge-small-en-v1.5", precision="int8")
    scores = embedder.embed_documents(["a passage"]) @ embedder.embed_query("a question")
"""

from __future__ import annotations

from ragkit._version import __version__
from ragkit.catalog import (
    ModelSpec,
    RerankerSpec,
    add_custom_model,
    add_custom_reranker,
    get_model_spec,
    get_reranker_spec,
    list_supported_models,
    list_supported_rerankers,
)
from ragkit.chunking import Chunk, MarkdownChunker, RecursiveChunker, TokenChunker, TokenCounter
from ragkit.config import RagkitSettings, get_settings
from ragkit.embed import (
    Embedder,
    EmbedStats,
    HashEmbedder,
    TextEmbedder,
    TokenStates,
    late_chunk,
    late_chunk_documents,
)
from ragkit.errors import (
    ChecksumError,
    ConfigError,
    DatasetError,
    DependencyError,
    DownloadError,
    EmbedderMismatchError,
    FilterError,
    InputError,
    LoaderError,
    ModelError,
    ModelFileError,
    ModelGraphError,
    ModelNotFoundError,
    OfflineError,
    ProviderError,
    QuantizationError,
    RagkitError,
    RemoteAuthError,
    RemoteNotFoundError,
    ServiceAuthError,
    ServiceError,
    ServiceNotFoundError,
    StoreError,
    StoreLockedError,
    UndecodableFileError,
)
from ragkit.ingest import Indexer, IndexReport
from ragkit.lexical import BM25Index, hybrid_search, reciprocal_rank_fusion
from ragkit.loaders import Document, FolderLoader, LoadFailure, load_file
from ragkit.remote import (
    OllamaEmbedder,
    OpenAIEmbedder,
    RemoteEmbedder,
    RemoteReranker,
    TEIEmbedder,
    TEIReranker,
)
from ragkit.rerank import (
    CosineRelevance,
    CrossEncoderReranker,
    LLMReranker,
    maximal_marginal_relevance,
)
from ragkit.retrieval import Passage, Reranker, Retriever
from ragkit.store import AsyncChromaStore, ChromaStore, Hit

__all__ = [
    "AsyncChromaStore",
    "BM25Index",
    "ChecksumError",
    "ChromaStore",
    "Chunk",
    "ConfigError",
    "CosineRelevance",
    "CrossEncoderReranker",
    "DatasetError",
    "DependencyError",
    "Document",
    "DownloadError",
    "EmbedStats",
    "Embedder",
    "EmbedderMismatchError",
    "FilterError",
    "FolderLoader",
    "HashEmbedder",
    "Hit",
    "IndexReport",
    "Indexer",
    "InputError",
    "LLMReranker",
    "LoadFailure",
    "LoaderError",
    "MarkdownChunker",
    "ModelError",
    "ModelFileError",
    "ModelGraphError",
    "ModelNotFoundError",
    "ModelSpec",
    "OfflineError",
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "Passage",
    "ProviderError",
    "QuantizationError",
    "RagkitError",
    "RagkitSettings",
    "RecursiveChunker",
    "RemoteAuthError",
    "RemoteEmbedder",
    "RemoteNotFoundError",
    "RemoteReranker",
    "Reranker",
    "RerankerSpec",
    "Retriever",
    "ServiceAuthError",
    "ServiceError",
    "ServiceNotFoundError",
    "StoreError",
    "StoreLockedError",
    "TEIEmbedder",
    "TEIReranker",
    "TextEmbedder",
    "TokenChunker",
    "TokenCounter",
    "TokenStates",
    "UndecodableFileError",
    "__version__",
    "add_custom_model",
    "add_custom_reranker",
    "get_model_spec",
    "get_reranker_spec",
    "get_settings",
    "hybrid_search",
    "late_chunk",
    "late_chunk_documents",
    "list_supported_models",
    "list_supported_rerankers",
    "load_file",
    "maximal_marginal_relevance",
    "reciprocal_rank_fusion",
]
