"""ragkit as a LlamaIndex retriever: index the demo corpus, then ask through a query engine.

Needs the adapter: ``pip install -e adapters/llama-index-retrievers-ragkit`` (and the ``html``
extra for the corpus's HTML files). The model is ``RAGKIT_MODEL``: a catalogue id (default
``BAAI/bge-small-en-v1.5``, downloaded once) or a local model folder. The LLM is LlamaIndex's
``MockLLM``, which echoes the prompt, so nothing leaves the machine; pass any LlamaIndex LLM
instead for real answers.

Usage::

    RAGKIT_MODEL=../shared/models/all-MiniLM-L6-v2 python examples/llama_index_retriever.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters
from llama_index.retrievers.ragkit import RagkitRetriever

from ragkit import ChromaStore, Indexer, MarkdownChunker, RecursiveChunker, TextEmbedder

CORPUS = Path(__file__).resolve().parent / "corpus"
QUESTIONS = [
    "How often should I feed a sourdough starter?",
    "Why rescore binary search results?",
]


def main() -> None:
    """Index ``examples/corpus`` into a temporary store and query it through LlamaIndex."""
    embedder = TextEmbedder(os.environ.get("RAGKIT_MODEL", "BAAI/bge-small-en-v1.5"))
    with (
        tempfile.TemporaryDirectory() as folder,
        ChromaStore("demo", embedder=embedder, path=Path(folder) / "index") as store,
    ):
        indexer = Indexer(
            store, RecursiveChunker(embedder), markdown_chunker=MarkdownChunker(embedder)
        )
        report = indexer.index([CORPUS])
        print(f"indexed {report.files_indexed} files as {report.chunks_written} chunks")

        engine = RetrieverQueryEngine.from_args(RagkitRetriever(store, k=3), llm=MockLLM())
        for question in QUESTIONS:
            response = engine.query(question)
            print(f"\n{question}")
            for hit in response.source_nodes:
                meta = hit.node.metadata
                span = f"[{meta['start']}:{meta['end']}]"
                where = " > ".join(meta["heading_path"]) or meta.get("title", "")
                print(f"  {hit.score:.3f}  {hit.node.ref_doc_id}  {span}  {where}")

        # Same engine, asynchronously, restricted to Markdown files with LlamaIndex filters.
        markdown_only = MetadataFilters(
            filters=[MetadataFilter(key="format", value="md", operator=FilterOperator.EQ)]
        )
        retriever = RagkitRetriever(store, k=3, filters=markdown_only)
        engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
        response = asyncio.run(engine.aquery(QUESTIONS[1]))
        print(f"\n{QUESTIONS[1]} (Markdown only, async)")
        for hit in response.source_nodes:
            print(f"  {hit.score:.3f}  {hit.node.ref_doc_id}  scores={hit.node.metadata['scores']}")


if __name__ == "__main__":
    main()
