"""What a cross-encoder is and what its graph gives: spec lookup, output check, logits to scores.

A local folder is read like the embedders' (``model.onnx`` or ``onnx/model.onnx`` plus
``tokenizer.json``); its ``config.json`` gives the number of labels (``id2label``) and the window
(``tokenizer_config.json`` ``model_max_length`` first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragkit._onnx import check_encoder_inputs
from ragkit._resolve import as_local_folder
from ragkit._st_config import folder_max_tokens, folder_onnx_files, optional_json
from ragkit.catalog import RerankerSpec, get_reranker_spec
from ragkit.errors import ModelGraphError

__all__ = ["ScorerIO", "inspect_scorer_io", "relevance_logits", "resolve_reranker", "sigmoid"]

FloatArray = npt.NDArray[np.float32]

_LOGIT_OUTPUTS = ("logits", "scores", "output_0")


def resolve_reranker(model: str | Path | RerankerSpec) -> tuple[RerankerSpec, Path | None]:
    """The spec for ``model`` (catalogue id, local folder or spec) and, for a folder, the folder.

    Raises:
        ModelNotFoundError: Neither a folder nor a known reranker id.
        ModelFileError: The folder lacks an ONNX file or tokenizer.json, or a config is unreadable.
    """
    if isinstance(model, RerankerSpec):
        return model, None
    folder = as_local_folder(model)
    if folder is None:
        return get_reranker_spec(str(model)), None
    config = optional_json(folder / "config.json") or {}
    labels = config.get("id2label") or {}
    num_labels = len(labels) if labels else int(config.get("num_labels", 1))
    spec = RerankerSpec(
        model_id=str(folder),
        max_tokens=folder_max_tokens(folder),
        num_labels=num_labels,
        onnx_files=folder_onnx_files(folder),
        description=f"Local folder {folder.name}",
    )
    return spec, folder


@dataclass(frozen=True)
class ScorerIO:
    """What a cross-encoder graph takes and gives.

    Attributes:
        inputs: The graph's input names (``token_type_ids`` only when the graph has it).
        output: The logits output.
        num_labels: Logits per pair when the graph states it (1 or 2), else None.
    """

    inputs: tuple[str, ...]
    output: str
    num_labels: int | None


def inspect_scorer_io(session: Any, path: Path, *, num_labels: int) -> ScorerIO:
    """Check the graph gives ``[batch, 1]`` or ``[batch, 2]`` logits and pick that output.

    Raises:
        ModelGraphError: Unknown inputs, an output of another shape (token states
            ``[batch, seq, hidden]``, three classes...), or a label count that contradicts
            the model's config.
    """
    inputs = check_encoder_inputs(session, path, task="text-classification")
    outputs = {o.name: o.shape for o in session.get_outputs()}
    name = next((n for n in _LOGIT_OUTPUTS if n in outputs), next(iter(outputs)))
    shape = list(outputs[name] or [])  # [] when the graph does not say: checked at run
    last = shape[-1] if len(shape) == 2 else 1
    if len(shape) > 2 or (isinstance(last, int) and last not in (1, 2)):
        raise ModelGraphError(_shape_message(path.name, name, shape))
    stated = last if shape and isinstance(last, int) else None
    if stated is not None and stated != num_labels:
        raise ModelGraphError(
            f"{path.name} outputs {stated} logit(s) per pair but the model's config says "
            f"{num_labels} label(s); the folder mixes files of different models."
        )
    return ScorerIO(inputs, name, stated)


def _shape_message(file: str, output: str, shape: list[Any]) -> str:
    return (
        f"{file} output {output!r} has shape {shape}; a cross-encoder gives one relevance "
        "logit per pair, [batch, 1], or two (irrelevant, relevant), [batch, 2]. Export the model "
        "with its classification head (optimum-cli export onnx --task text-classification)."
    )


def relevance_logits(output: npt.NDArray[Any], file: str, name: str, rows: int) -> FloatArray:
    """One relevance logit per pair: the logit, or relevant minus irrelevant for two labels.

    ``sigmoid`` of it is the probability: for two labels that equals the softmax's second class.

    Raises:
        ModelGraphError: The output is not ``[rows]``, ``[rows, 1]`` or ``[rows, 2]``.
    """
    logits = np.asarray(output, dtype=np.float32)
    if logits.ndim == 1:
        logits = logits[:, None]
    if logits.ndim != 2 or logits.shape[0] != rows or logits.shape[1] not in (1, 2):
        raise ModelGraphError(_shape_message(file, name, list(logits.shape)))
    if logits.shape[1] == 2:
        return logits[:, 1] - logits[:, 0]
    return logits[:, 0]


def sigmoid(x: FloatArray) -> FloatArray:
    """The logistic function, stable for large ``|x|`` (and ``-inf`` maps to 0)."""
    result: FloatArray = np.exp(-np.logaddexp(np.float32(0), -x)).astype(np.float32)
    return result
