"""ragkit inside a plain LlamaIndex pipeline: RagkitEmbedding for the index, RagkitRerank after it.

Needs the adapters: ``pip install -e adapters/llama-index-embeddings-ragkit -e
adapters/llama-index-postprocessor-ragkit-rerank``. The embedding model is ``RAGKIT_MODEL``: a
catalogue id (default ``BAAI/bge-small-en-v1.5``, downloaded once) or a local model folder; its
query prompt is applied to questions and its document prompt to the corpus. The cross-encoder
step runs only when ``RAGKIT_RERANKER`` names one (a catalogue id such as
``cross-encoder/ms-marco-MiniLM-L-6-v2`` or a local folder); otherwise it is skipped. The LLM
is LlamaIndex's ``MockLLM``, which echoes the prompt, so nothing leaves the machine.

Usage::

    RAGKIT_MODEL=../shared/models/all-MiniLM-L6-v2 python examples/llama_index_embedding_rerank.py
    RAGKIT_RERANKER=cross-encoder/ms-marco-MiniLM-L-6-v2 python examples/llama_index_embedding_rerank.py
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.embeddings.ragkit import RagkitEmbedding
from llama_index.postprocessor.ragkit_rerank import RagkitRerank

CORPUS = Path(__file__).resolve().parent / "corpus"
QUESTIONS = [
    "How often should I feed a sourdough starter?",
    "Why rescore binary search results?",
]


def load_documents() -> list[Document]:
    """The corpus's Markdown and text files as LlamaIndex documents (HTML/JSONL left out)."""
    return [
        Document(text=path.read_text(encoding="utf-8"), doc_id=str(path.relative_to(CORPUS)))
        for path in sorted(CORPUS.rglob("*"))
        if path.suffix in {".md", ".txt"}
    ]


def main() -> None:
    """Embed the corpus with ragkit, retrieve with LlamaIndex, then rerank if a model is set."""
    embed_model = RagkitEmbedding(os.environ.get("RAGKIT_MODEL", "BAAI/bge-small-en-v1.5"))
    model = embed_model.embedder.fingerprint()
    print(f"model {model['model']}: query prompt {model['query_prompt']!r}, ", end="")
    print(f"document prompt {model['document_prompt']!r}")
    documents = load_documents()
    index = VectorStoreIndex.from_documents(
        documents,
        embed_model=embed_model,
        transformations=[SentenceSplitter(chunk_size=200, chunk_overlap=20)],
    )
    print(f"indexed {len(documents)} documents")

    retriever = index.as_retriever(similarity_top_k=3)
    for question in QUESTIONS:
        print(f"\n{question}")
        for hit in retriever.retrieve(question):
            print(f"  cosine {hit.score:.3f}  {hit.node.ref_doc_id}")

    reranker_model = os.environ.get("RAGKIT_RERANKER")
    if not reranker_model:
        print("\nreranking skipped: set RAGKIT_RERANKER to a cross-encoder id or folder")
        return
    rerank = RagkitRerank(reranker_model, top_n=3, keep_retrieval_score=True)
    engine = RetrieverQueryEngine.from_args(
        index.as_retriever(similarity_top_k=10), llm=MockLLM(), node_postprocessors=[rerank]
    )
    for question in QUESTIONS:
        response = asyncio.run(engine.aquery(question))
        print(f"\n{question} (reranked by {rerank.model})")
        for hit in response.source_nodes:
            cosine = hit.node.metadata["retrieval_score"]
            print(f"  rerank {hit.score:.3f}  cosine {cosine:.3f}  {hit.node.ref_doc_id}")


if __name__ == "__main__":
    main()
