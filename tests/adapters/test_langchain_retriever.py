"""langchain-ragkit's RagkitRetriever: ragkit's pipeline behind LangChain's BaseRetriever."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_ragkit import RagkitRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from ragkit import (
    BM25Index,
    ChromaStore,
    ConfigError,
    FilterError,
    Indexer,
    InputError,
    RecursiveChunker,
    Retriever,
    TextEmbedder,
)

QUESTION = "binary vector search"
NOTES = [
    "binary codes keep one bit per vector and the search is fast.",
    "the cat and the dog sleep in the world of science.",
    "a query is a passage of the search document.",
    "a science claim of the document about a binary embedding.",
]
GLOSSARY = [
    {"_id": "g1", "title": "binary", "text": "a binary vector embedding is small."},
    {"_id": "g2", "title": "claim", "text": "a science claim of the document."},
]

for _name in dir(RetrieversIntegrationTests):  # strict asyncio mode: mark the suite's coroutines
    _test = getattr(RetrieversIntegrationTests, _name)
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        if not any(m.name == "asyncio" for m in getattr(_test, "pytestmark", [])):
            pytest.mark.asyncio(_test)


@pytest.fixture(scope="module")
def store(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaStore]:
    """A store written by ragkit's Indexer: one text file (one chunk a line) and a JSONL file."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "notes.txt").write_text("\n\n".join(NOTES))
    (root / "glossary.jsonl").write_text("\n".join(json.dumps(g) for g in GLOSSARY) + "\n")
    embedder = TextEmbedder(tiny_model_dir)
    with ChromaStore(
        "langchain", embedder=embedder, path=tmp_path_factory.mktemp("s") / "i"
    ) as opened:
        Indexer(opened, RecursiveChunker(embedder)).index([root])
        yield opened


class TestRagkitRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's own retriever suite (langchain-tests)."""

    @pytest.fixture(autouse=True)
    def _store(self, store: ChromaStore) -> None:
        self.store = store

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return RagkitRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"retriever": Retriever(self.store, k=4)}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_documents_carry_the_pipelines_passages_scores_and_offsets(store: ChromaStore) -> None:
    pipeline = Retriever(store, k=4)
    passages = pipeline.retrieve(QUESTION)
    docs = RagkitRetriever(retriever=pipeline).invoke(QUESTION)
    assert [d.id for d in docs] == [p.id for p in passages]
    assert [d.metadata["score"] for d in docs] == [p.score for p in passages]
    for doc, passage in zip(docs, passages, strict=True):
        assert isinstance(doc, Document)
        assert doc.page_content == passage.text
        assert doc.metadata["scores"] == {"cosine": passage.score}
        assert (doc.metadata["source"], doc.metadata["start"], doc.metadata["end"]) == (
            passage.source,
            passage.start,
            passage.end,
        )
    # The offsets point into the document: the text file's chunks are its exact slices.
    notes = "\n\n".join(NOTES)
    for doc in docs:
        if doc.metadata["source"] == "notes.txt":
            assert notes[doc.metadata["start"] : doc.metadata["end"]] == doc.page_content
    titled = [d for d in docs if d.metadata["source"].startswith("glossary.jsonl")]
    assert all(d.metadata["title"] in {"binary", "claim"} for d in titled)


def test_k_from_the_constructor_and_per_call(store: ChromaStore) -> None:
    retriever = RagkitRetriever.from_store(store, k=4)
    assert len(retriever.invoke(QUESTION)) == 4
    assert len(RagkitRetriever(retriever=Retriever(store, k=4), k=2).invoke(QUESTION)) == 2
    assert len(retriever.invoke(QUESTION, k=1)) == 1


def test_where_filters_from_the_constructor_and_per_call(store: ChromaStore) -> None:
    only_notes = RagkitRetriever.from_store(store, k=6, where={"source": "notes.txt"})
    assert {d.metadata["source"] for d in only_notes.invoke(QUESTION)} == {"notes.txt"}
    other = only_notes.invoke(QUESTION, where={"source": {"$ne": "notes.txt"}})
    assert other and all(d.metadata["source"] != "notes.txt" for d in other)
    contains = RagkitRetriever.from_store(store, k=6, where_document={"$contains": "cat"})
    found = contains.invoke(QUESTION)
    assert found and all("cat" in d.page_content for d in found)


def test_hybrid_pipeline_scores_come_through(store: ChromaStore) -> None:
    retriever = RagkitRetriever.from_store(store, k=3, hybrid=BM25Index(store, persist=False))
    docs = retriever.invoke(QUESTION)
    assert docs and all({"fusion", "cosine"} <= set(d.metadata["scores"]) for d in docs)
    assert all(d.metadata["score"] == d.metadata["scores"]["fusion"] for d in docs)


def test_bad_construction_and_queries_raise_ragkits_errors(store: ChromaStore) -> None:
    with pytest.raises(ConfigError, match="ChromaStore"):
        RagkitRetriever.from_store(object())  # type: ignore[arg-type]
    with pytest.raises(FilterError, match=r"\$regex"):
        RagkitRetriever.from_store(store, where={"source": {"$regex": "x"}})
    with pytest.raises(ValueError, match=r"unknown operator '\$regex'"):  # pydantic's wrapper
        RagkitRetriever(retriever=Retriever(store), where={"source": {"$regex": "x"}})
    with pytest.raises(FilterError):
        RagkitRetriever.from_store(store).invoke(QUESTION, where={"source": {"$bad": 1}})
    with pytest.raises(ConfigError, match="k must be"):
        RagkitRetriever.from_store(store, k=0)
    with pytest.raises(InputError, match="empty"):
        RagkitRetriever.from_store(store).invoke("   ")


def test_ainvoke_runs_in_a_worker_thread_and_leaves_the_event_loop_free(
    store: ChromaStore,
) -> None:
    """A slow pipeline must not block the loop: a ticker keeps ticking during ainvoke."""

    threads: list[threading.Thread] = []

    class SlowRetriever(Retriever):
        def retrieve(self, query: str, **kwargs: Any) -> Any:
            threads.append(threading.current_thread())
            time.sleep(0.3)
            return super().retrieve(query, **kwargs)

    retriever = RagkitRetriever(retriever=SlowRetriever(store, k=2))

    async def scenario() -> tuple[list[Document], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        docs = await retriever.ainvoke(QUESTION)
        task.cancel()
        return docs, ticks

    docs, ticks = asyncio.run(scenario())
    assert len(docs) == 2 and ticks >= 10
    assert threads[0] is not threading.main_thread()
    assert [d.id for d in docs] == [d.id for d in retriever.invoke(QUESTION)]
