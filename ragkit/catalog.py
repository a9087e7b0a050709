"""The model catalogue: what ragkit must know to use each embedding model correctly.

Each :class:`ModelSpec` is a frozen record: where the files live on the hub, how to pool and
normalise, the window, Matryoshka dimensions and, above all, the query/document prompts the model
was trained with. Built-in entries live in :mod:`ragkit._catalog_data`; users add their own with
:func:`add_custom_model`.

Usage::

    from ragkit.catalog import get_model_spec, list_supported_models
    spec = get_model_spec("intfloat/e5-small-v2")
    spec.query_prompt   # 'query: '
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ragkit.errors import ConfigError, ModelNotFoundError
from ragkit.types import Pooling, Precision

__all__ = [
    "DEFAULT_TOKENIZER_FILES",
    "ModelSpec",
    "add_custom_model",
    "get_model_spec",
    "list_supported_models",
]

DEFAULT_TOKENIZER_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
)
_POOLINGS: frozenset[str] = frozenset({"mean", "cls", "last_token"})


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to run one embedding model correctly.

    Attributes:
        model_id: The name users pass, usually the model's canonical hub id.
        dim: Output dimension of the full embedding.
        pooling: ``"mean"``, ``"cls"`` or ``"last_token"``.
        max_tokens: The model's window, special tokens and prompt included.
        repo_id: Hub repo holding the ONNX and tokenizer files (defaults to ``model_id``).
        revision: Hub revision (a commit hash pins the files; ``"main"`` follows the repo).
        onnx_files: Path of the ONNX file inside the repo, per precision (``"fp32"``, ``"int8"``).
            A precision missing here is built locally from fp32 when asked for.
        onnx_data_files: Extra files an ONNX file needs (external weights), per precision.
        tokenizer_files: Files to fetch for tokenisation; ``tokenizer.json`` is required.
        normalize: Whether embeddings are L2-normalised (true for all cosine models).
        query_prompt: Text prepended to every query.
        document_prompt: Text prepended to every document.
        task_prompts: Further named instructions the model defines (e.g. ``"clustering"``).
        matryoshka_dims: Dimensions the model was trained to be truncated to (empty: none).
        layer_norm_before_truncate: Apply layer norm before Matryoshka truncation (nomic).
        license: SPDX id or short licence name.
        description: One line for ``ragkit models list``.
        sha256: Known checksums of repo files, by path inside the repo.
    """

    model_id: str
    dim: int
    pooling: Pooling
    max_tokens: int
    repo_id: str = ""
    revision: str = "main"
    onnx_files: Mapping[str, str] = field(
        default_factory=lambda: _frozen_map({"fp32": "onnx/model.onnx"})
    )
    onnx_data_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tokenizer_files: tuple[str, ...] = DEFAULT_TOKENIZER_FILES
    normalize: bool = True
    query_prompt: str = ""
    document_prompt: str = ""
    task_prompts: Mapping[str, str] = field(default_factory=dict)
    matryoshka_dims: tuple[int, ...] = ()
    layer_norm_before_truncate: bool = False
    license: str = ""
    description: str = ""
    sha256: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.model_id:
            raise ConfigError("ModelSpec.model_id must be a non-empty string.")
        if self.pooling not in _POOLINGS:
            raise ConfigError(
                f"ModelSpec {self.model_id!r}: pooling must be one of {sorted(_POOLINGS)}, "
                f"got {self.pooling!r}."
            )
        if self.dim <= 0 or self.max_tokens <= 0:
            raise ConfigError(
                f"ModelSpec {self.model_id!r}: dim and max_tokens must be positive "
                f"(got dim={self.dim}, max_tokens={self.max_tokens})."
            )
        if not self.onnx_files or set(self.onnx_files) - {"fp32", "int8"}:
            raise ConfigError(
                f"ModelSpec {self.model_id!r}: onnx_files maps 'fp32' and/or 'int8' to a file path "
                f"(got {dict(self.onnx_files)}); int8 can be built from fp32."
            )
        if "tokenizer.json" not in self.tokenizer_files:
            raise ConfigError(
                f"ModelSpec {self.model_id!r}: tokenizer_files must include tokenizer.json."
            )
        bad_dims = [d for d in self.matryoshka_dims if not 0 < d <= self.dim]
        if bad_dims:
            raise ConfigError(
                f"ModelSpec {self.model_id!r}: matryoshka_dims {bad_dims} are outside 1..{self.dim}."
            )
        object.__setattr__(self, "repo_id", self.repo_id or self.model_id)
        object.__setattr__(self, "onnx_files", _frozen_map(self.onnx_files))
        object.__setattr__(self, "task_prompts", _frozen_map(self.task_prompts))
        object.__setattr__(self, "sha256", _frozen_map(self.sha256))
        object.__setattr__(self, "onnx_data_files", MappingProxyType(dict(self.onnx_data_files)))
        object.__setattr__(
            self, "matryoshka_dims", tuple(sorted(set(self.matryoshka_dims), reverse=True))
        )

    @property
    def published_precisions(self) -> tuple[Precision, ...]:
        """Precisions the hub repo publishes a file for."""
        return tuple(p for p in ("fp32", "int8") if p in self.onnx_files)

    def prompt_for(self, kind: str) -> str:
        """The prompt for ``"query"``, ``"document"`` or a named task instruction.

        Raises:
            ConfigError: ``kind`` is neither query, document nor a task this model defines.
        """
        if kind == "query":
            return self.query_prompt
        if kind == "document":
            return self.document_prompt
        if kind in self.task_prompts:
            return self.task_prompts[kind]
        known = ["query", "document", *sorted(self.task_prompts)]
        raise ConfigError(f"Model {self.model_id!r} has no prompt named {kind!r}; known: {known}.")

    def with_overrides(self, **changes: object) -> ModelSpec:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]


_REGISTRY: dict[str, ModelSpec] = {}
_LOCK = threading.Lock()


def _key(name: str) -> str:
    return name.strip().lower()


def _ensure_builtins() -> None:
    if _REGISTRY:
        return
    from ragkit._catalog_data import BUILTIN_MODELS

    with _LOCK:
        if not _REGISTRY:
            for spec in BUILTIN_MODELS:
                _REGISTRY[_key(spec.model_id)] = spec


def list_supported_models() -> list[ModelSpec]:
    """All known models, built-in and custom, sorted by id."""
    _ensure_builtins()
    return sorted(_REGISTRY.values(), key=lambda s: s.model_id.lower())


def add_custom_model(spec: ModelSpec, *, overwrite: bool = False) -> None:
    """Register a model so it can be used by id like a built-in one.

    Raises:
        ConfigError: A model with that id exists and ``overwrite`` is false.
    """
    _ensure_builtins()
    with _LOCK:
        if _key(spec.model_id) in _REGISTRY and not overwrite:
            raise ConfigError(
                f"A model named {spec.model_id!r} is already registered; "
                "pass overwrite=True to replace it."
            )
        _REGISTRY[_key(spec.model_id)] = spec


def _short_names() -> dict[str, ModelSpec]:
    """Ids without the organisation ("all-minilm-l6-v2"), when unambiguous."""
    counts: dict[str, list[ModelSpec]] = {}
    for spec in _REGISTRY.values():
        counts.setdefault(_key(spec.model_id.rsplit("/", 1)[-1]), []).append(spec)
    return {name: specs[0] for name, specs in counts.items() if len(specs) == 1}


def find_model_spec(name: str) -> ModelSpec | None:
    """The spec registered under ``name`` (full id, or the part after ``/``), or None."""
    _ensure_builtins()
    key = _key(name)
    return _REGISTRY.get(key) or _short_names().get(key)


def get_model_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``.

    Raises:
        ModelNotFoundError: No such model; the message lists the closest known ids.
    """
    spec = find_model_spec(name)
    if spec is not None:
        return spec
    ids = [s.model_id for s in list_supported_models()]
    lowered = {i.lower(): i for i in ids}
    close = difflib.get_close_matches(_key(name), list(lowered), n=5, cutoff=0.4)
    close += [
        i.lower()
        for i in ids
        if _key(name).rsplit("/", 1)[-1] in i.lower() and i.lower() not in close
    ]
    hint = f" Did you mean: {', '.join(lowered[c] for c in close[:5])}?" if close else ""
    raise ModelNotFoundError(
        f"Unknown model {name!r}.{hint} See `ragkit models list`; pass a local folder in the "
        "sentence-transformers layout, or register the model with ragkit.add_custom_model()."
    )
