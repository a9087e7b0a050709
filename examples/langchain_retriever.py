"""ragkit's retrieval pipeline as a LangChain retriever: index the demo corpus, then ask.

``ragkit``'s ``Indexer`` chunks the folder with the model's own tokenizer into a ChromaStore;
``RagkitRetriever`` runs hybrid search (dense + BM25, fused by rank) over it and returns
LangChain ``Document``s with their source, character offsets and every stage's score.

Needs the adapter: ``pip install -e adapters/langchain-ragkit`` (and ``ragkit[html,lexical]``
for the corpus's HTML files and BM25). The model is ``RAGKIT_MODEL``: a catalogue id (default
``BAAI/bge-small-en-v1.5``, downloaded once) or a local model folder.

Usage::

    RAGKIT_MODEL=../shared/models/all-MiniLM-L6-v2 python examples/langchain_retriever.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from langchain_ragkit import RagkitRetriever

from ragkit import BM25Index, ChromaStore, Indexer, RecursiveChunker, TextEmbedder

CORPUS = Path(__file__).resolve().parent / "corpus"
QUESTIONS = [
    "How often should I feed a sourdough starter?",
    "Why rescore binary search results?",
]


def main() -> None:
    """Index the corpus into a temporary store, then retrieve through LangChain's interface."""
    embedder = TextEmbedder(os.environ.get("RAGKIT_MODEL", "BAAI/bge-small-en-v1.5"))
    with (
        tempfile.TemporaryDirectory() as folder,
        ChromaStore("demo", embedder=embedder, path=Path(folder) / "index") as store,
    ):
        report = Indexer(store, RecursiveChunker(embedder)).index([CORPUS])
        print(f"indexed {report.files_indexed} files into {report.chunks_written} chunks")
        retriever = RagkitRetriever.from_store(store, k=3, hybrid=BM25Index(store))
        for question in QUESTIONS:
            print(f"\n{question}")
            for doc in retriever.invoke(question):
                scores = ", ".join(f"{k} {v:.3f}" for k, v in doc.metadata["scores"].items())
                where = f"{doc.metadata['source']}[{doc.metadata['start']}:{doc.metadata['end']}]"
                print(f"  {where}  ({scores})  {doc.page_content[:50]!r}")
        # The async interface, as a LangChain chain or agent calls it.
        docs = asyncio.run(retriever.ainvoke(QUESTIONS[1], k=1))
        print(f"\nainvoke, k=1: {docs[0].metadata['source']}")


if __name__ == "__main__":
    main()
