"""ragkit embeddings (local, quantized ONNX, the model's own query/document prompts) for LlamaIndex.

Usage::

    from llama_index.embeddings.ragkit import RagkitEmbedding
    embed_model = RagkitEmbedding("intfloat/e5-small-v2", precision="int8")
    index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
"""

from __future__ import annotations

from llama_index.embeddings.ragkit.base import RagkitEmbedding

__all__ = ["RagkitEmbedding"]
