"""The LangChain adapter (adapters/langchain-ragkit) on the real framework and tiny models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore
from langchain_ragkit import (
    LangChainEmbedder,
    RagkitEmbeddings,
    RagkitRerank,
    RagkitVectorStore,
    cosine_to_relevance,
)

from ragkit import (
    ChromaStore,
    ConfigError,
    CrossEncoderReranker,
    FilterError,
    HashEmbedder,
    InputError,
    TextEmbedder,
)
from tests.rerank.cross_encoder_models import build_cross_encoder_folder

TEXTS = [
    "binary codes keep one bit per vector and the search is fast.",
    "the cat and the dog sleep in the world of science.",
    "a query is a passage of the search document.",
    "binary codes keep one bit per vector and the search is fast!",
]
METAS = [
    {"topic": "search", "year": 2024},
    {"topic": "pets", "year": 2019},
    {"topic": "search", "year": 2021},
    {"topic": "search", "year": 2024},
]
IDS = ["b1", "pets", "q", "b2"]
QUESTION = "binary vector search"


@pytest.fixture()
def embeddings(tiny_prompt_model_dir: Path) -> RagkitEmbeddings:
    return RagkitEmbeddings(model_name=tiny_prompt_model_dir, offline=True)


@pytest.fixture()
def store(embeddings: RagkitEmbeddings, tmp_path: Path) -> Iterator[RagkitVectorStore]:
    with RagkitVectorStore.from_texts(
        TEXTS, embeddings, METAS, ids=IDS, path=tmp_path / "index"
    ) as opened:
        yield opened


# -- embeddings ----------------------------------------------------------------------------------


def test_embeddings_apply_the_models_query_and_document_prompts(
    tiny_prompt_model_dir: Path,
) -> None:
    embeddings = RagkitEmbeddings(model_name=str(tiny_prompt_model_dir))
    plain = TextEmbedder(tiny_prompt_model_dir, query_prompt="", document_prompt="")
    query = np.array(embeddings.embed_query(QUESTION))
    document = np.array(embeddings.embed_documents([QUESTION])[0])
    np.testing.assert_allclose(query, plain.embed_documents(["query: " + QUESTION])[0], atol=1e-5)
    np.testing.assert_allclose(
        document, plain.embed_documents(["passage: " + QUESTION])[0], atol=1e-5
    )
    assert not np.allclose(query, document)


def test_embeddings_pass_model_settings_to_ragkit(tiny_prompt_model_dir: Path) -> None:
    with pytest.warns(UserWarning, match="Matryoshka"):  # ragkit's warning reaches the caller
        embeddings = RagkitEmbeddings(
            model_name=str(tiny_prompt_model_dir),
            dim=8,
            query_prompt="",
            model_kwargs={"batch_size": 2},
        )
    vector = embeddings.embed_query(QUESTION)
    assert len(vector) == 8 == embeddings.embedder.dim
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    with pytest.warns(UserWarning, match="Matryoshka"):
        same = TextEmbedder(tiny_prompt_model_dir, dim=8, query_prompt="").embed_query(QUESTION)
    np.testing.assert_allclose(vector, same, atol=1e-5)
    assert embeddings.embed_documents([]) == []


def test_embeddings_reject_unknown_fields(tiny_prompt_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="normalize"):
        RagkitEmbeddings(model_name=str(tiny_prompt_model_dir), normalize=True)  # type: ignore[call-arg]


def test_async_embeddings_run_in_a_worker_thread(embeddings: RagkitEmbeddings) -> None:
    async def both() -> tuple[list[float], list[list[float]]]:
        return await embeddings.aembed_query(QUESTION), await embeddings.aembed_documents(TEXTS)

    query, documents = asyncio.run(both())
    assert query == embeddings.embed_query(QUESTION)
    assert documents == embeddings.embed_documents(TEXTS)


# -- the vector store ------------------------------------------------------------------------------


def test_it_is_a_vectorstore_whose_scores_are_true_cosines(
    store: RagkitVectorStore, embeddings: RagkitEmbeddings
) -> None:
    assert isinstance(store, VectorStore)
    found = store.similarity_search_with_score(QUESTION, k=4)
    assert [d.id for d, _ in found] and len(found) == 4
    query = np.array(embeddings.embed_query(QUESTION))
    for doc, score in found:
        vector = np.array(embeddings.embed_documents([doc.page_content])[0])
        assert score == pytest.approx(float(vector @ query), abs=1e-4)
        assert doc.metadata == METAS[IDS.index(doc.id)]
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert [d.id for d in store.similarity_search(QUESTION, k=4)] == [d.id for d, _ in found]


def test_similarity_search_embeds_the_query_with_the_query_prompt(
    tiny_prompt_model_dir: Path, tmp_path: Path
) -> None:
    embeddings = RagkitEmbeddings(model_name=str(tiny_prompt_model_dir))
    with RagkitVectorStore.from_texts(TEXTS, embeddings, path=tmp_path / "i") as store:
        (_, score), *_ = store.similarity_search_with_score(TEXTS[2], k=1)
        prompted = np.array(embeddings.embed_query(TEXTS[2])) @ np.array(
            embeddings.embed_documents([TEXTS[2]])[0]
        )
        assert score == pytest.approx(float(prompted), abs=1e-4)
        assert score < 0.9999  # not the query embedded as a document


def test_relevance_scores_map_cosines_onto_zero_to_one(store: RagkitVectorStore) -> None:
    assert cosine_to_relevance(1.0) == 1.0
    assert cosine_to_relevance(0.0) == 0.5
    assert cosine_to_relevance(-1.0) == 0.0
    assert cosine_to_relevance(1.0000001) == 1.0
    cosines = dict((d.id, s) for d, s in store.similarity_search_with_score(QUESTION, k=4))
    relevance = store.similarity_search_with_relevance_scores(QUESTION, k=4)
    for doc, score in relevance:
        assert 0.0 <= score <= 1.0
        assert score == pytest.approx((1 + cosines[doc.id]) / 2)
    threshold = sorted(s for _, s in relevance)[1]
    kept = store.similarity_search_with_relevance_scores(QUESTION, k=4, score_threshold=threshold)
    assert len(kept) == 3


def test_filter_is_a_chroma_where_and_where_document_filters_text(
    store: RagkitVectorStore,
) -> None:
    pets = store.similarity_search(QUESTION, k=4, filter={"topic": "pets"})
    assert [d.id for d in pets] == ["pets"]
    recent = store.similarity_search(QUESTION, k=4, filter={"year": {"$gte": 2021}})
    assert {d.id for d in recent} == {"b1", "b2", "q"}
    texts = store.similarity_search(QUESTION, k=4, where_document={"$contains": "query"})
    assert [d.id for d in texts] == ["q"]
    with pytest.raises(FilterError):
        store.similarity_search(QUESTION, k=4, filter={"year": {"$near": 2020}})


def test_search_by_vector_matches_search_by_text(
    store: RagkitVectorStore, embeddings: RagkitEmbeddings
) -> None:
    vector = embeddings.embed_query(QUESTION)
    by_vector = store.similarity_search_by_vector(vector, k=3)
    assert [d.id for d in by_vector] == [d.id for d in store.similarity_search(QUESTION, k=3)]
    with pytest.raises(InputError):
        store.similarity_search_by_vector([1.0, 0.0], k=3)


def test_mmr_skips_near_duplicates_using_stored_vectors(store: RagkitVectorStore) -> None:
    plain = [d.id for d in store.similarity_search(TEXTS[0], k=2)]
    assert set(plain) == {"b1", "b2"}  # the near-copy ranks second
    diverse = store.max_marginal_relevance_search(TEXTS[0], k=2, fetch_k=4, lambda_mult=0.3)
    assert diverse[0].id in {"b1", "b2"}
    assert diverse[1].id not in {"b1", "b2"}
    vector = store.embeddings.embed_query(TEXTS[0])
    by_vector = store.max_marginal_relevance_search_by_vector(
        vector, k=2, fetch_k=4, lambda_mult=0.3
    )
    assert [d.id for d in by_vector] == [d.id for d in diverse]
    only = store.max_marginal_relevance_search(TEXTS[0], k=2, filter={"topic": "pets"})
    assert [d.id for d in only] == ["pets"]


def test_add_replaces_by_id_and_fills_missing_ids(store: RagkitVectorStore) -> None:
    store.add_documents(
        [Document(page_content="a new cat text", metadata={"topic": "pets"})], ids=["q"]
    )
    (doc,) = store.get_by_ids(["q"])
    assert doc == Document(id="q", page_content="a new cat text", metadata={"topic": "pets"})
    new = store.add_documents([Document(page_content="x"), Document(id="mine", page_content="y")])
    assert new[1] == "mine" and new[0] and new[0] != "mine"
    assert {d.id for d in store.get_by_ids([*new, "missing"])} == set(new)


def test_nested_metadata_raises_a_clear_error_and_writes_nothing(store: RagkitVectorStore) -> None:
    with pytest.raises(InputError, match=r"metadatas\[1\].*flat"):
        store.add_texts(["ok", "bad"], [{"a": 1}, {"author": {"name": "x"}}], ids=["n1", "n2"])
    assert store.get_by_ids(["n1", "n2"]) == []
    with pytest.raises(InputError, match="2 ids for 1 texts"):
        store.add_texts(["one"], ids=["a", "b"])
    with pytest.raises(TypeError, match="nonsense"):
        store.add_texts(["one"], nonsense=True)


def test_delete_by_ids_or_filter(store: RagkitVectorStore) -> None:
    assert store.delete(["b1", "missing"]) is True
    assert store.get_by_ids(["b1"]) == []
    store.delete(filter={"topic": "search"})
    assert [d.id for d in store.similarity_search(QUESTION, k=4)] == ["pets"]
    with pytest.raises(InputError):
        store.delete()


def test_as_retriever_supports_each_search_type(store: RagkitVectorStore) -> None:
    similarity = store.as_retriever(search_kwargs={"k": 2})
    assert isinstance(similarity, BaseRetriever)
    assert [d.id for d in similarity.invoke(QUESTION)] == [
        d.id for d in store.similarity_search(QUESTION, k=2)
    ]
    mmr = store.as_retriever(
        search_type="mmr", search_kwargs={"k": 2, "fetch_k": 4, "lambda_mult": 0.3}
    )
    assert [d.id for d in mmr.invoke(TEXTS[0])] == [
        d.id for d in store.max_marginal_relevance_search(TEXTS[0], k=2, fetch_k=4, lambda_mult=0.3)
    ]
    scores = sorted(s for _, s in store.similarity_search_with_relevance_scores(QUESTION, k=4))
    threshold = store.as_retriever(
        search_type="similarity_score_threshold",
        search_kwargs={"k": 4, "score_threshold": scores[2]},
    )
    assert len(threshold.invoke(QUESTION)) == sum(s >= scores[2] for s in scores) < 4
    filtered = store.as_retriever(search_kwargs={"k": 4, "filter": {"topic": "pets"}})
    assert [d.id for d in filtered.invoke(QUESTION)] == ["pets"]
    assert [d.id for d in asyncio.run(filtered.ainvoke(QUESTION))] == ["pets"]


def test_a_persistent_store_reopens_with_its_records(
    embeddings: RagkitEmbeddings, tmp_path: Path
) -> None:
    with RagkitVectorStore.from_texts(TEXTS, embeddings, ids=IDS, path=tmp_path / "p"):
        pass
    with RagkitVectorStore(embeddings, path=tmp_path / "p") as reopened:
        assert {d.id for d in reopened.similarity_search(QUESTION, k=4)} == set(IDS)


def test_it_wraps_an_open_chroma_store_and_exposes_its_embedder(tmp_path: Path) -> None:
    embedder = HashEmbedder(dim=16, query_prompt="q: ")
    with ChromaStore("docs", embedder=embedder, path=tmp_path / "s") as chroma:
        chroma.add(["a"], documents=["a text"], metadatas=[{"k": 1}])
        store = RagkitVectorStore(store=chroma)
        assert store.similarity_search("a text", k=1)[0].id == "a"
        assert store.embeddings.embed_query("x") == [float(v) for v in embedder.embed_query("x")]
        store.close()  # not ours: stays open
        assert chroma.count() == 1
        with pytest.raises(ConfigError):
            RagkitVectorStore(DeterministicFakeEmbedding(size=4), store=chroma)
    with pytest.raises(ConfigError):
        RagkitVectorStore()


def test_in_memory_stores_do_not_share_records() -> None:
    first = RagkitVectorStore.from_texts(["only in the first"], DeterministicFakeEmbedding(size=6))
    second = RagkitVectorStore(DeterministicFakeEmbedding(size=6))
    assert first.similarity_search("only in the first", k=1)
    assert second.similarity_search("only in the first", k=1) == []


def test_any_langchain_embeddings_work_and_are_fingerprinted(tmp_path: Path) -> None:
    class Counting(Embeddings):
        def __init__(self) -> None:
            self.fake = DeterministicFakeEmbedding(size=6)
            self.model = "counting-v1"

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.fake.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return self.fake.embed_query("Q " + text)

    embedder = LangChainEmbedder(Counting())
    assert embedder.fingerprint()["model"] == "counting-v1"
    assert embedder.embed_query(["a", "b"]).shape == (2, 6)
    with RagkitVectorStore.from_texts(TEXTS, Counting(), ids=IDS, path=tmp_path / "lc") as store:
        # the store embeds the query with the embeddings' own embed_query ("Q " prefix)
        (_, score), *_ = store.similarity_search_with_score(TEXTS[0], k=1)
        fake = DeterministicFakeEmbedding(size=6)
        expected = np.array(fake.embed_query("Q " + TEXTS[0]))
        vectors = np.array(fake.embed_documents(TEXTS))
        cosines = vectors @ expected / np.linalg.norm(vectors, axis=1) / np.linalg.norm(expected)
        best = float(cosines.max())
        assert score == pytest.approx(best, abs=1e-4)


# -- reranking ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ce") / "cross-encoder"
    build_cross_encoder_folder(folder)
    return folder


def test_rerank_keeps_top_n_in_cross_encoder_order_with_scores(cross_encoder_dir: Path) -> None:
    docs = [Document(page_content=t, metadata={"i": i}, id=str(i)) for i, t in enumerate(TEXTS)]
    reranker = RagkitRerank(model=cross_encoder_dir, top_n=2)
    expected = CrossEncoderReranker(cross_encoder_dir).score(QUESTION, TEXTS)
    best = reranker.compress_documents(docs, QUESTION)
    order = [int(i) for i in np.argsort(-expected, kind="stable")[:2]]
    assert [d.metadata["i"] for d in best] == order
    for doc in best:
        assert doc.metadata["relevance_score"] == pytest.approx(float(expected[doc.metadata["i"]]))
        assert doc.id == str(doc.metadata["i"])
    assert "relevance_score" not in docs[order[0]].metadata  # inputs untouched
    assert reranker.compress_documents([], QUESTION) == []
    async_best = asyncio.run(reranker.acompress_documents(docs, QUESTION))
    assert [d.id for d in async_best] == [d.id for d in best]
    cut = RagkitRerank(model=str(cross_encoder_dir), top_n=4, score_threshold=float(expected.max()))
    assert [d.metadata["i"] for d in cut.compress_documents(docs, QUESTION)] == [order[0]]
