"""Read a local model folder in the sentence-transformers layout into a :class:`ModelSpec`.

The folder's own config files decide pooling (``1_Pooling/config.json``), normalisation
(a Normalize module in ``modules.json``), the window (``sentence_bert_config.json``) and the prompts
(``config_sentence_transformers.json``), rather than guesses.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ragkit.catalog import ModelSpec, find_model_spec
from ragkit.errors import ModelFileError
from ragkit.types import Pooling

__all__ = [
    "FP32_CANDIDATES",
    "INT8_CANDIDATES",
    "find_onnx_file",
    "folder_max_tokens",
    "folder_onnx_files",
    "optional_json",
    "spec_from_folder",
]

logger = logging.getLogger(__name__)

FP32_CANDIDATES = ("onnx/model.onnx", "model.onnx")
INT8_CANDIDATES = (
    "onnx/model_quantized.onnx",
    "onnx/model_int8.onnx",
    "onnx/model_quint8_avx2.onnx",  # unsigned weights: safe on CPUs without VNNI
    "onnx/model_qint8_avx512_vnni.onnx",
    "model_quantized.onnx",
    "model_int8.onnx",
)
_QUERY_KEYS = ("query",)
_DOCUMENT_KEYS = ("document", "passage", "corpus", "text")
_DEFAULT_MAX_TOKENS = 512


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"Could not read model config file {path}: {exc}.") from exc


def optional_json(path: Path) -> Any:
    """A JSON file's content, or None when the file is absent."""
    return _read_json(path) if path.is_file() else None


def find_onnx_file(folder: Path, candidates: tuple[str, ...]) -> Path | None:
    """The first of ``candidates`` present in ``folder``."""
    for rel in candidates:
        if (folder / rel).is_file():
            return folder / rel
    return None


def folder_onnx_files(folder: Path) -> dict[str, str]:
    """The folder's ONNX file per precision (paths inside it), checking tokenizer.json is there.

    Raises:
        ModelFileError: No ONNX file, or no tokenizer.json.
    """
    fp32 = find_onnx_file(folder, FP32_CANDIDATES)
    int8 = find_onnx_file(folder, INT8_CANDIDATES)
    if fp32 is None and int8 is None:
        raise ModelFileError(
            f"No ONNX model in {folder}: expected one of {list(FP32_CANDIDATES + INT8_CANDIDATES)}. "
            "Export one with `optimum-cli export onnx --model <id> <folder>`."
        )
    if not (folder / "tokenizer.json").is_file():
        raise ModelFileError(
            f"{folder} has no tokenizer.json; copy it from the model's repository."
        )
    return {p: str(f.relative_to(folder)) for p, f in (("fp32", fp32), ("int8", int8)) if f}


def _pooling_and_normalize(folder: Path) -> tuple[Pooling, bool, int | None]:
    modules = optional_json(folder / "modules.json")
    if not isinstance(modules, list):
        logger.warning(
            "%s has no modules.json: assuming mean pooling and L2 normalisation "
            "(pass pooling=/normalize= to override).",
            folder,
        )
        return "mean", True, None
    types = {str(m.get("type", "")).rsplit(".", 1)[-1]: m for m in modules if isinstance(m, dict)}
    normalize = "Normalize" in types
    pooling_module = types.get("Pooling")
    if pooling_module is None:
        return "mean", normalize, None
    config = _read_json(folder / str(pooling_module.get("path", "1_Pooling")) / "config.json")
    dim = config.get("word_embedding_dimension")
    if config.get("pooling_mode_cls_token"):
        return "cls", normalize, dim
    if config.get("pooling_mode_lasttoken"):
        return "last_token", normalize, dim
    if config.get("pooling_mode_mean_tokens"):
        return "mean", normalize, dim
    modes = sorted(k for k, v in config.items() if k.startswith("pooling_mode") and v)
    raise ModelFileError(
        f"{folder}/1_Pooling/config.json asks for {modes}; ragkit supports mean, CLS and last-token pooling."
    )


def folder_max_tokens(folder: Path) -> int:
    """The window: sentence_bert_config, else tokenizer_config, else config.json (else 512)."""
    st = optional_json(folder / "sentence_bert_config.json") or {}
    if isinstance(st.get("max_seq_length"), int):
        return int(st["max_seq_length"])
    tok = optional_json(folder / "tokenizer_config.json") or {}
    limit = tok.get("model_max_length")
    if isinstance(limit, int) and limit < 1_000_000:
        return limit
    config = optional_json(folder / "config.json") or {}
    return int(config.get("max_position_embeddings", _DEFAULT_MAX_TOKENS))


def _prompts(folder: Path) -> tuple[str, str, dict[str, str]]:
    config = optional_json(folder / "config_sentence_transformers.json") or {}
    prompts = {str(k): str(v) for k, v in (config.get("prompts") or {}).items()}
    query = next((prompts.pop(k) for k in _QUERY_KEYS if k in prompts), "")
    document = next((prompts.pop(k) for k in _DOCUMENT_KEYS if k in prompts), "")
    return query, document, prompts


def spec_from_folder(folder: Path) -> ModelSpec:
    """Build the spec of the model in ``folder`` from its own config files.

    When the folder names no prompts but its ``config.json`` says it is a catalogue model
    (``_name_or_path``), the catalogue's prompts are used, since they are the model's own.

    Raises:
        ModelFileError: No ONNX file, no tokenizer.json, or unreadable config files.
    """
    onnx_files = folder_onnx_files(folder)
    pooling, normalize, pooled_dim = _pooling_and_normalize(folder)
    config = optional_json(folder / "config.json") or {}
    dim = pooled_dim or config.get("hidden_size") or config.get("d_model") or config.get("dim")
    query, document, tasks = _prompts(folder)
    known = (
        find_model_spec(str(config.get("_name_or_path", "")))
        if config.get("_name_or_path")
        else None
    )
    if known is not None and not (query or document or tasks):
        logger.info("%s is %s: using its catalogue prompts.", folder, known.model_id)
        query, document, tasks = known.query_prompt, known.document_prompt, dict(known.task_prompts)
    return ModelSpec(
        model_id=str(folder),
        dim=int(dim) if dim else 1,
        pooling=pooling,
        max_tokens=folder_max_tokens(folder),
        onnx_files=onnx_files,
        normalize=normalize,
        query_prompt=query,
        document_prompt=document,
        task_prompts=tasks,
        matryoshka_dims=known.matryoshka_dims if known else (),
        layer_norm_before_truncate=known.layer_norm_before_truncate if known else False,
        description=f"Local folder {folder.name}",
    )
