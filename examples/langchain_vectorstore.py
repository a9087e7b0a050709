"""ragkit as a LangChain vector store: add the demo corpus's Markdown files, then search.

Needs the adapter: ``pip install -e adapters/langchain-ragkit``. The model is ``RAGKIT_MODEL``:
a catalogue id (default ``BAAI/bge-small-en-v1.5``, downloaded once) or a local model folder.
Nothing else leaves the machine.

Usage::

    RAGKIT_MODEL=../shared/models/all-MiniLM-L6-v2 python examples/langchain_vectorstore.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from langchain_core.documents import Document
from langchain_ragkit import RagkitEmbeddings, RagkitVectorStore

from ragkit import RecursiveChunker

CORPUS = Path(__file__).resolve().parent / "corpus"
QUESTIONS = [
    "How often should I feed a sourdough starter?",
    "Why rescore binary search results?",
]


def main() -> None:
    """Chunk the corpus's text files into a temporary store and query it through LangChain."""
    embeddings = RagkitEmbeddings(
        model_name=os.environ.get("RAGKIT_MODEL", "BAAI/bge-small-en-v1.5")
    )
    chunker = RecursiveChunker(embeddings.embedder)  # counts tokens with the model's tokenizer
    documents = [
        Document(page_content=chunk.text, metadata={"source": path.name, "start": chunk.start})
        for path in sorted(CORPUS.rglob("*"))
        if path.suffix in {".md", ".txt"}
        for chunk in chunker.chunk(path.read_text(encoding="utf-8"))
    ]
    with (
        tempfile.TemporaryDirectory() as folder,
        RagkitVectorStore(embeddings, path=Path(folder) / "index") as store,
    ):
        ids = store.add_documents(documents)
        print(
            f"added {len(ids)} chunks from {len({d.metadata['source'] for d in documents})} files"
        )

        for question in QUESTIONS:
            print(f"\n{question}")
            for doc, cosine in store.similarity_search_with_score(question, k=3):
                print(f"  {cosine:.3f}  {doc.metadata['source']}  {doc.page_content[:60]!r}")

        # A retriever for chains: MMR over the 10 closest chunks, from one source file.
        source = documents[0].metadata["source"]
        retriever = store.as_retriever(
            search_type="mmr",
            search_kwargs={"k": 2, "fetch_k": 10, "filter": {"source": source}},
        )
        print(f"\nMMR within {source}:")
        for doc in retriever.invoke(QUESTIONS[0]):
            print(f"  {doc.id}  {doc.page_content[:60]!r}")


if __name__ == "__main__":
    main()
