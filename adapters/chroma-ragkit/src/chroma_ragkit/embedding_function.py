"""``RagkitEmbeddingFunction``: ragkit's ONNX embedders behind Chroma's EmbeddingFunction protocol."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from ragkit import ConfigError, TextEmbedder
from ragkit.embed.onnx import Truncation
from ragkit.types import Matrix, Precision

__all__ = ["RagkitEmbeddingFunction"]

_PRECISIONS = ("fp32", "int8")
_OPTIONAL_STR = ("query_prompt", "document_prompt")
_OPTIONAL_POSITIVE_INT = ("dim", "max_tokens")
_KEYS = ("model_name", "precision", *_OPTIONAL_POSITIVE_INT, *_OPTIONAL_STR)
_EMBEDDER_CACHE_SIZE = 8


def _model_name(model_name: str | os.PathLike[str]) -> str:
    """Return a catalogue id unchanged and an existing local folder as an absolute path.

    A relative folder would stop resolving when the collection is reopened from another working
    directory, so it is persisted absolute.
    """
    text = os.fspath(model_name)
    folder = Path(text).expanduser()
    return str(folder.resolve()) if folder.is_dir() else text


def _rows(matrix: Matrix) -> Embeddings:
    """Split an ``(n, dim)`` matrix into the list of float32 vectors Chroma expects."""
    return [np.ascontiguousarray(row, dtype=np.float32) for row in matrix]


@lru_cache(maxsize=_EMBEDDER_CACHE_SIZE)
def _shared_embedder(config_key: str) -> TextEmbedder:
    """One embedder per persisted config and process.

    Chroma rebuilds a collection's embedding function from its config on every add and query
    (``Collection.configuration`` deserialises it each time), so without this each call would
    load the ONNX session again.
    """
    config = json.loads(config_key)
    return TextEmbedder(
        config["model_name"],
        precision=config["precision"],
        dim=config.get("dim"),
        max_tokens=config.get("max_tokens"),
        query_prompt=config.get("query_prompt"),
        document_prompt=config.get("document_prompt"),
    )


@register_embedding_function
class RagkitEmbeddingFunction(EmbeddingFunction[Documents]):
    """A Chroma embedding function that runs a ragkit :class:`~ragkit.TextEmbedder`.

    Documents are embedded with the model's document prompt (``__call__``, used by ``add``,
    ``upsert`` and ``update``) and query texts with its query prompt (``embed_query``, used by
    ``query(query_texts=...)``). Vectors are unit-length float32, so the default space is cosine.

    The function is registered under the name ``"ragkit"``: a collection created with it keeps
    its config (model, precision, dim, prompt and window overrides), and
    ``client.get_collection(name)`` rebuilds it in any process that has imported
    ``chroma_ragkit``. Runtime options (``batch_size``, ``threads``, ``cuda``, ``offline``,
    ``cache_dir``, ``truncation``) do not change the vectors and are not persisted; pass the
    function to ``get_collection`` to use them after reopening.

    Args:
        model_name: A ragkit catalogue id (``"BAAI/bge-small-en-v1.5"``) or a local model folder
            in the sentence-transformers layout (persisted as an absolute path).
        precision: ``"fp32"`` or ``"int8"``.
        dim: Matryoshka dimension (``None``: the model's own).
        query_prompt: Replace the model's query prompt.
        document_prompt: Replace the model's document prompt.
        max_tokens: Window in tokens, prompt included (default: the model's).
        batch_size: Most texts per ONNX run.
        threads: ONNX Runtime intra-op threads.
        cuda: Run on CUDA, then CPU (fails clearly if CUDA does not attach).
        offline: Never use the network (default ``RAGKIT_OFFLINE`` / ``HF_HUB_OFFLINE``).
        cache_dir: Model cache (default ``RAGKIT_CACHE_DIR``).
        truncation: ``"warn"``, ``"error"`` or ``"silent"`` for texts over the window.

    Raises:
        ConfigError: An argument is invalid (a ``ValueError``, as Chroma's built-ins raise).
    """

    def __init__(
        self,
        model_name: str | os.PathLike[str],
        precision: Precision = "fp32",
        dim: int | None = None,
        *,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        max_tokens: int | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        cuda: bool = False,
        offline: bool | None = None,
        cache_dir: str | Path | None = None,
        truncation: Truncation = "warn",
    ) -> None:
        config: dict[str, Any] = {
            "model_name": _model_name(model_name),
            "precision": precision,
            "dim": dim,
            "max_tokens": max_tokens,
            "query_prompt": query_prompt,
            "document_prompt": document_prompt,
        }
        self.validate_config(config)
        self._config = config
        self.embedder = TextEmbedder(
            config["model_name"],
            precision=precision,
            dim=dim,
            max_tokens=max_tokens,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            batch_size=batch_size,
            threads=threads,
            cuda=cuda,
            offline=offline,
            cache_dir=cache_dir,
            truncation=truncation,
        )

    @classmethod
    def _with_embedder(
        cls, config: dict[str, Any], embedder: TextEmbedder
    ) -> RagkitEmbeddingFunction:
        function = cls.__new__(cls)
        function._config = config
        function.embedder = embedder
        return function

    # -- embedding -------------------------------------------------------------------------

    def __call__(self, input: Documents) -> Embeddings:
        """Embed documents with the model's document prompt.

        Args:
            input: The documents' texts.

        Returns:
            One unit-length float32 vector per document.
        """
        return _rows(self.embedder.embed_documents(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        """Embed query texts with the model's query prompt (Chroma calls this for query texts).

        Args:
            input: The query texts.

        Returns:
            One unit-length float32 vector per query.
        """
        return _rows(self.embedder.embed_query(list(input)))

    @property
    def dim(self) -> int:
        """Dimension of the returned vectors."""
        return self.embedder.dim

    def max_tokens(self) -> int:
        """The model's window in tokens, prompt and special tokens included."""
        return self.embedder.max_tokens

    def fingerprint(self) -> dict[str, Any]:
        """What determines the vectors (``TextEmbedder.fingerprint``)."""
        return self.embedder.fingerprint()

    # -- Chroma's protocol -----------------------------------------------------------------

    @staticmethod
    def name() -> str:
        """The name Chroma persists and looks the class up by."""
        return "ragkit"

    def default_space(self) -> Space:
        """Cosine: the vectors are unit length and scores read as cosine distances."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Every space when the model normalises its vectors (they then rank alike), else cosine and l2."""
        if self.embedder.spec.normalize:
            return ["cosine", "ip", "l2"]
        return ["cosine", "l2"]

    def get_config(self) -> dict[str, Any]:
        """The JSON-serialisable config Chroma persists with the collection."""
        return dict(self._config)

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> RagkitEmbeddingFunction:
        """Rebuild the function from a persisted config (one shared embedder per config).

        Args:
            config: A dict from :meth:`get_config`.

        Returns:
            The embedding function.

        Raises:
            ConfigError: The config is malformed.
        """
        RagkitEmbeddingFunction.validate_config(config)
        full: dict[str, Any] = {key: config.get(key) for key in _KEYS}
        embedder = _shared_embedder(json.dumps(full, sort_keys=True))
        return RagkitEmbeddingFunction._with_embedder(full, embedder)

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        """Check a config's keys and value types.

        Args:
            config: A dict as from :meth:`get_config`.

        Raises:
            ConfigError: A key is unknown, ``model_name`` is missing or empty, ``precision`` is not
                ``"fp32"``/``"int8"``, ``dim``/``max_tokens`` is not a positive integer or a
                prompt is not a string.
        """
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"ragkit embedding function config must be a dict, got {type(config).__name__}."
            )
        unknown = sorted(set(config) - set(_KEYS))
        if unknown:
            raise ConfigError(
                f"ragkit embedding function config has unknown keys {unknown}; known keys: {list(_KEYS)}."
            )
        model_name = config.get("model_name")
        if not isinstance(model_name, str) or not model_name.strip():
            raise ConfigError(
                f"ragkit embedding function config needs 'model_name', a catalogue id or model folder; got {model_name!r}."
            )
        precision = config.get("precision", "fp32")
        if precision not in _PRECISIONS:
            raise ConfigError(
                f"ragkit embedding function config 'precision' must be 'fp32' or 'int8', got {precision!r}."
            )
        for key in _OPTIONAL_POSITIVE_INT:
            value = config.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(
                    f"ragkit embedding function config '{key}' must be a positive integer or null, got {value!r}."
                )
        for key in _OPTIONAL_STR:
            value = config.get(key)
            if value is not None and not isinstance(value, str):
                raise ConfigError(
                    f"ragkit embedding function config '{key}' must be a string or null, got {value!r}."
                )

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        """Refuse updates that would change the vectors of a collection that already holds some.

        Args:
            old_config: The persisted config.
            new_config: The config of the function replacing it.

        Raises:
            ConfigError: The update changes the model, precision, dim, a prompt or the window.
        """
        self.validate_config(new_config)
        changed = [key for key in _KEYS if old_config.get(key) != new_config.get(key)]
        if changed:
            details = ", ".join(
                f"{key}: {old_config.get(key)!r} -> {new_config.get(key)!r}" for key in changed
            )
            raise ConfigError(
                f"Cannot change {details} of a ragkit embedding function: the collection's stored "
                "vectors were made with the old settings. Create a new collection and re-add the "
                "documents; to point at a moved model folder, pass the function to get_collection."
            )

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{key}={value!r}" for key, value in self._config.items() if value is not None
        )
        return f"RagkitEmbeddingFunction({settings})"
