"""Build int8 ONNX models from fp32 ones, and measure how closely they agree.

ONNX Runtime's dynamic quantizer stores weights as int8 and quantizes activations on the fly.
The defaults here were chosen by measurement on all-MiniLM-L6-v2 (300 SciFact documents, up to
256 tokens, 2 intra-op threads):

* per-channel weights: per-tensor scales drop the mean cosine against fp32 to about 0.94
  (int8) or 0.97 (uint8); one scale per output column keeps it at about 0.995;
* only ``MatMul`` (the dense layers) and ``Gather`` (the embedding tables, which ONNX Runtime
  stores as per-tensor uint8 whatever ``weight_type`` says): quantizing the tables costs
  nothing measurable in accuracy and brings the file from 65% to 26% of fp32;
  ``MatMul`` nodes whose both inputs are activations (attention scores) stay fp32;
* signed int8 weights: on CPUs with VNNI they run about 1.4x faster than uint8 ones at the
  same accuracy (about 2x faster than fp32 overall);
* no transformer-optimizer pass: ONNX Runtime already fuses at session load, so the offline
  fusion gave no speed-up, and it needs ``sympy``.

Usage::

    from pathlib import Path
    from ragkit.quantize_model import quantize_model, cosine_agreement

    int8 = quantize_model(Path("model.onnx"), Path("out/model_int8.onnx"))
    report = cosine_agreement(fp32_vectors, int8_vectors)   # arrays from two embedders
    print(report)   # cosine vs reference: mean 0.9948, min 0.9910, p5 0.9929 (n=300)
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ragkit.errors import (
    ConfigError,
    DependencyError,
    InputError,
    ModelFileError,
    QuantizationError,
)

__all__ = [
    "AgreementReport",
    "DEFAULT_OP_TYPES",
    "WeightType",
    "cosine_agreement",
    "quantize_model",
    "quantized_cache_path",
    "settings_tag",
]

logger = logging.getLogger(__name__)

WeightType = Literal["int8", "uint8"]
"""Storage type of quantized weights: ``"int8"`` (signed, fastest with VNNI) or ``"uint8"``."""

DEFAULT_OP_TYPES: tuple[str, ...] = ("MatMul", "Gather")
"""Operator types quantized by default: dense layers and embedding tables."""

_SUPPORTED_OP_TYPES = (
    "Attention",
    "Conv",
    "EmbedLayerNormalization",
    "Gather",
    "LSTM",
    "MatMul",
    "Transpose",
)
_RECIPE_VERSION = 2  # bump when the way models are built changes, to invalidate caches
_INSTALL_HINT = "install it with `pip install 'ragkit[quantize]'`"


@dataclass(frozen=True)
class AgreementReport:
    """Row-wise cosine similarity between reference and candidate embeddings.

    Attributes:
        mean: Mean cosine over all rows.
        min: Lowest cosine (the worst-agreeing text).
        p5: 5th percentile of the cosines.
        n: Number of rows compared.
    """

    mean: float
    min: float
    p5: float
    n: int

    def __str__(self) -> str:
        return (
            f"cosine vs reference: mean {self.mean:.4f}, min {self.min:.4f}, "
            f"p5 {self.p5:.4f} (n={self.n})"
        )


def cosine_agreement(
    reference: npt.ArrayLike,
    candidate: npt.ArrayLike,
) -> AgreementReport:
    """Compare two embeddings of the same texts row by row.

    Rows need not be normalised. A row of zeros agrees with nothing (cosine 0).

    Args:
        reference: Shape ``(n, dim)``, e.g. fp32 embeddings.
        candidate: Shape ``(n, dim)``, e.g. int8 embeddings of the same texts in the same order.

    Returns:
        Mean, minimum and 5th-percentile cosine, and the row count.

    Raises:
        InputError: The arrays are empty, not 2-D, differ in shape, or hold NaN/inf.

    Usage::

        >>> import numpy as np
        >>> cosine_agreement(np.eye(2), np.eye(2)).mean
        1.0
    """
    ref = np.asarray(reference, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if ref.ndim != 2 or cand.ndim != 2:
        raise InputError(
            f"cosine_agreement needs two 2-D (n, dim) arrays; got shapes {ref.shape} and {cand.shape}"
        )
    if ref.shape != cand.shape:
        raise InputError(
            f"cosine_agreement needs arrays of the same shape; got {ref.shape} (reference) "
            f"and {cand.shape} (candidate): embed the same texts with both models"
        )
    if ref.size == 0:
        raise InputError(
            f"cosine_agreement needs at least one non-empty row; got shape {ref.shape}"
        )
    for name, arr in (("reference", ref), ("candidate", cand)):
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            raise InputError(f"{name} row {int(np.argmax(bad))} holds NaN or inf")
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1)
    dots = np.einsum("ij,ij->i", ref, cand)
    cos = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    cos = np.clip(cos, -1.0, 1.0)
    return AgreementReport(
        mean=float(cos.mean()),
        min=float(cos.min()),
        p5=float(np.percentile(cos, 5)),
        n=int(cos.shape[0]),
    )


def settings_tag(
    *,
    per_channel: bool = True,
    op_types: Sequence[str] = DEFAULT_OP_TYPES,
    weight_type: WeightType = "int8",
    optimize: bool = False,
) -> str:
    """A short, canonical text naming the quantization settings, for cache keys.

    Usage::

        >>> settings_tag()
        'v2-int8-pc-Gather+MatMul'
    """
    ops = "+".join(sorted(set(op_types)))
    parts = [f"v{_RECIPE_VERSION}", weight_type, "pc" if per_channel else "pt", ops]
    if optimize:
        parts.append("opt")
    return "-".join(parts)


def quantized_cache_path(source: Path, cache_dir: Path, settings_tag: str) -> Path:
    """Where to cache the int8 model built from ``source``, outside the source's folder.

    The key covers the resolved path, size and modification time (ns) of ``source`` and of any
    sibling file whose name starts with its name (external data such as ``model.onnx_data``),
    plus ``settings_tag``: editing the model or the settings gives a new path, nothing else does.
    Nothing is created.

    Args:
        source: The fp32 ``.onnx`` file.
        cache_dir: Root of ragkit's cache.
        settings_tag: Names the quantization settings, e.g. from :func:`settings_tag`.

    Returns:
        ``cache_dir / "quantized" / <16 hex digits> / "model_int8.onnx"``.

    Raises:
        ModelFileError: ``source`` does not exist.

    Usage::

        target = quantized_cache_path(model_dir / "model.onnx", cache_dir, settings_tag())
        if not target.exists():
            quantize_model(model_dir / "model.onnx", target)
    """
    resolved = Path(source).resolve()
    try:
        st = resolved.stat()
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {source}: {exc}") from exc
    parts = [str(resolved), str(st.st_size), str(st.st_mtime_ns), settings_tag]
    try:
        siblings = sorted(
            p
            for p in resolved.parent.iterdir()
            if p.name.startswith(resolved.name) and p != resolved
        )
    except OSError:
        siblings = []
    for sib in siblings:
        try:
            sst = sib.stat()
        except OSError:
            continue
        parts += [sib.name, str(sst.st_size), str(sst.st_mtime_ns)]
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]
    return Path(cache_dir) / "quantized" / digest / "model_int8.onnx"


def quantize_model(
    source: Path,
    target: Path,
    *,
    per_channel: bool = True,
    op_types: Sequence[str] = DEFAULT_OP_TYPES,
    weight_type: WeightType = "int8",
    optimize: bool = False,
) -> Path:
    """Build an int8 ONNX model from an fp32 one with ONNX Runtime's dynamic quantizer.

    The write is atomic: the model is built in a temporary folder next to ``target`` and moved
    into place only when complete, so a failure leaves nothing (or the previous file) at
    ``target``. Parent folders are created. The source folder is never written to, so it may be
    read-only. Models with external data (over 2 GB) are handled: the int8 model then keeps its
    weights in ``target`` + ``".data"``.

    Args:
        source: The fp32 ``.onnx`` file.
        target: Where to write the int8 model.
        per_channel: One scale per output column of each weight (much more accurate).
        op_types: Operator types to quantize; see :data:`DEFAULT_OP_TYPES`.
        weight_type: ``"int8"`` (signed; fastest on CPUs with VNNI) or ``"uint8"``, for
            ``MatMul`` weights (``Gather`` tables are always stored as uint8).
        optimize: First run ONNX Runtime's BERT optimizer (fuses LayerNorm/GELU; needs
            ``sympy``). It did not make all-MiniLM-L6-v2 faster, hence off by default.

    Returns:
        ``target``.

    Raises:
        DependencyError: The ``onnx`` package (or ``sympy`` with ``optimize=True``) is missing.
        ConfigError: ``op_types`` is empty or names an operator the quantizer does not know,
            or ``weight_type`` is not ``"int8"``/``"uint8"``.
        ModelFileError: ``source`` (or its external data) is missing or not a valid ONNX file.
        QuantizationError: The quantizer failed; the message names the source and what to try.

    Usage::

        from pathlib import Path
        from ragkit.quantize_model import quantize_model

        quantize_model(Path("all-MiniLM-L6-v2/model.onnx"), Path("/tmp/minilm/model_int8.onnx"))
    """
    source, target = Path(source), Path(target)
    ops = _check_settings(op_types, weight_type)
    onnx, quantize_dynamic, quant_type = _import_quantizer(weight_type)
    data_files = _check_source(onnx, source)
    external = bool(data_files)
    logger.debug(
        "quantizing %s -> %s (per_channel=%s, op_types=%s, weight_type=%s, optimize=%s, "
        "external_data=%s)",
        source,
        target,
        per_channel,
        ops,
        weight_type,
        optimize,
        external,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        staged = _stage(source, data_files, workdir / "source")
        extra: dict[str, Any] = {}
        if optimize:
            staged = _optimize(staged, workdir / "optimized", external)
            extra["DefaultTensorType"] = onnx.TensorProto.FLOAT
        built = workdir / target.name
        try:
            with _quiet_quantizer():
                quantize_dynamic(
                    str(staged),
                    str(built),
                    op_types_to_quantize=list(ops),
                    per_channel=per_channel,
                    # 7-bit weights: ONNX Runtime's u8s8 kernels saturate on AVX2 and AVX-512
                    # CPUs without VNNI (int8 agreed with fp32 at 0.97 there, 0.99+ now).
                    reduce_range=True,
                    weight_type=quant_type,
                    use_external_data_format=external,
                    extra_options=extra,
                )
        except Exception as exc:
            raise QuantizationError(
                f"could not build an int8 model from {source}: {type(exc).__name__}: {exc}. "
                "Try op_types=('MatMul',), per_channel=False or optimize=False, or use the "
                "fp32 model (precision='fp32')"
            ) from exc
        _report_result(onnx, built, source)
        _commit(built, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    logger.debug(
        "built %s in %.1fs (%.0f%% of the fp32 file)",
        target,
        time.perf_counter() - started,
        100.0 * _total_size(target) / max(1, _total_size(source)),
    )
    return target


def _check_settings(op_types: Sequence[str], weight_type: str) -> tuple[str, ...]:
    if isinstance(op_types, str):
        op_types = (op_types,)
    ops = tuple(dict.fromkeys(op_types))
    if not ops:
        raise ConfigError(f"op_types must name at least one operator, e.g. {DEFAULT_OP_TYPES}")
    unknown = [op for op in ops if op not in _SUPPORTED_OP_TYPES]
    if unknown:
        raise ConfigError(
            f"op_types {unknown} cannot be quantized dynamically; choose from {_SUPPORTED_OP_TYPES}"
        )
    if weight_type not in ("int8", "uint8"):
        raise ConfigError(f"weight_type must be 'int8' or 'uint8', not {weight_type!r}")
    return ops


def _import_quantizer(weight_type: str) -> tuple[Any, Any, Any]:
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise DependencyError(
            f"building int8 models needs the onnx package ({exc}); {_INSTALL_HINT}"
        ) from exc
    quant_type = QuantType.QInt8 if weight_type == "int8" else QuantType.QUInt8
    return onnx, quantize_dynamic, quant_type


def _check_source(onnx: Any, source: Path) -> list[str]:
    """Validate ``source`` cheaply; return the relative paths of its external data files."""
    if not source.is_file():
        raise ModelFileError(f"model file {source} does not exist (or is not a file)")
    try:
        proto = onnx.load(str(source), load_external_data=False)
    except Exception as exc:
        raise ModelFileError(
            f"model file {source} is not a valid ONNX model ({type(exc).__name__}: {exc}); "
            "delete it and download or export it again"
        ) from exc
    if len(proto.graph.node) == 0:
        raise ModelFileError(f"model file {source} holds no graph; download or export it again")
    locations: list[str] = []
    for tensor in _iter_tensors(proto.graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            info = {entry.key: entry.value for entry in tensor.external_data}
            location = info.get("location", "")
            if location and location not in locations:
                locations.append(location)
    for location in locations:
        if Path(location).is_absolute() or ".." in Path(location).parts:
            raise ModelFileError(f"model file {source} points outside its folder: {location!r}")
        if not (source.parent / location).is_file():
            raise ModelFileError(
                f"external data file {source.parent / location} of {source} is missing"
            )
    return locations


def _iter_tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto of a graph: initializers and node attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _iter_tensors(attr.g)
            for sub in attr.graphs:
                yield from _iter_tensors(sub)


def _stage(source: Path, data_files: Sequence[str], folder: Path) -> Path:
    """Link (or copy) the model, and copy its external data, into ``folder``.

    ONNX Runtime's quantizer writes a shape-inferred copy next to its input, so it must not run
    on the original: the model folder may be read-only or shared. External data is copied, not
    linked: onnx refuses to load data files that have several hard links.
    """
    folder.mkdir()
    staged = folder / source.name
    try:
        os.link(source, staged)
    except OSError:
        shutil.copyfile(source, staged)
    for location in data_files:
        (folder / location).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.parent / location, folder / location)
    return staged


def _optimize(staged: Path, folder: Path, external: bool) -> Path:
    # The optimizer's symbolic shape inference needs sympy, which onnxruntime does not require.
    if importlib.util.find_spec("sympy") is None:
        raise DependencyError(
            "optimize=True needs sympy; install it with `pip install sympy`, or pass optimize=False"
        )
    from onnxruntime.transformers.optimizer import optimize_model

    folder.mkdir()
    out = folder / staged.name
    try:
        with _quiet_quantizer():
            # opt_level=0: Python fusions only; higher levels import torch.
            fused = optimize_model(
                str(staged), model_type="bert", num_heads=0, hidden_size=0, opt_level=0
            )
            fused.save_model_to_file(str(out), use_external_data_format=external)
    except Exception as exc:
        raise QuantizationError(
            f"the transformer optimizer failed on {staged.name}: {type(exc).__name__}: {exc}. "
            "Try optimize=False"
        ) from exc
    logger.debug("optimizer fusions: %s", fused.get_fused_operator_statistics())
    return out


_PREPROCESS_HINT = "Please consider to run pre-processing before quantization"


class _DropPreprocessHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_PREPROCESS_HINT)


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """Keep ONNX Runtime's quantizer from configuring logging behind the application's back.

    It calls ``logging.warning(...)`` on the root logger, which runs ``logging.basicConfig()``
    when the root logger has no handler. A ``NullHandler`` prevents that for the duration of
    the call. Its advice to run pre-processing is dropped: pre-processing changed nothing
    measurable here (same cosine, same speed) and needs sympy. Python warnings raised by
    onnx/onnxruntime internals (deprecations) are not the caller's business and are ignored.
    """
    root = logging.getLogger()
    guard = logging.NullHandler() if not root.handlers else None
    hint_filter = _DropPreprocessHint()
    if guard is not None:
        root.addHandler(guard)
    root.addFilter(hint_filter)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", category=DeprecationWarning, module=r"onnx(runtime)?\b"
            )
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"onnx(runtime)?\b")
            yield
    finally:
        root.removeFilter(hint_filter)
        if guard is not None:
            root.removeHandler(guard)


def _report_result(onnx: Any, built: Path, source: Path) -> None:
    """Check the output parses; warn when the quantizer found nothing to quantize."""
    try:
        proto = onnx.load(str(built), load_external_data=False)
    except Exception as exc:
        raise QuantizationError(
            f"the int8 model built from {source} cannot be read back ({exc}); "
            "try op_types=('MatMul',)"
        ) from exc
    quantized = sum(
        node.op_type in ("MatMulInteger", "DequantizeLinear", "DynamicQuantizeLinear")
        for node in proto.graph.node
    )
    if quantized == 0:
        logger.warning(
            "quantizing %s changed nothing: it has no quantizable operators of the chosen types",
            source,
        )


def _commit(built: Path, target: Path) -> None:
    """Move the built model (and its external data) into place; the model file goes last."""
    data = built.with_name(built.name + ".data")
    target_data = target.with_name(target.name + ".data")
    if data.exists():
        os.replace(data, target_data)
    elif target_data.exists():
        target_data.unlink()  # left over from an earlier external-data build
    os.replace(built, target)


def _total_size(model: Path) -> int:
    total = 0
    for path in (
        model,
        model.with_name(model.name + ".data"),
        model.with_name(model.name + "_data"),
    ):
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total
