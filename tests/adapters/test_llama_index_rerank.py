"""The LlamaIndex rerank plugin (adapters/llama-index-postprocessor-ragkit-rerank) on the real framework."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.llms import MockLLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import ImageNode, MetadataMode, NodeWithScore, QueryBundle, TextNode
from llama_index.embeddings.ragkit import RagkitEmbedding
from llama_index.postprocessor.ragkit_rerank import RagkitRerank, node_text

from ragkit import ConfigError, CrossEncoderReranker
from tests.rerank.cross_encoder_models import build_cross_encoder_folder

QUERY = "what is a cat"
PASSAGES = [
    "the cat is a small animal",
    "binary vector search",
    "a dog and a cat",
    "hello world",
    "the science of embedding document search in a vector world is a claim",
]


class RecordingHandler(BaseEventHandler):
    """Collects the instrumentation events it sees."""

    events: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "RecordingHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@pytest.fixture(autouse=True)
def mock_llm_settings() -> Iterator[None]:
    """No test may reach OpenAI: LlamaIndex's default LLM is replaced by MockLLM."""
    previous = Settings._llm
    Settings.llm = MockLLM()
    yield
    Settings._llm = previous


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-logit cross-encoder folder with token types and a 32-token window."""
    folder = tmp_path_factory.mktemp("tiny-ce") / "ce"
    build_cross_encoder_folder(folder)
    return folder


@pytest.fixture(scope="module")
def cross_encoder(tiny_ce: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker(tiny_ce)


@pytest.fixture
def recorded() -> Iterator[list[BaseEvent]]:
    """Instrumentation events seen by the root dispatcher during the test."""
    handler = RecordingHandler(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler.events
    root.event_handlers.remove(handler)


def _hits(texts: list[str] | None = None) -> list[NodeWithScore]:
    """Scored nodes as a retriever would give them, best retrieval score first."""
    texts = PASSAGES if texts is None else texts
    return [
        NodeWithScore(node=TextNode(id_=f"n{i}", text=t), score=1.0 - i / 10)
        for i, t in enumerate(texts)
    ]


def test_it_is_a_llama_index_postprocessor_with_ragkits_settings(tiny_ce: Path) -> None:
    rerank = RagkitRerank(tiny_ce, top_n=3)
    assert isinstance(rerank, BaseNodePostprocessor)
    assert RagkitRerank.class_name() == "RagkitRerank"
    assert (rerank.model, rerank.top_n, rerank.precision) == (str(tiny_ce), 3, "fp32")
    assert (rerank.keep_retrieval_score, rerank.metadata_mode) == (False, MetadataMode.EMBED)
    assert isinstance(rerank.reranker, CrossEncoderReranker)
    assert RagkitRerank(tiny_ce).top_n == 5


def test_order_and_scores_equal_the_cross_encoders(
    tiny_ce: Path, cross_encoder: CrossEncoderReranker
) -> None:
    expected = cross_encoder.score(QUERY, PASSAGES)
    out = RagkitRerank(tiny_ce, top_n=None).postprocess_nodes(_hits(), query_str=QUERY)
    order = np.argsort(-expected, kind="stable")
    assert [n.node.node_id for n in out] == [f"n{i}" for i in order]
    assert [n.score for n in out] == pytest.approx([float(expected[i]) for i in order], abs=1e-6)
    assert all(isinstance(n.score, float) for n in out)
    assert [(n.node.node_id[1:], n.score) for n in out] == [
        (str(i), pytest.approx(s, abs=1e-6)) for i, s in cross_encoder.rank(QUERY, PASSAGES)
    ]


def test_top_n_keeps_the_best(tiny_ce: Path, cross_encoder: CrossEncoderReranker) -> None:
    best = [f"n{i}" for i, _ in cross_encoder.rank(QUERY, PASSAGES, top_k=2)]
    out = RagkitRerank(tiny_ce, top_n=2).postprocess_nodes(_hits(), QueryBundle(QUERY))
    assert [n.node.node_id for n in out] == best
    everything = RagkitRerank(tiny_ce, top_n=50).postprocess_nodes(_hits(), query_str=QUERY)
    assert len(everything) == len(PASSAGES)
    with pytest.raises(ValueError):
        RagkitRerank(tiny_ce, top_n=0)


def test_keep_retrieval_score_records_the_incoming_score_out_of_prompts(tiny_ce: Path) -> None:
    hits = _hits()
    out = RagkitRerank(tiny_ce, top_n=None, keep_retrieval_score=True).postprocess_nodes(
        hits, query_str=QUERY
    )
    incoming = {h.node.node_id: h.score for h in hits}
    for hit in out:
        assert hit.node.metadata["retrieval_score"] == incoming[hit.node.node_id]
        assert "retrieval_score" in hit.node.excluded_llm_metadata_keys
        assert "retrieval_score" in hit.node.excluded_embed_metadata_keys
        assert "retrieval_score" not in hit.node.get_content(metadata_mode=MetadataMode.LLM)
    # The caller's nodes are left as they were.
    assert all("retrieval_score" not in h.node.metadata for h in hits)
    assert [h.score for h in hits] == [1.0 - i / 10 for i in range(len(PASSAGES))]
    plain = RagkitRerank(tiny_ce, top_n=None).postprocess_nodes(_hits(), query_str=QUERY)
    assert all("retrieval_score" not in h.node.metadata for h in plain)


def test_nodes_without_text_score_zero_and_rank_last(
    tiny_ce: Path, cross_encoder: CrossEncoderReranker
) -> None:
    hits = [
        NodeWithScore(node=TextNode(id_="blank", text="   ", metadata={"title": "cat"}), score=0.9),
        NodeWithScore(node=ImageNode(id_="image", image="aGVsbG8="), score=0.8),
        *_hits(PASSAGES[:3]),
    ]
    assert node_text(hits[0].node) is None and node_text(hits[1].node) is None
    out = RagkitRerank(tiny_ce, top_n=None).postprocess_nodes(hits, query_str=QUERY)
    assert [n.node.node_id for n in out[-2:]] == ["blank", "image"]
    assert [n.score for n in out[-2:]] == [0.0, 0.0]
    assert cross_encoder.score(QUERY, ["   ", None]).tolist() == [0.0, 0.0]
    assert all((n.score or 0.0) > 0.0 for n in out[:-2])


def test_metadata_mode_chooses_the_view_scored(
    tiny_ce: Path, cross_encoder: CrossEncoderReranker
) -> None:
    node = TextNode(id_="m", text="hello world", metadata={"title": "the cat is a small animal"})
    hits = [NodeWithScore(node=node, score=0.5)]
    embed_view = node.get_content(metadata_mode=MetadataMode.EMBED)
    assert "cat" in embed_view
    with_metadata = RagkitRerank(tiny_ce).postprocess_nodes(hits, query_str=QUERY)
    text_only = RagkitRerank(tiny_ce, metadata_mode=MetadataMode.NONE).postprocess_nodes(
        hits, query_str=QUERY
    )
    expected = cross_encoder.score(QUERY, [embed_view, "hello world"])
    assert with_metadata[0].score == pytest.approx(float(expected[0]), abs=1e-6)
    assert text_only[0].score == pytest.approx(float(expected[1]), abs=1e-6)


def test_empty_input_and_missing_query(tiny_ce: Path) -> None:
    rerank = RagkitRerank(tiny_ce)
    assert rerank.postprocess_nodes([], query_str=QUERY) == []
    with pytest.raises(ValueError, match="query"):
        rerank.postprocess_nodes(_hits())


def test_instrumentation_and_callback_events_are_emitted(
    tiny_ce: Path, recorded: list[BaseEvent]
) -> None:
    debug = LlamaDebugHandler()
    rerank = RagkitRerank(tiny_ce, top_n=2, callback_manager=CallbackManager([debug]))
    hits = _hits()
    out = rerank.postprocess_nodes(hits, query_str=QUERY)
    starts = [e for e in recorded if isinstance(e, ReRankStartEvent)]
    ends = [e for e in recorded if isinstance(e, ReRankEndEvent)]
    assert len(starts) == len(ends) == 1
    assert (starts[0].top_n, starts[0].model_name) == (2, str(tiny_ce))
    assert [n.node.node_id for n in starts[0].nodes] == [h.node.node_id for h in hits]
    assert [n.node.node_id for n in ends[0].nodes] == [n.node.node_id for n in out]
    pairs = debug.get_event_pairs(CBEventType.RERANKING)
    assert len(pairs) == 1
    start, end = pairs[0]
    assert start.payload is not None and end.payload is not None
    assert start.payload[EventPayload.QUERY_STR] == QUERY
    assert start.payload[EventPayload.MODEL_NAME] == str(tiny_ce)
    assert start.payload[EventPayload.TOP_K] == 2
    assert end.payload[EventPayload.NODES] == out


def test_an_existing_reranker_is_reused(tiny_ce: Path, cross_encoder: CrossEncoderReranker) -> None:
    rerank = RagkitRerank(reranker=cross_encoder, top_n=2)
    assert rerank.reranker is cross_encoder
    assert rerank.model == cross_encoder.spec.model_id
    with pytest.raises(ConfigError, match="model, batch_size"):
        RagkitRerank(tiny_ce, reranker=cross_encoder, batch_size=4)


def test_options_reach_the_cross_encoder(tiny_ce: Path) -> None:
    rerank = RagkitRerank(tiny_ce, batch_size=2, max_length=16)
    assert (rerank.reranker.batch_size, rerank.reranker.max_length) == (2, 16)


def test_async_postprocessing_equals_sync(tiny_ce: Path) -> None:
    rerank = RagkitRerank(tiny_ce, top_n=3)
    sync = rerank.postprocess_nodes(_hits(), query_str=QUERY)
    out = asyncio.run(rerank.apostprocess_nodes(_hits(), query_str=QUERY))
    assert [(n.node.node_id, n.score) for n in out] == [(n.node.node_id, n.score) for n in sync]


def test_it_reranks_inside_a_retriever_query_engine(
    tiny_ce: Path, tiny_model_dir: Path, cross_encoder: CrossEncoderReranker
) -> None:
    documents = [Document(text=t, doc_id=f"d{i}") for i, t in enumerate(PASSAGES)]
    index = VectorStoreIndex.from_documents(documents, embed_model=RagkitEmbedding(tiny_model_dir))
    retriever = index.as_retriever(similarity_top_k=len(PASSAGES))
    rerank = RagkitRerank(tiny_ce, top_n=2, metadata_mode=MetadataMode.NONE)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM(), node_postprocessors=[rerank])
    best = [f"d{i}" for i, _ in cross_encoder.rank(QUERY, PASSAGES, top_k=2)]
    response = engine.query(QUERY)
    assert [n.node.ref_doc_id for n in response.source_nodes] == best
    assert str(response)
    response = asyncio.run(engine.aquery(QUERY))
    assert [n.node.ref_doc_id for n in response.source_nodes] == best
    scores = cross_encoder.score(QUERY, PASSAGES)
    for hit in response.source_nodes:
        assert hit.score == pytest.approx(
            float(scores[int(str(hit.node.ref_doc_id)[1:])]), abs=1e-6
        )
