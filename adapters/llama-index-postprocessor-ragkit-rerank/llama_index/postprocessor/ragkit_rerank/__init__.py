"""ragkit's ONNX cross-encoder reranking (local, offline, fp32 or int8) for LlamaIndex.

Usage::

    from llama_index.postprocessor.ragkit_rerank import RagkitRerank
    rerank = RagkitRerank("cross-encoder/ms-marco-MiniLM-L-6-v2", top_n=3, precision="int8")
    engine = index.as_query_engine(similarity_top_k=20, node_postprocessors=[rerank])
"""

from __future__ import annotations

from llama_index.postprocessor.ragkit_rerank.base import (
    RETRIEVAL_SCORE_KEY,
    RagkitRerank,
    node_text,
)

__all__ = ["RETRIEVAL_SCORE_KEY", "RagkitRerank", "node_text"]
