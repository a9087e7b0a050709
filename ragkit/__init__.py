"""ragkit: local, offline retrieval for RAG apps."""

from __future__ import annotations

from ragkit._version import __version__
from ragkit.catalog import ModelSpec, add_custom_model, get_model_spec, list_supported_models
from ragkit.config import RagkitSettings, get_settings
from ragkit.errors import (
    ChecksumError,
    ConfigError,
    DatasetError,
    DependencyError,
    DownloadError,
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
)

__all__ = [
    "ChecksumError",
    "ConfigError",
    "DatasetError",
    "DependencyError",
    "DownloadError",
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
    "__version__",
    "add_custom_model",
    "get_model_spec",
    "get_settings",
    "list_supported_models",
]
