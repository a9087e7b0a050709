"""Every exception ragkit raises on purpose.

One base class, so callers can catch everything ragkit means to raise::

    RagkitError
    ├── ConfigError (ValueError)            a setting or argument is invalid
    ├── InputError (ValueError)             bad data passed in (names the item)
    ├── DependencyError (ImportError)       an optional extra is not installed
    ├── ModelError
    │   ├── ModelNotFoundError (LookupError)  unknown model id (lists close matches)
    │   ├── ModelFileError                    a model file is missing or corrupt (names it)
    │   ├── ModelGraphError                   the ONNX graph has unexpected inputs/outputs
    │   └── ProviderError                     an ONNX Runtime provider could not be used
    ├── DownloadError
    │   ├── OfflineError                      offline mode and the file is not cached
    │   ├── RemoteAuthError                   the hub answered 401/403 (token missing/wrong)
    │   ├── RemoteNotFoundError (LookupError) the hub answered 404
    │   └── ChecksumError                     a downloaded file did not match its checksum
    ├── QuantizationError                   building an int8 model failed
    ├── DatasetError (ValueError)           a BEIR data set folder is malformed
    ├── FilterError (ValueError)            a metadata or document filter is malformed
    ├── LoaderError                         a file could not be loaded as a document (names it)
    │   └── UndecodableFileError (ValueError) the bytes are not valid in the file's encoding
    ├── ServiceError                        a remote model service (an LLM endpoint) failed
    │   ├── ServiceAuthError                  it answered 401/403 (API key missing or wrong)
    │   └── ServiceNotFoundError (LookupError) it answered 404 (no such model or endpoint)
    └── StoreError                          the vector store cannot do what was asked
        ├── EmbedderMismatchError             the collection was built with another embedder
        └── StoreLockedError                  another process is writing the persistent store
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "ConfigError",
    "DatasetError",
    "DependencyError",
    "DownloadError",
    "EmbedderMismatchError",
    "FilterError",
    "InputError",
    "LoaderError",
    "ModelError",
    "ModelFileError",
    "ModelGraphError",
    "ModelNotFoundError",
    "OfflineError",
    "ProviderError",
    "QuantizationError",
    "RagkitError",
    "RemoteAuthError",
    "RemoteNotFoundError",
    "ServiceAuthError",
    "ServiceError",
    "ServiceNotFoundError",
    "StoreError",
    "StoreLockedError",
    "UndecodableFileError",
]


class RagkitError(Exception):
    """Base class of every error ragkit raises on purpose."""


class ConfigError(RagkitError, ValueError):
    """A setting or argument has an invalid value."""


class InputError(RagkitError, ValueError):
    """Data passed in is not what the call accepts (the message names the offending item)."""


class DependencyError(RagkitError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class ModelError(RagkitError):
    """A model could not be found, loaded or run."""


class ModelNotFoundError(ModelError, LookupError):
    """No model by that name is known or present at that path."""


class ModelFileError(ModelError):
    """A model file is missing, unreadable or corrupt."""


class ModelGraphError(ModelError):
    """The ONNX graph does not have the inputs or outputs an embedder needs."""


class ProviderError(ModelError):
    """An ONNX Runtime execution provider was requested but cannot be used."""


class DownloadError(RagkitError):
    """A file could not be fetched from the model hub."""


class OfflineError(DownloadError):
    """Offline mode is on and a needed file is not in the cache."""


class RemoteAuthError(DownloadError):
    """The hub refused the request (401/403): the repo is gated or private, or the token is wrong."""


class RemoteNotFoundError(DownloadError, LookupError):
    """The hub has no such repo, revision or file (404)."""


class ChecksumError(DownloadError):
    """A downloaded file did not match its expected checksum."""


class QuantizationError(RagkitError):
    """An int8 model could not be built from the fp32 one."""


class DatasetError(RagkitError, ValueError):
    """A data set folder is missing files or holds malformed records."""


class FilterError(RagkitError, ValueError):
    """A metadata (``where``) or document (``where_document``) filter is malformed."""


class LoaderError(RagkitError):
    """A file could not be loaded as a document; the message and ``path`` name the file.

    Attributes:
        path: The file that failed.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class UndecodableFileError(LoaderError, ValueError):
    """A file's bytes are not valid in its encoding (UTF-8 unless one was given)."""


class ServiceError(RagkitError):
    """A remote model service (an OpenAI-compatible LLM endpoint) could not be used.

    Raised when it cannot be reached after the retries, times out, refuses the request or answers
    without a usable message; the message names the URL (never the API key).
    """


class ServiceAuthError(ServiceError):
    """The service refused the request (401/403): the API key is missing or wrong."""


class ServiceNotFoundError(ServiceError, LookupError):
    """The service has no such model, or no chat endpoint at that URL (404)."""


class StoreError(RagkitError):
    """The vector store cannot do what was asked."""


class EmbedderMismatchError(StoreError):
    """The collection was built with a different embedder (model, prompts, dim, ...)."""


class StoreLockedError(StoreError):
    """Another process holds the write lock of a persistent store."""
