"""The LlamaIndex vector store (adapters/llama-index-vector-stores-ragkit) on the real framework."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The README's setup command installs the adapter (pip install -e adapters/llama-index-vector-stores-ragkit).
from llama_index.core import (
    Document,
    Settings,
    StorageContext,
    VectorStoreIndex,
    load_index_from_storage,
)
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import (
    BaseNode,
    MetadataMode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index.embeddings.ragkit import RagkitEmbedding
from llama_index.vector_stores.ragkit import RagkitVectorStore, metadata_filters_to_where

from ragkit import (
    ChromaStore,
    ConfigError,
    EmbedderMismatchError,
    FilterError,
    HashEmbedder,
    Indexer,
    InputError,
    RecursiveChunker,
    TextEmbedder,
)

QUESTION = "binary vector search"
TEXTS = [
    "binary codes keep one bit per vector and the search is fast.",
    "the cat and the dog sleep in the world of science.",
    "a query is a passage of the search document.",
    "a binary vector embedding is small.",
]
METAS: list[dict[str, Any]] = [
    {"topic": "search", "year": 2024, "score": 0.9, "tags": ["binary", "fast"]},
    {"topic": "pets", "year": 2019, "score": 0.2, "tags": ["cat"]},
    {"topic": "search", "year": 2021, "score": 0.5, "tags": ["query", "fast"]},
    {"topic": "embedding", "year": 2022, "score": 0.7, "tags": ["binary"]},
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


def _documents() -> list[Document]:
    # The tiny model reads 16 tokens: embedded with the metadata in front, d0 and d2 tie.
    return [
        Document(text=text, doc_id=f"d{i}", metadata=meta, excluded_embed_metadata_keys=list(meta))
        for i, (text, meta) in enumerate(zip(TEXTS, METAS, strict=True))
    ]


def _index(embed_model: RagkitEmbedding, vector_store: RagkitVectorStore) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(
        _documents(),
        storage_context=StorageContext.from_defaults(vector_store=vector_store),
        embed_model=embed_model,
    )


@pytest.fixture()
def vector_store() -> Iterator[RagkitVectorStore]:
    with RagkitVectorStore() as opened:
        yield opened


@pytest.fixture()
def index(embed_model: RagkitEmbedding, vector_store: RagkitVectorStore) -> VectorStoreIndex:
    return _index(embed_model, vector_store)


def _ids(nodes: list[Any]) -> list[str | None]:
    return [n.node.ref_doc_id for n in nodes]


# -- the framework's own pipeline ---------------------------------------------------------------


def test_it_is_a_llama_index_vector_store_over_a_chroma_store(
    vector_store: RagkitVectorStore,
) -> None:
    assert BasePydanticVectorStore.__name__ in [b.__name__ for b in type(vector_store).__mro__]
    assert vector_store.stores_text is True
    assert RagkitVectorStore.class_name() == "RagkitVectorStore"
    assert isinstance(vector_store.client, ChromaStore)
    assert vector_store.collection_name.startswith("llama_index-")
    assert RagkitVectorStore().collection_name != vector_store.collection_name  # private


def test_from_documents_retrieves_by_true_cosine_like_the_default_store(
    embed_model: RagkitEmbedding, index: VectorStoreIndex
) -> None:
    hits = index.as_retriever(similarity_top_k=3).retrieve(QUESTION)
    # Expected: the embed model's query vector against its vectors of the nodes' embed text
    # (LlamaIndex embeds the metadata with the text), in numpy.
    query = np.array(embed_model.get_query_embedding(QUESTION))
    stored = sorted(index.vector_store.get_nodes(), key=lambda n: str(n.ref_doc_id))
    assert [n.ref_doc_id for n in stored] == [f"d{i}" for i in range(len(TEXTS))]
    embed_texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in stored]
    docs = np.array(embed_model.get_text_embedding_batch(embed_texts))
    cosines = docs @ query / (np.linalg.norm(docs, axis=1) * np.linalg.norm(query))
    expected = [f"d{i}" for i in np.argsort(-cosines)[:3]]
    assert _ids(hits) == expected
    for hit in hits:
        assert hit.score == pytest.approx(
            float(cosines[int(str(hit.node.ref_doc_id)[1:])]), abs=1e-5
        )
    # LlamaIndex's own in-memory store ranks and scores the same.
    plain = VectorStoreIndex.from_documents(_documents(), embed_model=embed_model)
    reference = plain.as_retriever(similarity_top_k=3).retrieve(QUESTION)
    assert _ids(reference) == expected
    assert [h.score for h in hits] == pytest.approx([h.score for h in reference], abs=1e-5)


def test_query_engine_with_mock_llm_sync_and_async(index: VectorStoreIndex) -> None:
    retriever = index.as_retriever(similarity_top_k=2)
    expected = _ids(retriever.retrieve(QUESTION))
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query(QUESTION)
    assert _ids(response.source_nodes) == expected
    assert TEXTS[int(str(expected[0])[1:])] in str(response)  # MockLLM echoes the context
    response = asyncio.run(engine.aquery(QUESTION))
    assert _ids(response.source_nodes) == expected
    assert _ids(asyncio.run(retriever.aretrieve(QUESTION))) == expected
    answer = index.as_query_engine(similarity_top_k=2).query(QUESTION)
    assert _ids(answer.source_nodes) == expected


def test_sync_calls_inside_a_running_event_loop_work(index: VectorStoreIndex) -> None:
    retriever = index.as_retriever(similarity_top_k=2)
    expected = _ids(retriever.retrieve(QUESTION))

    async def main() -> list[str | None]:
        return _ids(retriever.retrieve(QUESTION))  # plain sync call, loop running

    assert asyncio.run(main()) == expected


def test_persist_and_reopen(embed_model: RagkitEmbedding, tmp_path: Path) -> None:
    path, persist_dir = tmp_path / "index", tmp_path / "storage"
    with RagkitVectorStore(path=path, embedder=embed_model.embedder) as vector_store:
        index = _index(embed_model, vector_store)
        before = index.as_retriever(similarity_top_k=3).retrieve(QUESTION)
        index.storage_context.persist(persist_dir=persist_dir)
    with RagkitVectorStore(path=path, embedder=embed_model.embedder) as reopened:
        assert reopened.collection_name == "llama_index"
        assert reopened.store.count() == len(TEXTS)
        from_store = VectorStoreIndex.from_vector_store(reopened, embed_model=embed_model)
        loaded = load_index_from_storage(
            StorageContext.from_defaults(vector_store=reopened, persist_dir=persist_dir),
            embed_model=embed_model,
        )
        for again in (from_store, loaded):
            after = again.as_retriever(similarity_top_k=3).retrieve(QUESTION)
            assert [(h.node.node_id, h.score) for h in after] == [
                (h.node.node_id, h.score) for h in before
            ]
            assert after[0].node.get_content() == before[0].node.get_content()
    # The collection recorded the embedder: another model cannot reopen it silently.
    with pytest.raises(EmbedderMismatchError):
        RagkitVectorStore(path=path, embedder=HashEmbedder(dim=8))


def test_a_query_without_an_embedding_uses_the_stores_embedder_or_gets(
    embed_model: RagkitEmbedding,
) -> None:
    with RagkitVectorStore(embedder=embed_model.embedder) as vector_store:
        _index(embed_model, vector_store)
        by_vector = vector_store.query(
            VectorStoreQuery(
                query_embedding=embed_model.get_query_embedding(QUESTION), similarity_top_k=2
            )
        )
        by_text = vector_store.query(VectorStoreQuery(query_str=QUESTION, similarity_top_k=2))
        assert by_text.ids == by_vector.ids
        assert by_text.similarities == pytest.approx(by_vector.similarities, abs=1e-5)
    with RagkitVectorStore() as no_embedder:
        _index(embed_model, no_embedder)
        found = no_embedder.query(VectorStoreQuery(query_str=QUESTION, similarity_top_k=2))
        assert len(found.nodes or []) == 2 and found.similarities is None  # as Chroma's


# -- nodes -------------------------------------------------------------------------------------


def _node(node_id: str = "n1", **overrides: Any) -> TextNode:
    fields: dict[str, Any] = {
        "id_": node_id,
        "text": "binary codes keep one bit per vector.",
        "metadata": {
            "title": "codes",
            "year": 2024,
            "ratio": 0.5,
            "draft": False,
            "tags": ["binary", "fast"],
            "empty": None,
        },
        "excluded_llm_metadata_keys": ["year"],
        "excluded_embed_metadata_keys": ["ratio"],
        "start_char_idx": 10,
        "end_char_idx": 47,
        "relationships": {
            NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc-1", metadata={"p": 1}),
            NodeRelationship.PREVIOUS: RelatedNodeInfo(node_id="n0"),
            NodeRelationship.NEXT: RelatedNodeInfo(node_id="n2"),
        },
        "embedding": [1.0, 0.0, 0.0, 0.0],
    }
    fields.update(overrides)
    return TextNode(**fields)


def _dump(node: BaseNode) -> dict[str, Any]:
    dumped = node.model_dump()
    dumped.pop("embedding")
    return dumped


def test_nodes_round_trip_whole(vector_store: RagkitVectorStore) -> None:
    node = _node()
    assert vector_store.add([node]) == ["n1"]
    (back,) = vector_store.get_nodes(["n1"])
    assert isinstance(back, TextNode)
    assert _dump(back) == _dump(node)
    assert back.ref_doc_id == "doc-1"
    assert back.get_content() == node.get_content()
    assert back.get_content(MetadataMode.LLM) == node.get_content(MetadataMode.LLM)
    found = vector_store.query(VectorStoreQuery(query_embedding=[1.0, 0, 0, 0]))
    assert found.ids == ["n1"] and found.similarities == pytest.approx([1.0])
    assert found.nodes is not None and _dump(found.nodes[0]) == _dump(node)


def test_scores_are_true_cosines_of_the_given_vectors(vector_store: RagkitVectorStore) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((30, 16)).astype(np.float32)
    nodes = [
        TextNode(id_=f"n{i}", text=f"text {i}", embedding=v.tolist()) for i, v in enumerate(vectors)
    ]
    vector_store.add(nodes)
    query = rng.standard_normal(16)
    found = vector_store.query(VectorStoreQuery(query_embedding=query.tolist(), similarity_top_k=5))
    cosines = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    best = np.argsort(-cosines)[:5]
    assert found.ids == [f"n{i}" for i in best]
    assert found.similarities == pytest.approx(cosines[best].tolist(), abs=1e-5)


def test_get_nodes_by_ids_and_filters_in_order(vector_store: RagkitVectorStore) -> None:
    vector_store.add([_node(f"n{i}", metadata={"year": 2020 + i}) for i in range(4)])
    assert [n.node_id for n in vector_store.get_nodes(["n3", "n1", "gone"])] == ["n3", "n1"]
    recent = MetadataFilters(filters=[MetadataFilter(key="year", value=2022, operator=">=")])
    assert sorted(n.node_id for n in vector_store.get_nodes(filters=recent)) == ["n2", "n3"]
    assert [n.node_id for n in vector_store.get_nodes(["n0", "n3"], filters=recent)] == ["n3"]
    assert len(vector_store.get_nodes()) == 4
    assert vector_store.get_nodes([]) == []


def test_a_store_written_by_ragkits_indexer_reads_as_text_nodes(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("\n\n".join(TEXTS))
    embedder = TextEmbedder(tiny_model_dir)
    with ChromaStore("indexed", embedder=embedder, path=tmp_path / "index") as store:
        Indexer(store, RecursiveChunker(embedder)).index([tmp_path / "notes.txt"])
        vector_store = RagkitVectorStore(store)
        found = vector_store.query(
            VectorStoreQuery(query_embedding=embedder.embed_query(QUESTION).tolist())
        )
        assert found.nodes and isinstance(found.nodes[0], TextNode)
        node = found.nodes[0]
        assert node.ref_doc_id == "notes.txt"
        assert node.get_content() in "\n\n".join(TEXTS)
        assert node.start_char_idx == node.metadata["start"]
        assert node.end_char_idx == node.metadata["end"]
        indexed = set(store.collection.get(include=[])["ids"])
        # A LlamaIndex node whose own metadata says source="notes.txt" is not of that document.
        other = TextNode(
            id_="li-node",
            text="a binary vector embedding is small.",
            metadata={"source": "notes.txt"},
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="other-doc")},
            embedding=embedder.embed_documents(["a binary vector embedding is small."])[0].tolist(),
        )
        vector_store.add([other])
        vector = embedder.embed_query(QUESTION).tolist()
        by_doc = vector_store.query(
            VectorStoreQuery(query_embedding=vector, similarity_top_k=50, doc_ids=["notes.txt"])
        )
        assert set(by_doc.ids or []) == indexed
        other_doc = vector_store.query(
            VectorStoreQuery(query_embedding=vector, similarity_top_k=50, doc_ids=["other-doc"])
        )
        assert other_doc.ids == ["li-node"]
        # Deleting the document deletes the Indexer's chunks, and only them.
        vector_store.delete("notes.txt")
        assert [n.node_id for n in vector_store.get_nodes()] == ["li-node"]
        vector_store.delete("other-doc")
        assert vector_store.get_nodes() == []


# -- filters -----------------------------------------------------------------------------------


def _f(key: str, value: Any, operator: str) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=FilterOperator(operator))


FILTER_CASES = [
    (_f("topic", "search", "=="), ["d0", "d2"]),
    (_f("topic", "search", "!="), ["d1", "d3"]),
    (_f("year", 2021, ">"), ["d0", "d3"]),
    (_f("year", 2021, ">="), ["d0", "d2", "d3"]),
    (_f("year", 2021, "<"), ["d1"]),
    (_f("score", 0.5, "<="), ["d1", "d2"]),
    (_f("topic", ["pets", "embedding"], "in"), ["d1", "d3"]),
    (_f("topic", ["pets", "embedding"], "nin"), ["d0", "d2"]),
    (_f("tags", "binary", "contains"), ["d0", "d3"]),
    (_f("tags", ["cat", "query"], "any"), ["d1", "d2"]),
    (_f("tags", ["binary", "fast"], "all"), ["d0"]),
]


@pytest.mark.parametrize(
    ("item", "expected"), FILTER_CASES, ids=lambda c: getattr(c, "operator", "")
)
def test_each_operator_filters_like_llama_index_does(
    index: VectorStoreIndex, embed_model: RagkitEmbedding, item: MetadataFilter, expected: list[str]
) -> None:
    filters = MetadataFilters(filters=[item])
    hits = index.as_retriever(similarity_top_k=10, filters=filters).retrieve(QUESTION)
    assert sorted(_ids(hits)) == expected  # type: ignore[type-var]
    # The same answer as LlamaIndex's own in-memory store.
    plain = VectorStoreIndex.from_documents(_documents(), embed_model=embed_model)
    reference = plain.as_retriever(similarity_top_k=10, filters=filters).retrieve(QUESTION)
    assert sorted(_ids(reference)) == expected  # type: ignore[type-var]


def test_and_or_and_nested_conditions(index: VectorStoreIndex) -> None:
    search_recent = MetadataFilters(
        filters=[_f("topic", "search", "=="), _f("year", 2022, ">=")],
        condition=FilterCondition.AND,
    )
    either = MetadataFilters(
        filters=[_f("topic", "pets", "=="), _f("year", 2022, "==")], condition=FilterCondition.OR
    )
    nested = MetadataFilters(filters=[search_recent, either], condition=FilterCondition.OR)
    cases = [(search_recent, ["d0"]), (either, ["d1", "d3"]), (nested, ["d0", "d1", "d3"])]
    for filters, expected in cases:
        hits = index.as_retriever(similarity_top_k=10, filters=filters).retrieve(QUESTION)
        assert sorted(_ids(hits)) == expected  # type: ignore[type-var]
    assert metadata_filters_to_where(nested) == {
        "$or": [
            {"$and": [{"topic": {"$eq": "search"}}, {"year": {"$gte": 2022}}]},
            {"$or": [{"topic": {"$eq": "pets"}}, {"year": {"$eq": 2022}}]},
        ]
    }


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        (MetadataFilters(filters=[_f("topic", "sea", "text_match")]), "TEXT_MATCH"),
        (
            MetadataFilters(filters=[_f("topic", "SEA", "text_match_insensitive")]),
            "TEXT_MATCH_INSENSITIVE",
        ),
        (MetadataFilters(filters=[_f("topic", None, "is_empty")]), "IS_EMPTY"),
        (
            MetadataFilters(filters=[_f("topic", "pets", "==")], condition=FilterCondition.NOT),
            "'not'",
        ),
    ],
)
def test_filters_chroma_cannot_express_raise_naming_the_operator(
    index: VectorStoreIndex, filters: MetadataFilters, named: str
) -> None:
    with pytest.raises(FilterError, match=named) as raised:
        index.as_retriever(filters=filters).retrieve(QUESTION)
    assert isinstance(raised.value, ValueError)
    vector_store = index.vector_store
    with pytest.raises(FilterError, match=named):
        vector_store.delete_nodes(filters=filters)
    with pytest.raises(FilterError, match=named):
        vector_store.get_nodes(filters=filters)


def test_raw_where_document_and_doc_ids_reach_chroma(index: VectorStoreIndex) -> None:
    hits = index.as_retriever(
        similarity_top_k=10, vector_store_kwargs={"where_document": {"$contains": "cat"}}
    ).retrieve(QUESTION)
    assert _ids(hits) == ["d1"]
    hits = index.as_retriever(
        similarity_top_k=10, vector_store_kwargs={"where": {"year": {"$lt": 2022}}}
    ).retrieve(QUESTION)
    assert sorted(_ids(hits)) == ["d1", "d2"]  # type: ignore[type-var]
    hits = index.as_retriever(similarity_top_k=10, doc_ids=["d2", "d3"]).retrieve(QUESTION)
    assert sorted(_ids(hits)) == ["d2", "d3"]  # type: ignore[type-var]


# -- deleting ----------------------------------------------------------------------------------


def test_delete_by_ref_doc_id(index: VectorStoreIndex) -> None:
    index.delete_ref_doc("d0")
    hits = index.as_retriever(similarity_top_k=10).retrieve(QUESTION)
    assert sorted(_ids(hits)) == ["d1", "d2", "d3"]  # type: ignore[type-var]
    asyncio.run(index.vector_store.adelete("d1"))
    assert sorted(n.ref_doc_id for n in index.vector_store.get_nodes()) == ["d2", "d3"]  # type: ignore[type-var]


def test_delete_nodes_by_ids_filters_or_both_and_clear(vector_store: RagkitVectorStore) -> None:
    vector_store.add([_node(f"n{i}", metadata={"year": 2020 + i}) for i in range(6)])
    vector_store.delete_nodes(["n0"])
    old = MetadataFilters(filters=[_f("year", 2022, "<=")])
    vector_store.delete_nodes(["n2", "n4"], filters=old)  # both: ids that match
    assert sorted(n.node_id for n in vector_store.get_nodes()) == ["n1", "n3", "n4", "n5"]
    vector_store.delete_nodes(filters=old)
    assert sorted(n.node_id for n in vector_store.get_nodes()) == ["n3", "n4", "n5"]
    with pytest.raises(InputError, match="clear"):
        vector_store.delete_nodes()
    vector_store.clear()
    assert vector_store.get_nodes() == []
    assert vector_store.query(VectorStoreQuery(query_embedding=[1.0, 0, 0, 0])).ids == []


# -- async -------------------------------------------------------------------------------------


def test_async_methods_equal_the_sync_ones(vector_store: RagkitVectorStore) -> None:
    async def main() -> None:
        nodes = [_node(f"n{i}", embedding=[1.0, float(i), 0.0, 0.0]) for i in range(4)]
        assert await vector_store.async_add(nodes) == ["n0", "n1", "n2", "n3"]
        query = VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0, 0.0], similarity_top_k=2)
        found = await vector_store.aquery(query)
        assert found.ids == vector_store.query(query).ids == ["n0", "n1"]
        assert [n.node_id for n in await vector_store.aget_nodes(["n2"])] == ["n2"]
        await vector_store.adelete_nodes(["n0"])
        assert len(await vector_store.aget_nodes()) == 3
        await vector_store.aclear()
        assert await vector_store.aget_nodes() == []

    asyncio.run(main())


def test_the_frameworks_async_index_paths_inside_a_running_loop(
    embed_model: RagkitEmbedding,
) -> None:
    async def main(vector_store: RagkitVectorStore) -> None:
        # use_async=True inside a running loop (a notebook): LlamaIndex writes through
        # async_add on a loop of its own in another thread.
        index = VectorStoreIndex.from_documents(
            _documents()[:3],
            storage_context=StorageContext.from_defaults(vector_store=vector_store),
            embed_model=embed_model,
            use_async=True,
        )
        assert vector_store.store.count() == 3
        (extra,) = _documents()[3:]
        source = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id="d3")}
        await index.ainsert_nodes(
            [
                TextNode(
                    id_="d3-node", text=extra.text, metadata=extra.metadata, relationships=source
                )
            ]
        )
        retriever = index.as_retriever(similarity_top_k=10)
        assert sorted(_ids(await retriever.aretrieve(QUESTION))) == ["d0", "d1", "d2", "d3"]  # type: ignore[type-var]
        await index.adelete_ref_doc("d0")
        await index.adelete_nodes(["d3-node"])
        assert sorted(_ids(await retriever.aretrieve(QUESTION))) == ["d1", "d2"]  # type: ignore[type-var]

    with RagkitVectorStore() as vector_store:
        asyncio.run(main(vector_store))


def test_aquery_runs_in_a_worker_thread_and_leaves_the_event_loop_free(
    vector_store: RagkitVectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    vector_store.add([_node()])
    threads: list[int] = []
    query = vector_store.store.query

    def slow_query(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        time.sleep(0.2)
        return query(*args, **kwargs)

    monkeypatch.setattr(vector_store.store, "query", slow_query)

    async def main() -> tuple[list[str], int, int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        found = await vector_store.aquery(VectorStoreQuery(query_embedding=[1.0, 0, 0, 0]))
        done.set()
        await task
        return found.ids or [], ticks, threading.get_ident()

    ids, ticks, loop_thread = asyncio.run(main())
    assert ids == ["n1"]
    assert threads and threads[0] != loop_thread
    assert ticks >= 5  # the loop kept running during the 0.2 s query


# -- bad input ---------------------------------------------------------------------------------


def test_a_node_without_an_embedding_is_refused(vector_store: RagkitVectorStore) -> None:
    with pytest.raises(InputError, match="'n1' has no embedding"):
        vector_store.add([_node(embedding=None)])
    assert vector_store.get_nodes() == []


def test_nested_metadata_is_refused_naming_the_node_and_key(
    vector_store: RagkitVectorStore,
) -> None:
    bad = _node("n2", metadata={"author": {"name": "x"}})
    with pytest.raises(InputError, match=r"'n2'.*'author'.*flat") as raised:
        vector_store.add([_node("n1"), bad])
    assert isinstance(raised.value, ValueError)  # as ChromaVectorStore's ValueError
    with pytest.raises(InputError, match="'n3'.*'grid'"):
        vector_store.add([_node("n3", metadata={"grid": [[1, 2]]})])
    with pytest.raises(InputError, match="'n4'.*reserved"):
        vector_store.add([_node("n4", metadata={"ragkit:code": "x"})])
    with pytest.raises(InputError, match="'n5'.*one type"):
        vector_store.add([_node("n5", metadata={"mixed": [1, "a"]})])
    assert vector_store.get_nodes() == []  # nothing written


def test_a_node_without_text_is_stored_as_chroma_does_with_a_warning(
    vector_store: RagkitVectorStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        vector_store.add([_node(text="")])
    assert "no text" in caplog.text
    (back,) = vector_store.get_nodes(["n1"])
    assert back.get_content() == "" and back.metadata["title"] == "codes"


def test_bad_queries_and_options_raise_clear_errors(vector_store: RagkitVectorStore) -> None:
    vector_store.add([_node()])
    vector = [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ConfigError, match="'mmr'"):
        vector_store.query(VectorStoreQuery(query_embedding=vector, mode=VectorStoreQueryMode.MMR))
    with pytest.raises(FilterError, match="node_ids"):
        vector_store.query(VectorStoreQuery(query_embedding=vector, node_ids=["n1"]))
    with pytest.raises(InputError, match="dimensions"):
        vector_store.query(VectorStoreQuery(query_embedding=[1.0, 0.0]))
    with pytest.raises(InputError, match="dimensions"):
        vector_store.add([_node("n2", embedding=[1.0, 0.0])])
    with pytest.raises(TypeError, match="nprobe"):
        vector_store.query(VectorStoreQuery(query_embedding=vector), nprobe=3)
    with pytest.raises(ConfigError, match="k must be"):
        vector_store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=0))
    with pytest.raises(ConfigError, match="not both"):
        RagkitVectorStore(vector_store.store, path="elsewhere")
    with pytest.raises(InputError, match="ref_doc_id"):
        vector_store.delete("")
