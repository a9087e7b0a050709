"""Built-in catalogue entries. Facts come from each model's hub repo and model card."""

from __future__ import annotations

from ragkit.catalog import ModelSpec

__all__ = ["BUILTIN_MODELS"]

BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        model_id="sentence-transformers/all-MiniLM-L6-v2",
        dim=384,
        pooling="mean",
        max_tokens=256,
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_qint8_avx512_vnni.onnx"},
        license="apache-2.0",
        description="Small, fast English model; no prompts.",
    ),
)
