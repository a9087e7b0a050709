"""ONNX Runtime sessions: providers, threads, session options, and a check of the graph's I/O."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime as ort

from ragkit.errors import ModelFileError, ModelGraphError, ProviderError

__all__ = [
    "EncoderIO",
    "check_encoder_inputs",
    "create_session",
    "inspect_encoder_io",
    "resolve_providers",
]

logger = logging.getLogger(__name__)

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
# Inputs an encoder may take; anything else (past_key_values, pixel_values...) is not ours to feed.
_KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
# Outputs holding per-token states, in order of preference.
_TOKEN_OUTPUTS = ("last_hidden_state", "token_embeddings", "hidden_states", "output_0")
_POOLED_OUTPUTS = ("sentence_embedding", "pooler_output", "embeddings", "text_embeds")


def resolve_providers(providers: Sequence[str] | None, *, cuda: bool = False) -> list[str]:
    """The provider list to ask ONNX Runtime for: explicit ones, CUDA+CPU, or CPU alone.

    Raises:
        ProviderError: CUDA (or another provider) was asked for but this onnxruntime build lacks it.
    """
    wanted = list(providers) if providers else ([_CUDA, _CPU] if cuda else [_CPU])
    available = set(ort.get_available_providers())
    missing = [p for p in wanted if p not in available]
    if missing:
        raise ProviderError(
            f"ONNX Runtime provider(s) {missing} are not available in this onnxruntime build "
            f"(available: {sorted(available)}). For CUDA install the GPU build in place of the CPU one: "
            "`pip uninstall onnxruntime && pip install onnxruntime-gpu` (never both at once), or drop the request to run on CPU."
        )
    return wanted


def create_session(
    path: Path,
    *,
    providers: Sequence[str],
    threads: int | None = None,
    enable_cpu_mem_arena: bool = True,
) -> ort.InferenceSession:
    """Open ``path`` with full graph optimisation and the given providers and thread count.

    Raises:
        ModelFileError: The file is missing or is not a loadable ONNX model.
        ProviderError: A requested accelerator did not attach (ONNX Runtime fell back to CPU).
    """
    if not path.is_file():
        raise ModelFileError(f"ONNX model file not found: {path}.")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = enable_cpu_mem_arena
    options.log_severity_level = 3  # errors only: ORT's warnings are not actionable for users
    # Idle threads sleep instead of spinning: as fast alone, and far faster beside other busy
    # threads (a Chroma write, a web server): docs/benchmarks.md, "Indexing throughput".
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own untyped exceptions
        raise ModelFileError(
            f"Could not load ONNX model {path}: {exc}. The file may be truncated or corrupt; "
            "delete it so it is downloaded or built again."
        ) from exc
    attached = session.get_providers()
    lost = [p for p in providers if p != _CPU and p not in attached]
    if lost:
        raise ProviderError(
            f"ONNX Runtime could not attach {lost} for {path.name} (attached: {attached}). "
            "Check that the CUDA and cuDNN versions match your onnxruntime-gpu build."
        )
    logger.debug("Loaded %s with providers %s, threads=%s", path, attached, threads or "default")
    return session


@dataclass(frozen=True)
class EncoderIO:
    """What an encoder graph takes and gives.

    Attributes:
        inputs: The graph's input names, all among the known encoder inputs.
        output: The output to read.
        pooled: True when ``output`` is already one vector per text (no token states).
        output_dim: The last output dimension when the graph states it.
    """

    inputs: tuple[str, ...]
    output: str
    pooled: bool
    output_dim: int | None


def check_encoder_inputs(
    session: Any, path: Path, *, task: str = "feature-extraction"
) -> tuple[str, ...]:
    """The graph's input names, checked to be text-encoder inputs with ``input_ids`` among them.

    Raises:
        ModelGraphError: Unknown required inputs, or no input_ids.
    """
    inputs = tuple(i.name for i in session.get_inputs())
    unknown = [name for name in inputs if name not in _KNOWN_INPUTS]
    if unknown or "input_ids" not in inputs:
        raise ModelGraphError(
            f"{path.name} has inputs {list(inputs)}; a text encoder needs input_ids and may take "
            f"{list(_KNOWN_INPUTS[1:])}. Unexpected: {unknown or ['(input_ids missing)']}. "
            f"Export the model for {task} (e.g. optimum-cli export onnx --task {task})."
        )
    return inputs


def inspect_encoder_io(session: Any, path: Path) -> EncoderIO:
    """Check the graph's inputs and outputs and pick the output to pool.

    Raises:
        ModelGraphError: Unknown required inputs, no input_ids, or no usable output.
    """
    inputs = check_encoder_inputs(session, path)
    outputs = {o.name: o.shape for o in session.get_outputs()}
    for name in (*_TOKEN_OUTPUTS, *outputs):
        shape = outputs.get(name)
        if shape is not None and len(shape) == 3:
            return EncoderIO(inputs, name, False, _int_or_none(shape[-1]))
    for name in (*_POOLED_OUTPUTS, *outputs):
        shape = outputs.get(name)
        if shape is not None and len(shape) == 2:
            return EncoderIO(inputs, name, True, _int_or_none(shape[-1]))
    raise ModelGraphError(
        f"{path.name} has outputs {outputs}; expected token states [batch, seq, dim] "
        "(e.g. last_hidden_state) or pooled embeddings [batch, dim]."
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None
