"""The LlamaIndex embedding plugin (adapters/llama-index-embeddings-ragkit) on the real framework."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.embeddings.ragkit import RagkitEmbedding

from ragkit import ConfigError, HashEmbedder, TextEmbedder

QUERY = "binary vector search"
TEXTS = [
    "binary codes keep one bit per vector and the search is fast.",
    "the cat and the dog sleep in the world of science.",
    "a query is a passage of the search document.",
    "hello world",
    "a binary vector embedding is small.",
]


@pytest.fixture(autouse=True)
def mock_llm_settings() -> Iterator[None]:
    """No test may reach OpenAI: LlamaIndex's default LLM is replaced by MockLLM."""
    previous = Settings._llm
    Settings.llm = MockLLM()
    yield
    Settings._llm = previous


@pytest.fixture(scope="module")
def embed_model(tiny_prompt_model_dir: Path) -> RagkitEmbedding:
    return RagkitEmbedding(tiny_prompt_model_dir)


@pytest.fixture(scope="module")
def embedder(tiny_prompt_model_dir: Path) -> TextEmbedder:
    return TextEmbedder(tiny_prompt_model_dir)


class ThreadRecordingEmbedder(HashEmbedder):
    """A HashEmbedder that notes which thread each call ran on."""

    def __init__(self) -> None:
        super().__init__(16, query_prompt="query: ", document_prompt="passage: ")
        self.threads: list[int] = []

    def embed_documents(self, texts: Sequence[str]) -> Any:
        self.threads.append(threading.get_ident())
        return super().embed_documents(texts)

    def embed_query(self, text: Any) -> Any:
        self.threads.append(threading.get_ident())
        return super().embed_query(text)


def test_it_is_a_llama_index_embedding_with_ragkits_settings(
    embed_model: RagkitEmbedding, tiny_prompt_model_dir: Path
) -> None:
    assert isinstance(embed_model, BaseEmbedding)
    assert RagkitEmbedding.class_name() == "RagkitEmbedding"
    assert embed_model.model_name == str(tiny_prompt_model_dir)
    assert (embed_model.precision, embed_model.dim) == ("fp32", None)
    assert embed_model.embed_batch_size == 64
    assert isinstance(embed_model.embedder, TextEmbedder)
    assert embed_model.embedder.spec.query_prompt == "query: "
    assert embed_model.embedder.spec.document_prompt == "passage: "


def test_queries_get_the_query_prompt_and_texts_the_document_prompt(
    embed_model: RagkitEmbedding, embedder: TextEmbedder
) -> None:
    query = embed_model.get_query_embedding(QUERY)
    text = embed_model.get_text_embedding(QUERY)
    assert isinstance(query, list) and all(isinstance(x, float) for x in query)
    assert query == embedder.embed_query(QUERY).tolist()
    assert text == embedder.embed_documents([QUERY])[0].tolist()
    # Same string, different prompts: "query: ..." and "passage: ..." are different vectors.
    assert not np.allclose(query, text)
    np.testing.assert_allclose(np.linalg.norm(query), 1.0, atol=1e-5)


def test_a_model_without_prompts_embeds_both_sides_alike(tiny_model_dir: Path) -> None:
    plain = RagkitEmbedding(tiny_model_dir)
    assert plain.get_query_embedding(QUERY) == plain.get_text_embedding(QUERY)


def test_prompts_can_be_overridden(tiny_prompt_model_dir: Path, embedder: TextEmbedder) -> None:
    swapped = RagkitEmbedding(tiny_prompt_model_dir, query_prompt="passage: ", document_prompt="")
    assert (swapped.query_prompt, swapped.document_prompt) == ("passage: ", "")
    assert swapped.get_query_embedding(QUERY) == embedder.embed_documents([QUERY])[0].tolist()
    no_prompt = TextEmbedder(tiny_prompt_model_dir, document_prompt="")
    assert swapped.get_text_embedding(QUERY) == no_prompt.embed_documents([QUERY])[0].tolist()


def test_batches_match_embed_documents_in_order(
    tiny_prompt_model_dir: Path, embedder: TextEmbedder
) -> None:
    small_batches = RagkitEmbedding(tiny_prompt_model_dir, embed_batch_size=2)
    vectors = small_batches.get_text_embedding_batch(TEXTS)
    np.testing.assert_allclose(vectors, embedder.embed_documents(TEXTS), atol=1e-6)
    assert small_batches.get_text_embedding_batch([]) == []
    assert small_batches.get_agg_embedding_from_queries([QUERY]) == pytest.approx(
        embedder.embed_query(QUERY).tolist(), abs=1e-6
    )


def test_async_calls_equal_the_sync_ones(embed_model: RagkitEmbedding) -> None:
    async def run() -> tuple[list[float], list[float], list[list[float]]]:
        return (
            await embed_model.aget_query_embedding(QUERY),
            await embed_model.aget_text_embedding(TEXTS[0]),
            await embed_model.aget_text_embedding_batch(TEXTS),
        )

    query, text, batch = asyncio.run(run())
    assert query == embed_model.get_query_embedding(QUERY)
    assert text == embed_model.get_text_embedding(TEXTS[0])
    np.testing.assert_allclose(batch, embed_model.get_text_embedding_batch(TEXTS), atol=1e-6)


def test_async_calls_run_in_a_worker_thread() -> None:
    recording = ThreadRecordingEmbedder()
    embed_model = RagkitEmbedding(embedder=recording)

    async def run() -> None:
        await embed_model.aget_query_embedding(QUERY)
        await embed_model.aget_text_embedding(QUERY)
        await embed_model.aget_text_embedding_batch(TEXTS)

    asyncio.run(run())
    assert len(recording.threads) == 3
    assert threading.get_ident() not in recording.threads


def test_an_existing_embedder_is_reused_and_described(embedder: TextEmbedder) -> None:
    shared = RagkitEmbedding(embedder=embedder)
    assert shared.embedder is embedder
    assert shared.model_name == embedder.spec.model_id
    assert (shared.query_prompt, shared.document_prompt) == ("query: ", "passage: ")
    assert shared.get_query_embedding(QUERY) == embedder.embed_query(QUERY).tolist()
    hashed = RagkitEmbedding(embedder=HashEmbedder(8))
    assert (hashed.model_name, hashed.dim, len(hashed.get_text_embedding("x"))) == ("hash", 8, 8)


def test_model_arguments_with_an_embedder_are_refused(embedder: TextEmbedder) -> None:
    with pytest.raises(ConfigError, match="dim, threads"):
        RagkitEmbedding(embedder=embedder, dim=8, threads=1)
    with pytest.raises(ConfigError, match="precision"):
        RagkitEmbedding(embedder=embedder, precision="int8")


def test_it_round_trips_through_llama_index_serialisation(
    embed_model: RagkitEmbedding,
) -> None:
    data = embed_model.to_dict()
    assert data["class_name"] == "RagkitEmbedding"
    rebuilt = RagkitEmbedding.from_dict(data)
    assert rebuilt.model_name == embed_model.model_name
    assert rebuilt.get_query_embedding(QUERY) == embed_model.get_query_embedding(QUERY)


def test_matryoshka_dim_reaches_the_embedder(tiny_prompt_model_dir: Path) -> None:
    with pytest.warns(UserWarning, match="Matryoshka"):
        short = RagkitEmbedding(tiny_prompt_model_dir, dim=8)
    vector = short.get_query_embedding(QUERY)
    assert (short.dim, len(vector)) == (8, 8)
    np.testing.assert_allclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def _index(embed_model: RagkitEmbedding) -> VectorStoreIndex:
    documents = [Document(text=t, doc_id=f"d{i}") for i, t in enumerate(TEXTS)]
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)


def test_vector_store_index_retrieves_by_true_cosine_with_both_prompts(
    embed_model: RagkitEmbedding, embedder: TextEmbedder
) -> None:
    index = _index(embed_model)
    assert isinstance(index.vector_store, SimpleVectorStore)
    hits = index.as_retriever(similarity_top_k=3).retrieve(QUERY)
    # The expected order: ragkit's own query vector against its own document vectors.
    cosines = embedder.embed_documents(TEXTS) @ embedder.embed_query(QUERY)
    expected = [f"d{i}" for i in np.argsort(-cosines)[:3]]
    assert [h.node.ref_doc_id for h in hits] == expected
    for hit in hits:
        doc = int(str(hit.node.ref_doc_id)[1:])
        assert hit.score == pytest.approx(float(cosines[doc]), abs=1e-5)


def test_query_engine_with_mock_llm_sync_and_async(embed_model: RagkitEmbedding) -> None:
    index = _index(embed_model)
    retriever = index.as_retriever(similarity_top_k=2)
    expected = [h.node.node_id for h in retriever.retrieve(QUERY)]
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query(QUERY)
    assert [h.node.node_id for h in response.source_nodes] == expected
    assert str(response)
    response = asyncio.run(engine.aquery(QUERY))
    assert [h.node.node_id for h in response.source_nodes] == expected
    # Settings-level use: index.as_query_engine picks up Settings.llm (MockLLM here).
    answer = index.as_query_engine(similarity_top_k=2).query(QUERY)
    assert [h.node.node_id for h in answer.source_nodes] == expected


def test_embedding_calls_reach_the_callback_manager(tiny_prompt_model_dir: Path) -> None:
    debug = LlamaDebugHandler()
    embed_model = RagkitEmbedding(tiny_prompt_model_dir, callback_manager=CallbackManager([debug]))
    embed_model.get_query_embedding(QUERY)
    embed_model.get_text_embedding_batch(TEXTS)
    assert len(debug.get_event_pairs(CBEventType.EMBEDDING)) == 2
