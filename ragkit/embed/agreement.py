"""How closely an int8 model agrees with its fp32 original, on sample or given texts.

Usage::

    report = int8_agreement("sentence-transformers/all-MiniLM-L6-v2")
    report.mean, report.min   # cosine of int8 vs fp32 embeddings of the same texts
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ragkit.catalog import ModelSpec
from ragkit.embed.onnx import TextEmbedder
from ragkit.quantize_model import AgreementReport, cosine_agreement

__all__ = ["SAMPLE_TEXTS", "int8_agreement"]

SAMPLE_TEXTS: tuple[str, ...] = (
    "Binary embeddings keep one bit per dimension and take 32 times less memory than float32.",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "The mitochondria is the powerhouse of the cell.",
    "Vitamin D deficiency is associated with an increased risk of respiratory infections.",
    "How do I reset my password?",
    "Click 'Forgot password' on the sign-in page and follow the link sent to your email.",
    "def quicksort(xs): return xs if len(xs) < 2 else quicksort([x for x in xs[1:] if x < xs[0]]) + [xs[0]]",
    "The Treaty of Westphalia in 1648 ended the Thirty Years' War.",
    "Stock markets fell sharply after the central bank raised interest rates.",
    "A cross-encoder scores a query and a passage together rather than separately.",
    "Ingredients: 200 g flour, 2 eggs, 300 ml milk, a pinch of salt.",
    "The patient presented with fever, cough and shortness of breath for three days.",
    "Quantum entanglement links the states of two particles regardless of distance.",
    "Le chat est assis sur le tapis.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "El aprendizaje automático es una rama de la inteligencia artificial.",
    "機械学習は人工知能の一分野です。",
    "Error 404: the requested page could not be found on this server.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Aspirin irreversibly inhibits cyclooxygenase enzymes.",
    "The quarterly report shows revenue growth of 12% year over year.",
    "short",
    "",
    "Transformers use self-attention to relate every token to every other token in a sequence.",
    "Rainfall in the region has decreased steadily over the past two decades.",
    "How many bits are in a byte?",
    "A byte has eight bits.",
    "The defendant pleaded not guilty to all charges.",
    "Late chunking pools token embeddings after running the model over the whole document.",
)


def int8_agreement(
    model: str | Path | ModelSpec,
    texts: Sequence[str] = SAMPLE_TEXTS,
    *,
    threads: int | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
) -> AgreementReport:
    """Embed ``texts`` with the fp32 and int8 models and compare them row by row (cosine)."""
    kwargs = {
        "threads": threads,
        "cache_dir": cache_dir,
        "offline": offline,
        "show_progress_bar": False,
    }
    fp32 = TextEmbedder(model, precision="fp32", **kwargs)  # type: ignore[arg-type]
    int8 = TextEmbedder(model, precision="int8", **kwargs)  # type: ignore[arg-type]
    return cosine_agreement(fp32.embed_documents(texts), int8.embed_documents(texts))
