"""The LlamaIndex retriever plugin (adapters/llama-index-retrievers-ragkit) on the real framework."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

# The README's setup command installs the adapter (pip install -e adapters/llama-index-retrievers-ragkit).
from llama_index.core import Settings
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import (
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from llama_index.retrievers.ragkit import (
    RagkitRetriever,
    metadata_filters_to_where,
)

from ragkit import (
    ChromaStore,
    ConfigError,
    FilterError,
    HashEmbedder,
    Indexer,
    MarkdownChunker,
    Passage,
    RecursiveChunker,
    Retriever,
    TextEmbedder,
)

QUESTION = "binary vector search"
NOTES = [
    "binary codes keep one bit per vector and the search is fast.",
    "the cat and the dog sleep in the world of science.",
    "a query is a passage of the search document.",
]
GLOSSARY = [
    {"_id": "g1", "title": "binary", "text": "a binary vector embedding is small."},
    {"_id": "g2", "title": "claim", "text": "a science claim of the document."},
]
MARKDOWN = (
    "# search\n\nthe search of a vector embedding.\n\n## binary\n\n"
    "binary search is the query of a document.\n"
)


@pytest.fixture(autouse=True)
def mock_llm_settings() -> Iterator[None]:
    """No test may reach OpenAI: LlamaIndex's default LLM is replaced by MockLLM."""
    previous = Settings._llm
    Settings.llm = MockLLM()
    yield
    Settings._llm = previous


@pytest.fixture(scope="module")
def store(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaStore]:
    """A store indexed by ragkit's Indexer: a text file, a Markdown file and a JSONL file."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "notes.txt").write_text("\n\n".join(NOTES))
    (root / "guide.md").write_text(MARKDOWN)
    (root / "glossary.jsonl").write_text("\n".join(json.dumps(g) for g in GLOSSARY) + "\n")
    embedder = TextEmbedder(tiny_model_dir)
    path = tmp_path_factory.mktemp("store") / "index"
    with ChromaStore("llama", embedder=embedder, path=path) as opened:
        chunker = RecursiveChunker(embedder)
        Indexer(opened, chunker, markdown_chunker=MarkdownChunker(embedder)).index([root])
        yield opened


def _ids_and_scores(nodes: Sequence[NodeWithScore]) -> list[tuple[str, float | None]]:
    return [(n.node.node_id, n.score) for n in nodes]


def test_it_is_a_llama_index_retriever_built_from_a_store_or_a_ragkit_retriever(
    store: ChromaStore,
) -> None:
    from_store = RagkitRetriever(store, k=3)
    from_retriever = RagkitRetriever(Retriever(store, k=3))
    assert isinstance(from_store, BaseRetriever)
    assert from_store.retriever.k == 3
    assert _ids_and_scores(from_store.retrieve(QUESTION)) == _ids_and_scores(
        from_retriever.retrieve(QUESTION)
    )


def test_retrieve_returns_the_ragkit_retrievers_ids_and_true_scores_in_order(
    store: ChromaStore,
) -> None:
    ragkit_retriever = Retriever(store, k=5)
    passages = ragkit_retriever.retrieve(QUESTION)
    nodes = RagkitRetriever(ragkit_retriever).retrieve(QUESTION)
    assert len(passages) == 5
    assert _ids_and_scores(nodes) == [(p.id, p.score) for p in passages]
    assert [n.score for n in nodes] == sorted((n.score or 0.0 for n in nodes), reverse=True)
    # The score is the true cosine of the query and the chunk, not exp(-distance).
    embedder = store.embedder
    assert embedder is not None
    query = embedder.embed_query(QUESTION)
    chunk = embedder.embed_documents([nodes[0].node.get_content()])[0]
    assert nodes[0].score == pytest.approx(float(query @ chunk), abs=2e-3)


def test_nodes_carry_text_offsets_metadata_and_the_source_document(store: ChromaStore) -> None:
    nodes = RagkitRetriever(store, k=50).retrieve(QUESTION)
    by_id = {n.node.node_id: n for n in nodes}
    markdown = next(n for n in nodes if n.node.metadata["source"] == "guide.md")
    assert markdown.node.metadata["heading_path"][0] == "search"
    for passage in Retriever(store, k=50).retrieve(QUESTION):
        node = by_id[passage.id].node
        assert isinstance(node, TextNode)
        assert node.get_content() == passage.text
        assert (node.start_char_idx, node.end_char_idx) == (passage.start, passage.end)
        assert node.ref_doc_id == passage.source
        assert node.source_node is not None
        assert node.source_node.node_id == passage.source
        assert NodeRelationship.SOURCE in node.relationships
        meta = node.metadata
        assert meta["source"] == passage.source
        assert (meta["start"], meta["end"], meta["position"]) == (
            passage.start,
            passage.end,
            passage.position,
        )
        assert meta["heading_path"] == list(passage.heading_path)
        assert meta.get("title") == passage.title
        assert meta["format"] == passage.metadata["format"]  # loader metadata, flat
        assert meta["scores"] == {"cosine": passage.score}
    titled = [n.node for n in nodes if n.node.metadata["source"] == "glossary.jsonl#g1"]
    assert titled and titled[0].metadata["title"] == "binary"


def test_scores_and_bookkeeping_stay_out_of_prompts_while_citations_stay_in(
    store: ChromaStore,
) -> None:
    node = next(
        n.node
        for n in RagkitRetriever(store, k=50).retrieve(QUESTION)
        if n.node.metadata["source"] == "glossary.jsonl#g1"
    )
    for mode in (MetadataMode.LLM, MetadataMode.EMBED):
        shown = node.get_metadata_str(mode)
        for hidden in ("scores", "cosine", "sha256", "mtime", "position", "start"):
            assert hidden not in shown, (mode, hidden)
        assert "source: glossary.jsonl#g1" in shown and "title: binary" in shown
    assert "scores" in node.get_metadata_str(MetadataMode.ALL)


def test_text_and_offsets_are_the_expanded_context_when_the_retriever_expands(
    store: ChromaStore,
) -> None:
    passages = Retriever(store, k=3, expand=1).retrieve(QUESTION)
    nodes = RagkitRetriever(store, k=3, expand=1).retrieve(QUESTION)
    assert any(p.context != p.text for p in passages)  # the corpus does have neighbours
    for passage, hit in zip(passages, nodes, strict=True):
        assert isinstance(hit.node, TextNode)
        assert hit.node.get_content() == passage.context
        assert (hit.node.start_char_idx, hit.node.end_char_idx) == (
            passage.context_start,
            passage.context_end,
        )
        assert (hit.node.metadata["start"], hit.node.metadata["end"]) == (
            passage.start,
            passage.end,
        )


class HalvingReranker:
    """Reverses the candidates and scores them 0.9, 0.45, ...; remembers its thread."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.threads: list[int] = []

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        self.threads.append(threading.get_ident())
        time.sleep(self.delay)
        out = []
        for rank, p in enumerate(reversed(passages)):
            score = 0.9 / 2**rank
            out.append(replace(p, score=score, scores={**p.scores, "rerank": score}))
        return out


def test_node_score_is_the_rerank_score_with_every_stage_kept_in_metadata(
    store: ChromaStore,
) -> None:
    nodes = RagkitRetriever(store, k=3, reranker=HalvingReranker()).retrieve(QUESTION)
    assert [n.score for n in nodes] == [0.9, 0.45, 0.225]
    for n in nodes:
        assert n.node.metadata["scores"]["rerank"] == n.score
        assert -1.0 <= n.node.metadata["scores"]["cosine"] <= 1.0


def test_query_engine_answers_with_mock_llm_and_cites_the_retrieved_nodes(
    store: ChromaStore,
) -> None:
    retriever = RagkitRetriever(store, k=2)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query(QUESTION)
    expected = _ids_and_scores(retriever.retrieve(QUESTION))
    assert _ids_and_scores(response.source_nodes) == expected
    answer = str(response)  # MockLLM echoes the prompt, which holds the retrieved text
    assert response.source_nodes[0].node.get_content() in answer
    assert "cosine" not in answer  # scores never reach the prompt


def test_query_engine_aquery_gives_the_same_sources_as_query(store: ChromaStore) -> None:
    engine = RetrieverQueryEngine.from_args(RagkitRetriever(store, k=2), llm=MockLLM())
    sync = engine.query(QUESTION)
    async_ = asyncio.run(engine.aquery(QUESTION))
    assert _ids_and_scores(async_.source_nodes) == _ids_and_scores(sync.source_nodes)


def test_aretrieve_runs_in_a_worker_thread_and_leaves_the_event_loop_free(
    store: ChromaStore,
) -> None:
    reranker = HalvingReranker(delay=0.3)
    retriever = RagkitRetriever(store, k=2, reranker=reranker)

    async def main() -> tuple[list[NodeWithScore], int, int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        nodes = await retriever.aretrieve(QUESTION)
        done.set()
        await tick_task
        return nodes, ticks, threading.get_ident()

    nodes, ticks, loop_thread = asyncio.run(main())
    assert [n.score for n in nodes] == [0.9, 0.45]
    assert reranker.threads and reranker.threads[0] != loop_thread
    assert ticks >= 10  # the loop ran other tasks during the 0.3 s retrieval


def test_metadata_filters_restrict_results_like_the_equivalent_where(store: ChromaStore) -> None:
    filters = MetadataFilters(
        filters=[
            MetadataFilter(key="format", value="md", operator=FilterOperator.NE),
            MetadataFilter(key="position", value=1, operator=FilterOperator.LT),
        ]
    )
    nodes = RagkitRetriever(store, k=50, filters=filters).retrieve(QUESTION)
    assert nodes
    assert all(n.node.metadata["format"] != "md" for n in nodes)
    assert all(n.node.metadata["position"] < 1 for n in nodes)
    where = {"$and": [{"format": {"$ne": "md"}}, {"position": {"$lt": 1}}]}
    direct = Retriever(store, k=50).retrieve(QUESTION, where=where)
    assert _ids_and_scores(nodes) == [(p.id, p.score) for p in direct]


def test_filters_and_a_raw_where_must_both_match(store: ChromaStore) -> None:
    filters = MetadataFilters(filters=[MetadataFilter(key="format", value="jsonl")])
    retriever = RagkitRetriever(store, k=50, filters=filters, where={"source": "glossary.jsonl#g2"})
    assert retriever.where == {
        "$and": [{"source": {"$eq": "glossary.jsonl#g2"}}, {"format": {"$eq": "jsonl"}}]
    }
    assert {n.node.metadata["source"] for n in retriever.retrieve(QUESTION)} == {
        "glossary.jsonl#g2"
    }
    where_only = RagkitRetriever(
        store, k=50, where={"source": {"$in": ["glossary.jsonl#g1", "notes.txt"]}}
    )
    assert {n.node.ref_doc_id for n in where_only.retrieve(QUESTION)} == {
        "glossary.jsonl#g1",
        "notes.txt",
    }


def test_where_document_filters_on_the_chunk_text(store: ChromaStore) -> None:
    retriever = RagkitRetriever(store, k=50, where_document={"$contains": "cat"})
    nodes = retriever.retrieve(QUESTION)
    assert nodes and all("cat" in n.node.get_content() for n in nodes)


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        (MetadataFilters(filters=[MetadataFilter(key="a", value="x")]), {"a": {"$eq": "x"}}),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="a", value=1, operator=FilterOperator.GT),
                    MetadataFilter(key="b", value=2.5, operator=FilterOperator.GTE),
                    MetadataFilter(key="c", value=3, operator=FilterOperator.LTE),
                    MetadataFilter(key="d", value=["x", "y"], operator=FilterOperator.IN),
                    MetadataFilter(key="e", value=[1, 2], operator=FilterOperator.NIN),
                    MetadataFilter(key="f", value="z", operator=FilterOperator.NE),
                ],
                condition=FilterCondition.OR,
            ),
            {
                "$or": [
                    {"a": {"$gt": 1}},
                    {"b": {"$gte": 2.5}},
                    {"c": {"$lte": 3}},
                    {"d": {"$in": ["x", "y"]}},
                    {"e": {"$nin": [1, 2]}},
                    {"f": {"$ne": "z"}},
                ]
            },
        ),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="a", value="x"),
                    MetadataFilters(
                        filters=[
                            MetadataFilter(key="b", value=1, operator=FilterOperator.LT),
                            MetadataFilter(key="b", value=9, operator=FilterOperator.GT),
                        ],
                        condition=FilterCondition.OR,
                    ),
                ]
            ),
            {"$and": [{"a": {"$eq": "x"}}, {"$or": [{"b": {"$lt": 1}}, {"b": {"$gt": 9}}]}]},
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="t", value=["p", "q"], operator=FilterOperator.ANY)]
            ),
            {"$or": [{"t": {"$contains": "p"}}, {"t": {"$contains": "q"}}]},
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="t", value=["p"], operator=FilterOperator.ALL)]
            ),
            {"t": {"$contains": "p"}},
        ),
        (MetadataFilters(filters=[]), None),
        (None, None),
    ],
    ids=["eq-shorthand", "every-comparison-or", "nested", "any", "all-single", "empty", "none"],
)
def test_metadata_filters_map_to_chroma_where(
    filters: MetadataFilters | None, where: dict[str, Any] | None
) -> None:
    assert metadata_filters_to_where(filters) == where


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (
            MetadataFilters(
                filters=[MetadataFilter(key="a", value="x", operator=FilterOperator.TEXT_MATCH)]
            ),
            "TEXT_MATCH",
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="a", value=None, operator=FilterOperator.IS_EMPTY)]
            ),
            "IS_EMPTY",
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="a", value="x")], condition=FilterCondition.NOT
            ),
            "'not'",
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="heading_path", value="search")]),
            "heading_path",
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="a", value="x", operator=FilterOperator.IN)]
            ),
            "$in",
        ),
    ],
    ids=["text-match", "is-empty", "not", "heading-path", "in-without-list"],
)
def test_unsupported_filters_raise_filter_error_when_the_retriever_is_built(
    store: ChromaStore, filters: MetadataFilters, message: str
) -> None:
    with pytest.raises(FilterError, match=message.replace("$", r"\$")) as caught:
        RagkitRetriever(store, filters=filters)
    assert isinstance(caught.value, ValueError)


def test_malformed_raw_filters_and_misplaced_options_are_rejected(store: ChromaStore) -> None:
    with pytest.raises(FilterError, match="gtt"):
        RagkitRetriever(store, where={"year": {"$gtt": 1}})
    with pytest.raises(FilterError):
        RagkitRetriever(store, where_document={"$has": "x"})
    with pytest.raises(ConfigError, match="k"):
        RagkitRetriever(Retriever(store), k=3)
    with pytest.raises(ConfigError, match="dict"):
        RagkitRetriever({"not": "a store"})  # type: ignore[arg-type]


def test_contains_any_and_all_match_list_valued_metadata(tmp_path: Path) -> None:
    embedder = HashEmbedder(dim=32)
    tags = {"a#0": ["red", "blue"], "b#0": ["red"], "c#0": ["green"]}
    metas = [
        {"source": i.split("#")[0], "start": 0, "end": 4, "position": 0, "tags": t}
        for i, t in tags.items()
    ]
    with ChromaStore("tags", embedder=embedder, path=tmp_path / "tags") as tagged:
        tagged.add(list(tags), documents=["text"] * 3, metadatas=metas)

        def sources(operator: FilterOperator, value: str | list[str]) -> set[str]:
            flt = MetadataFilters(
                filters=[MetadataFilter(key="tags", value=value, operator=operator)]
            )
            nodes = RagkitRetriever(tagged, k=3, filters=flt).retrieve("text")
            return {n.node.ref_doc_id or "" for n in nodes}

        assert sources(FilterOperator.CONTAINS, "red") == {"a", "b"}
        assert sources(FilterOperator.ANY, ["blue", "green"]) == {"a", "c"}
        assert sources(FilterOperator.ALL, ["red", "blue"]) == {"a"}
