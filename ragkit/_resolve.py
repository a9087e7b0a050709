"""Turn what the user named (catalogue id, local folder, or spec) into files on disk.

A local folder never touches the network. A catalogue id fetches only the files it needs into the
cache (or, offline, finds them there). ``precision="int8"`` takes the repo's published quantized
file, or builds one from fp32 once and caches it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from filelock import FileLock

from ragkit._st_config import spec_from_folder
from ragkit.catalog import ModelSpec, get_model_spec
from ragkit.config import RagkitSettings
from ragkit.errors import ConfigError, ModelFileError, OfflineError, RemoteNotFoundError
from ragkit.types import Precision

__all__ = [
    "ModelFiles",
    "ModelPaths",
    "ResolvedModel",
    "as_local_folder",
    "build_int8",
    "resolve_files",
    "resolve_model",
    "resolve_spec",
]

logger = logging.getLogger(__name__)

_PRECISIONS = ("fp32", "int8")


class ModelFiles(Protocol):
    """Where a model's files live: what :class:`ModelSpec` and rerankers' specs share."""

    @property
    def repo_id(self) -> str: ...
    @property
    def revision(self) -> str: ...
    @property
    def onnx_files(self) -> Mapping[str, str]: ...
    @property
    def onnx_data_files(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def tokenizer_files(self) -> tuple[str, ...]: ...
    @property
    def sha256(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class ModelPaths:
    """The local files to run a model at one precision.

    Attributes:
        onnx_path: The ONNX file for the requested precision.
        tokenizer_path: Its ``tokenizer.json``.
        precision: The precision of ``onnx_path``.
        built_locally: True when the int8 file was built here from fp32.
    """

    onnx_path: Path
    tokenizer_path: Path
    precision: Precision
    built_locally: bool = False


@dataclass(frozen=True)
class ResolvedModel:
    """A model's spec and the local files to run it.

    Attributes:
        spec: What the model is and how to use it.
        onnx_path: The ONNX file for the requested precision.
        tokenizer_path: Its ``tokenizer.json``.
        precision: The precision of ``onnx_path``.
        built_locally: True when the int8 file was built here from fp32.
    """

    spec: ModelSpec
    onnx_path: Path
    tokenizer_path: Path
    precision: Precision
    built_locally: bool = False


def as_local_folder(model: str | Path) -> Path | None:
    """``model`` as an absolute folder path when it names an existing folder, else None."""
    path = Path(model).expanduser()
    return path.resolve() if path.is_dir() else None


def resolve_spec(model: str | Path | ModelSpec) -> tuple[ModelSpec, Path | None]:
    """The spec for ``model`` and, for a local folder, the folder.

    Raises:
        ModelNotFoundError: Neither a folder nor a known model id.
    """
    if isinstance(model, ModelSpec):
        return model, None
    folder = as_local_folder(model)
    if folder is not None:
        return spec_from_folder(folder), folder
    return get_model_spec(str(model)), None


def resolve_model(
    model: str | Path | ModelSpec,
    *,
    precision: Precision = "fp32",
    settings: RagkitSettings,
    show_progress_bar: bool | None = None,
) -> ResolvedModel:
    """Locate (downloading if needed) the files for ``model`` at ``precision``.

    Raises:
        ConfigError: Unknown precision, or fp32 asked of a folder holding only an int8 file.
        ModelNotFoundError: Unknown model id (with close matches).
        ModelFileError: A needed file is missing from a local folder.
        DownloadError: A hub download failed (OfflineError when offline and not cached).
    """
    _check_precision(precision)
    spec, folder = resolve_spec(model)
    paths = resolve_files(
        spec, folder, precision=precision, settings=settings, show_progress_bar=show_progress_bar
    )
    return ResolvedModel(
        spec, paths.onnx_path, paths.tokenizer_path, paths.precision, paths.built_locally
    )


def resolve_files(
    spec: ModelFiles,
    folder: Path | None,
    *,
    precision: Precision,
    settings: RagkitSettings,
    show_progress_bar: bool | None = None,
) -> ModelPaths:
    """The files of ``spec`` at ``precision``: in ``folder`` when given, else from the hub cache.

    Raises:
        ConfigError: Unknown precision, or fp32 asked of a folder holding only an int8 file.
        DownloadError: A hub download failed (OfflineError when offline and not cached).
    """
    _check_precision(precision)
    if folder is not None:
        return _resolve_local(spec, folder, precision, settings)
    return _resolve_hub(spec, precision, settings, show_progress_bar)


def _check_precision(precision: str) -> None:
    if precision not in _PRECISIONS:
        raise ConfigError(f"precision must be one of {list(_PRECISIONS)}, got {precision!r}.")


def _resolve_local(
    spec: ModelFiles, folder: Path, precision: Precision, settings: RagkitSettings
) -> ModelPaths:
    tokenizer = folder / "tokenizer.json"
    if precision in spec.onnx_files:
        return ModelPaths(folder / spec.onnx_files[precision], tokenizer, precision)
    if precision == "fp32":
        raise ConfigError(
            f"{folder} holds only an int8 model ({spec.onnx_files['int8']}); use precision='int8'."
        )
    built = build_int8(folder / spec.onnx_files["fp32"], settings.cache_dir)
    return ModelPaths(built, tokenizer, "int8", built_locally=True)


def _resolve_hub(
    spec: ModelFiles, precision: Precision, settings: RagkitSettings, show_progress_bar: bool | None
) -> ModelPaths:
    published = precision in spec.onnx_files
    onnx_key: Precision = precision if published else "fp32"
    onnx_rel = spec.onnx_files[onnx_key]
    required = ["tokenizer.json", onnx_rel, *spec.onnx_data_files.get(onnx_key, ())]
    optional = [f for f in spec.tokenizer_files if f not in required]
    paths = _fetch(spec, required, optional, settings, show_progress_bar)
    onnx_path = paths[onnx_rel]
    if published:
        return ModelPaths(onnx_path, paths["tokenizer.json"], precision)
    built = build_int8(onnx_path, settings.cache_dir)
    return ModelPaths(built, paths["tokenizer.json"], "int8", built_locally=True)


def _fetch(
    spec: ModelFiles,
    required: list[str],
    optional: list[str],
    settings: RagkitSettings,
    show_progress_bar: bool | None,
) -> dict[str, Path]:
    """Download ``required`` files (errors propagate) and ``optional`` ones (skipped if absent)."""
    from ragkit._download import download_files

    def fetch(files: list[str]) -> dict[str, Path]:
        return download_files(
            spec.repo_id,
            files,
            revision=spec.revision,
            cache_dir=settings.cache_dir,
            endpoint=settings.hf_endpoint,
            token=settings.hf_token.get_secret_value() if settings.hf_token else None,
            offline=settings.offline,
            sha256=dict(spec.sha256),
            timeout=settings.download_timeout,
            retries=settings.download_retries,
            show_progress_bar=show_progress_bar,
        )

    paths = fetch(required)
    for name in optional:
        try:
            paths.update(fetch([name]))
        except (RemoteNotFoundError, OfflineError):
            logger.debug("%s: optional %s unavailable; continuing without it", spec.repo_id, name)
    return paths


def build_int8(fp32_path: Path, cache_dir: Path) -> Path:
    """Build (once, under a file lock) and cache an int8 model made from ``fp32_path``.

    Raises:
        ModelFileError: The fp32 file is missing.
        DependencyError: The ``onnx`` package (``ragkit[quantize]``) is not installed.
        QuantizationError: ONNX Runtime's quantizer failed.
    """
    from ragkit.quantize_model import quantize_model, quantized_cache_path, settings_tag

    if not fp32_path.is_file():
        raise ModelFileError(f"ONNX model file not found: {fp32_path}; int8 is built from it.")
    target = quantized_cache_path(fp32_path, cache_dir, settings_tag())
    if target.is_file():
        logger.debug("Using cached int8 model %s", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not target.is_file():
            logger.info("Building an int8 model from %s (once; cached at %s)", fp32_path, target)
            quantize_model(fp32_path, target)
    return target
