"""ragkit: local, offline retrieval for RAG apps.

Usage::

    from ragkit import TextEmbedder
    embedder = TextEmbedder("BAAI/bge-small-en-v1.5", precision="int8")
    scores = embedder.embed_documents(["a passage"]) @ embedder.embed_query("a question")
"""

from __future__ import annotations

from ragkit._version import __version__
from ragkit.catalog import ModelSpec, add_custom_model, get_model_spec, list_supported_models
from ragkit.config import RagkitSettings, get_settings
from ragkit.embed import Embedder, EmbedStats, HashEmbedder, TextEmbedder
from ragkit.errors import (
    ChecksumError,
    ConfigError,
    DatasetError,
    DependencyError,
    DownloadError,
    EmbedderMismatchError,
    FilterError,
    InputError,
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
    StoreError,
    StoreLockedError,
)
from ragkit.store import AsyncChromaStore, ChromaStore, Hit

__all__ = [
    "AsyncChromaStore",
    "ChecksumError",
    "ChromaStore",
    "ConfigError",
    "DatasetError",
    "DependencyError",
    "DownloadError",
    "EmbedStats",
    "Embedder",
    "EmbedderMismatchError",
    "FilterError",
    "HashEmbedder",
    "Hit",
    "InputError",
    "ModelError",
    "ModelFileError",
    "ModelGraphError",
    "ModelNotFoundError",
    "ModelSpec",
    "OfflineError",
    "ProviderError",
    "QuantizationError",
    "RagkitError",
    "RagkitSettings",
    "RemoteAuthError",
    "RemoteNotFoundError",
    "StoreError",
    "StoreLockedError",
    "TextEmbedder",
    "__version__",
    "add_custom_model",
    "get_model_spec",
    "get_settings",
    "list_supported_models",
]
