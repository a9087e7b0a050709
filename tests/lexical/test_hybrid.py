from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit.embed.fake import HashEmbedder
from ragkit.errors import ConfigError, InputError
from ragkit.lexical.analyzer import Analyzer
from ragkit.lexical.bm25 import BM25Index
from ragkit.lexical.fusion import reciprocal_rank_fusion
from ragkit.lexical.hybrid import HybridHit, hybrid_search
from ragkit.store.base import Hit
from ragkit.store.chroma import ChromaStore
from tests.lexical.conftest import shared_store, unique_name
from tests.store.conftest import http_client

WORDS = "apple banana cherry date fig grape kiwi lemon mango melon olive peach pear plum".split()


def corpus(n: int = 40) -> dict[str, str]:
    rng = np.random.default_rng(0)
    return {f"d{i:02d}": " ".join(rng.choice(WORDS, size=6)) for i in range(n)}


@pytest.fixture
def filled(store: ChromaStore) -> ChromaStore:
    docs = corpus()
    metas = [{"half": i % 2} for i in range(len(docs))]
    store.add(list(docs), documents=list(docs.values()), metadatas=metas)  # type: ignore[arg-type]
    return store


def cosine(store: ChromaStore, query: str, text: str) -> float:
    assert store.embedder is not None
    vector = store.embedder.embed_documents([text])[0]
    return float(vector @ store.embedder.embed_query(query))


def test_fuses_the_two_legs_by_rank(filled: ChromaStore) -> None:
    lexical = BM25Index(filled)
    query = "plum peach"
    hits = hybrid_search(filled, lexical, query, k=8, fetch_k=20, weights=(1.0, 0.5))
    dense = [h.id for h in filled.query(query, 20)]
    bm25 = lexical.search(query, 20)
    expected = reciprocal_rank_fusion([dense, bm25], weights=(1.0, 0.5))[:8]
    assert [(h.id, h.scores["fusion"]) for h in hits] == expected
    assert all(isinstance(h, HybridHit) and isinstance(h, Hit) for h in hits)
    bm25_of = dict(bm25)
    for hit in hits:
        assert hit.score == pytest.approx(cosine(filled, query, hit.document or ""), abs=1e-5)
        assert hit.scores["cosine"] == hit.score
        assert hit.scores.get("bm25") == bm25_of.get(hit.id)
        assert hit.metadata == {"half": int(hit.id[1:]) % 2}


def test_lexical_only_records_get_their_true_cosine(filled: ChromaStore) -> None:
    hits = hybrid_search(filled, BM25Index(filled), "olive", k=5, weights=(0.0, 1.0))
    assert hits and all("bm25" in h.scores for h in hits)
    for hit in hits:
        assert hit.score == pytest.approx(cosine(filled, "olive", hit.document or ""), abs=1e-5)
        assert "olive" in (hit.document or "")


def test_weights_pick_a_leg(filled: ChromaStore) -> None:
    lexical = BM25Index(filled)
    dense_only = hybrid_search(filled, lexical, "kiwi lemon", k=5, weights=(1.0, 0.0))
    assert [h.id for h in dense_only] == [h.id for h in filled.query("kiwi lemon", 5)]
    lexical_only = hybrid_search(filled, lexical, "kiwi lemon", k=5, weights=(0.0, 1.0))
    assert [h.id for h in lexical_only] == [i for i, _ in lexical.search("kiwi lemon", 5)]


def test_filter_applies_to_both_legs(filled: ChromaStore) -> None:
    hits = hybrid_search(filled, BM25Index(filled), "grape", k=10, where={"half": 1})
    assert hits and all(h.metadata["half"] == 1 for h in hits)
    contains = hybrid_search(
        filled, BM25Index(filled), "grape", k=40, where_document={"$contains": "fig"}
    )
    assert contains and all("fig" in (h.document or "") for h in contains)


def test_stopword_query_falls_back_to_dense(filled: ChromaStore) -> None:
    hits = hybrid_search(filled, BM25Index(filled), "the of and", k=3)
    assert [h.id for h in hits] == [h.id for h in filled.query("the of and", 3)]
    assert all("bm25" not in h.scores for h in hits)


def test_bad_input_and_empty_store(store: ChromaStore, tmp_path: Path) -> None:
    lexical = BM25Index(store)
    assert hybrid_search(store, lexical, "anything", k=5) == []
    store.add(["a"], documents=["apple"])
    assert [h.id for h in hybrid_search(store, lexical, "apple", k=50)] == ["a"]
    with pytest.raises(InputError):
        hybrid_search(store, lexical, " ", k=5)
    for bad in ({"k": 0}, {"fetch_k": 0}, {"weights": (-1.0, 1.0)}):
        with pytest.raises(ConfigError):
            hybrid_search(store, lexical, "apple", **{"k": 5, **bad})  # type: ignore[arg-type]
    with ChromaStore("other", embedder=HashEmbedder(16), path=tmp_path / "other") as other:
        with pytest.raises(ConfigError, match="another store"):
            hybrid_search(other, lexical, "apple")
    bare = ChromaStore("bare", client=store.client, index_dir=tmp_path)
    with pytest.raises(InputError, match="embedder"):
        hybrid_search(bare, BM25Index(bare, persist=False), "apple")


def test_server_clients_see_each_others_writes(
    chroma_server: tuple[str, int], tmp_path: Path
) -> None:
    name = unique_name()
    first = shared_store(http_client(chroma_server), name, tmp_path)
    second = shared_store(http_client(chroma_server), name, tmp_path)
    lexical = BM25Index(first, analyzer=Analyzer(stemmer=None))
    first.add(["a"], documents=["apple"])
    assert [h.id for h in hybrid_search(first, lexical, "apple", k=5)] == ["a"]
    second.add(["b", "c"], documents=["apple pie", "banana"])
    assert [i for i, _ in lexical.search("apple", k=5)] == ["a", "b"]
    second.add(["a"], documents=["cherry"])
    second.delete(["b"])
    assert lexical.search("apple", k=5) == []
    hits = hybrid_search(first, lexical, "cherry", k=1, weights=(0.0, 1.0))
    assert [(h.id, h.document) for h in hits] == [("a", "cherry")]
