"""The model catalogue: what ragkit must know to use each embedding model correctly.

Each :class:`ModelSpec` is a frozen record: where the files live on the hub, how to pool and
normalise, the window, Matryoshka dimensions and, above all, the query/document prompts the model
was trained with. Built-in entries live in :mod:`ragkit._catalog_data`; users add their own with
:func:`add_custom_model`. Cross-encoder rerankers have their own records (:class:`RerankerSpec`)
and registry (:func:`list_supported_rerankers`, :func:`add_custom_reranker`).

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
from typing import TypeVar

from ragkit.errors import ConfigError, ModelNotFoundError
from ragkit.types import Pooling, Precision

__all__ = [
    "DEFAULT_TOKENIZER_FILES",
    "ModelSpec",
    "RerankerSpec",
    "add_custom_model",
    "add_custom_reranker",
    "get_model_spec",
    "get_reranker_spec",
    "list_supported_models",
    "list_supported_rerankers",
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
        _check_files(self.model_id, self.onnx_files, self.tokenizer_files)
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


@dataclass(frozen=True)
class RerankerSpec:
    """Everything needed to run one cross-encoder reranker.

    Attributes:
        model_id: The name users pass, usually the model's canonical hub id.
        max_tokens: Window for one (query, passage) pair, special tokens included.
        num_labels: Logits per pair: 1 (relevance logit, scored with a sigmoid) or 2
            (irrelevant/relevant, scored with a softmax; the second is the relevant class).
        repo_id: Hub repo holding the ONNX and tokenizer files (defaults to ``model_id``).
        revision: Hub revision (a commit hash pins the files).
        onnx_files: ONNX file inside the repo per precision; a missing int8 is built locally.
        onnx_data_files: Extra files an ONNX file needs (external weights), per precision.
        tokenizer_files: Files to fetch for tokenisation; ``tokenizer.json`` is required.
        trained_max_tokens: The longest input the model was trained for, when the default
            ``max_tokens`` is set lower to keep CPU latency practical.
        license: SPDX id or short licence name.
        description: One line for ``ragkit models list``.
        sha256: Known checksums of repo files, by path inside the repo.
    """

    model_id: str
    max_tokens: int
    num_labels: int = 1
    repo_id: str = ""
    revision: str = "main"
    onnx_files: Mapping[str, str] = field(
        default_factory=lambda: _frozen_map({"fp32": "onnx/model.onnx"})
    )
    onnx_data_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tokenizer_files: tuple[str, ...] = DEFAULT_TOKENIZER_FILES
    trained_max_tokens: int | None = None
    license: str = ""
    description: str = ""
    sha256: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.model_id:
            raise ConfigError("RerankerSpec.model_id must be a non-empty string.")
        if self.num_labels not in (1, 2):
            raise ConfigError(
                f"RerankerSpec {self.model_id!r}: num_labels must be 1 (sigmoid) or 2 (softmax), "
                f"got {self.num_labels}."
            )
        if self.max_tokens < 8:
            raise ConfigError(
                f"RerankerSpec {self.model_id!r}: max_tokens must be at least 8, got {self.max_tokens}."
            )
        _check_files(self.model_id, self.onnx_files, self.tokenizer_files)
        object.__setattr__(self, "repo_id", self.repo_id or self.model_id)
        object.__setattr__(self, "onnx_files", _frozen_map(self.onnx_files))
        object.__setattr__(self, "sha256", _frozen_map(self.sha256))
        object.__setattr__(self, "onnx_data_files", MappingProxyType(dict(self.onnx_data_files)))

    @property
    def published_precisions(self) -> tuple[Precision, ...]:
        """Precisions the hub repo publishes a file for."""
        return tuple(p for p in ("fp32", "int8") if p in self.onnx_files)

    def with_overrides(self, **changes: object) -> RerankerSpec:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _check_files(
    model_id: str, onnx_files: Mapping[str, str], tokenizer_files: tuple[str, ...]
) -> None:
    if not onnx_files or set(onnx_files) - {"fp32", "int8"}:
        raise ConfigError(
            f"Spec {model_id!r}: onnx_files maps 'fp32' and/or 'int8' to a file path "
            f"(got {dict(onnx_files)}); int8 can be built from fp32."
        )
    if "tokenizer.json" not in tokenizer_files:
        raise ConfigError(f"Spec {model_id!r}: tokenizer_files must include tokenizer.json.")


_REGISTRY: dict[str, ModelSpec] = {}
_RERANKERS: dict[str, RerankerSpec] = {}
_LOCK = threading.Lock()
_SpecT = TypeVar("_SpecT", ModelSpec, RerankerSpec)


def _key(name: str) -> str:
    return name.strip().lower()


def _ensure_builtins() -> None:
    if _REGISTRY and _RERANKERS:
        return
    from ragkit._catalog_data import BUILTIN_MODELS, BUILTIN_RERANKERS

    with _LOCK:
        if not _REGISTRY:
            for spec in BUILTIN_MODELS:
                _REGISTRY[_key(spec.model_id)] = spec
        if not _RERANKERS:
            for reranker in BUILTIN_RERANKERS:
                _RERANKERS[_key(reranker.model_id)] = reranker


def list_supported_models() -> list[ModelSpec]:
    """All known embedding models, built-in and custom, sorted by id."""
    _ensure_builtins()
    return sorted(_REGISTRY.values(), key=lambda s: s.model_id.lower())


def list_supported_rerankers() -> list[RerankerSpec]:
    """All known cross-encoder rerankers, built-in and custom, sorted by id."""
    _ensure_builtins()
    return sorted(_RERANKERS.values(), key=lambda s: s.model_id.lower())


def _add(registry: dict[str, _SpecT], spec: _SpecT, overwrite: bool) -> None:
    _ensure_builtins()
    with _LOCK:
        if _key(spec.model_id) in registry and not overwrite:
            raise ConfigError(
                f"A model named {spec.model_id!r} is already registered; "
                "pass overwrite=True to replace it."
            )
        registry[_key(spec.model_id)] = spec


def add_custom_model(spec: ModelSpec, *, overwrite: bool = False) -> None:
    """Register a model so it can be used by id like a built-in one.

    Raises:
        ConfigError: A model with that id exists and ``overwrite`` is false.
    """
    _add(_REGISTRY, spec, overwrite)


def add_custom_reranker(spec: RerankerSpec, *, overwrite: bool = False) -> None:
    """Register a cross-encoder so :class:`~ragkit.rerank.CrossEncoderReranker` takes its id.

    Raises:
        ConfigError: A reranker with that id exists and ``overwrite`` is false.
    """
    _add(_RERANKERS, spec, overwrite)


def _find(registry: Mapping[str, _SpecT], name: str) -> _SpecT | None:
    """The spec under ``name``: the full id, or the part after ``/`` when unambiguous."""
    _ensure_builtins()
    key = _key(name)
    if key in registry:
        return registry[key]
    short = [s for s in registry.values() if _key(s.model_id.rsplit("/", 1)[-1]) == key]
    return short[0] if len(short) == 1 else None


def find_model_spec(name: str) -> ModelSpec | None:
    """The spec registered under ``name`` (full id, or the part after ``/``), or None."""
    return _find(_REGISTRY, name)


def _close_matches(name: str, ids: list[str]) -> str:
    lowered = {i.lower(): i for i in ids}
    close = difflib.get_close_matches(_key(name), list(lowered), n=5, cutoff=0.4)
    close += [
        i.lower()
        for i in ids
        if _key(name).rsplit("/", 1)[-1] in i.lower() and i.lower() not in close
    ]
    return f" Did you mean: {', '.join(lowered[c] for c in close[:5])}?" if close else ""


def get_model_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``.

    Raises:
        ModelNotFoundError: No such model; the message lists the closest known ids.
    """
    spec = find_model_spec(name)
    if spec is not None:
        return spec
    if _find(_RERANKERS, name) is not None:
        raise ModelNotFoundError(
            f"{name!r} is a cross-encoder reranker, not an embedding model: use "
            "ragkit.rerank.CrossEncoderReranker for it."
        )
    hint = _close_matches(name, [s.model_id for s in list_supported_models()])
    raise ModelNotFoundError(
        f"Unknown model {name!r}.{hint} See `ragkit models list`; pass a local folder in the "
        "sentence-transformers layout, or register the model with ragkit.add_custom_model()."
    )


def get_reranker_spec(name: str) -> RerankerSpec:
    """The reranker registered under ``name`` (full id, or the part after ``/``).

    Raises:
        ModelNotFoundError: No such reranker; the message lists the closest known ids.
    """
    spec = _find(_RERANKERS, name)
    if spec is not None:
        return spec
    hint = _close_matches(name, [s.model_id for s in list_supported_rerankers()])
    raise ModelNotFoundError(
        f"Unknown reranker {name!r}.{hint} See `ragkit models list`; pass a local folder with "
        "model.onnx (or onnx/model.onnx), tokenizer.json and config.json, or register the "
        "model with ragkit.catalog.add_custom_reranker()."
    )
