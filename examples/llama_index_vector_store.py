"""ragkit as a LlamaIndex vector store: build a VectorStoreIndex on it, filter, delete, reopen.

Needs the adapters: ``pip install -e adapters/llama-index-vector-stores-ragkit -e
adapters/llama-index-embeddings-ragkit``. The model is ``RAGKIT_MODEL``: a catalogue id
(default ``BAAI/bge-small-en-v1.5``, downloaded once) or a local model folder. LlamaIndex
splits and embeds the corpus's Markdown and text files (``RagkitEmbedding`` applies the
model's query and document prompts); ``RagkitVectorStore`` keeps the nodes in a persistent
``ChromaStore`` and scores every hit with its true cosine. The LLM is LlamaIndex's
``MockLLM``, which echoes the prompt, so nothing leaves the machine.

Usage::

    RAGKIT_MODEL=../shared/models/all-MiniLM-L6-v2 python examples/llama_index_vector_store.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeWithScore
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters
from llama_index.embeddings.ragkit import RagkitEmbedding
from llama_index.vector_stores.ragkit import RagkitVectorStore

CORPUS = Path(__file__).resolve().parent / "corpus"
QUESTIONS = [
    "How often should I feed a sourdough starter?",
    "Why rescore binary search results?",
]


def load_documents() -> list[Document]:
    """The corpus's Markdown and text files, with their format and folder as metadata."""
    return [
        Document(
            text=path.read_text(encoding="utf-8"),
            doc_id=str(path.relative_to(CORPUS)),
            metadata={"format": path.suffix[1:], "folder": path.parent.name},
        )
        for path in sorted(CORPUS.rglob("*"))
        if path.suffix in {".md", ".txt"}
    ]


def show(title: str, hits: Sequence[NodeWithScore]) -> None:
    """Print each hit's cosine, document and format."""
    print(f"\n{title}")
    for hit in hits:
        print(f"  cosine {hit.score:.3f}  {hit.node.ref_doc_id}  ({hit.node.metadata['format']})")


def main() -> None:
    """Index the corpus into a persistent RagkitVectorStore, query it, then reopen it."""
    embed_model = RagkitEmbedding(os.environ.get("RAGKIT_MODEL", "BAAI/bge-small-en-v1.5"))
    documents = load_documents()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index"
        # embedder=: the collection records the model, so reopening it with another one fails.
        with RagkitVectorStore(path=path, embedder=embed_model.embedder) as vector_store:
            index = VectorStoreIndex.from_documents(
                documents,
                storage_context=StorageContext.from_defaults(vector_store=vector_store),
                embed_model=embed_model,
                transformations=[SentenceSplitter(chunk_size=200, chunk_overlap=20)],
            )
            print(f"indexed {len(documents)} documents as {vector_store.store.count()} nodes")

            retriever = index.as_retriever(similarity_top_k=3)
            for question in QUESTIONS:
                show(question, retriever.retrieve(question))

            # LlamaIndex filters become Chroma filters: only the plain-text notes.
            text_only = MetadataFilters(
                filters=[MetadataFilter(key="format", value="txt", operator=FilterOperator.EQ)]
            )
            hits = index.as_retriever(similarity_top_k=3, filters=text_only).retrieve(QUESTIONS[1])
            show(f"{QUESTIONS[1]} (.txt only)", hits)

            # A query engine, asynchronously (the store's work runs in a worker thread).
            engine = index.as_query_engine(similarity_top_k=2, llm=MockLLM())
            response = asyncio.run(engine.aquery(QUESTIONS[0]))
            show(f"{QUESTIONS[0]} (query engine, async)", response.source_nodes)

            # Deleting a document deletes all of its nodes.
            before = vector_store.store.count()
            index.delete_ref_doc("guides/sourdough-bread.md")
            after = vector_store.store.count()
            print(f"\ndeleted guides/sourdough-bread.md: {before} -> {after} nodes")

        # The store persists in its folder: reopen it and query without re-embedding anything.
        with RagkitVectorStore(path=path, embedder=embed_model.embedder) as reopened:
            index = VectorStoreIndex.from_vector_store(reopened, embed_model=embed_model)
            show(
                f"{QUESTIONS[0]} (reopened, sourdough deleted)",
                index.as_retriever(similarity_top_k=3).retrieve(QUESTIONS[0]),
            )


if __name__ == "__main__":
    main()
