"""Retriever's stages: relevance filter, rerank, score filter and MMR, in that order."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ragkit import ChromaStore, HashEmbedder
from ragkit.errors import ConfigError, InputError
from ragkit.rerank.relevance import CosineRelevance
from ragkit.retrieval import Passage, Retriever

DIM = 64
QUESTION = "how do binary codes save memory?"


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


class ReversingReranker:
    """Reverses the candidates it is given, scoring them 0.9, 0.8, ...; remembers the calls."""

    def __init__(self, *, record_score: bool = True) -> None:
        self.calls: list[list[str]] = []
        self.record_score = record_score

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        self.calls.append([p.id for p in passages])
        out = []
        for rank, p in enumerate(reversed(passages)):
            score = round(0.9 - 0.1 * rank, 6)
            scores = {**p.scores, "rerank": score} if self.record_score else p.scores
            out.append(replace(p, score=score, scores=scores))
        return out


def _meta(record_id: str, text: str) -> dict[str, object]:
    source, position = record_id.split("#")
    return {"source": source, "start": 0, "end": len(text), "position": int(position)}


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[ChromaStore]:
    """With the question's vector q and directions u, w, x orthogonal to it and each other:
    ``doc#0`` = q + 0.2u (cosine 0.98), ``doc#1`` = q + 0.25u (0.97, a near copy of doc#0),
    ``doc#2`` = 0.8q + 0.6w (0.8), ``doc#3`` = 0.5q + 0.87x (0.5), and 60 ``noise#i``
    records pointing anywhere (cosines within about +-0.3)."""
    embedder = HashEmbedder(dim=DIM)
    rng = np.random.default_rng(7)
    basis = [embedder.embed_query(QUESTION)]
    while len(basis) < 4:
        v = rng.standard_normal(DIM)
        basis.append(_unit(v - sum((v @ b) * b for b in basis)))
    q, u, w, x = basis
    planted = [q + 0.2 * u, q + 0.25 * u, 0.8 * q + 0.6 * w, 0.5 * q + 0.866 * x]
    vectors = [_unit(v) for v in planted] + [_unit(v) for v in rng.standard_normal((60, DIM))]
    ids = [f"doc#{i}" for i in range(4)] + [f"noise#{i}" for i in range(60)]
    texts = [f"text of {i}" for i in ids]
    metas = [_meta(i, t) for i, t in zip(ids, texts, strict=True)]
    with ChromaStore("pipeline", embedder=embedder, path=tmp_path / "store") as opened:
        opened.add(ids, embeddings=np.stack(vectors), documents=texts, metadatas=metas)
        yield opened


def test_without_stages_passages_come_in_cosine_order_with_that_score_recorded(
    store: ChromaStore,
) -> None:
    passages = Retriever(store, k=3).retrieve(QUESTION)
    assert [p.id for p in passages] == ["doc#0", "doc#1", "doc#2"]
    for p in passages:
        assert p.scores == {"cosine": p.score}
        assert p.as_dict()["scores"] == {"cosine": p.score}
    assert passages[0].score == pytest.approx(0.981, abs=1e-3)


def test_the_reranker_sees_the_best_rerank_k_and_its_score_becomes_final(
    store: ChromaStore,
) -> None:
    reranker = ReversingReranker()
    retriever = Retriever(store, k=2, fetch_k=6, reranker=reranker, rerank_k=3)
    passages = retriever.retrieve(QUESTION)
    assert reranker.calls == [["doc#0", "doc#1", "doc#2"]]
    assert [p.id for p in passages] == ["doc#2", "doc#1"]
    assert [p.score for p in passages] == [0.9, 0.8]
    assert passages[0].scores["rerank"] == 0.9
    assert passages[0].scores["cosine"] == pytest.approx(0.8, abs=1e-3)


def test_a_reranker_that_only_sets_score_still_gets_its_stage_recorded(
    store: ChromaStore,
) -> None:
    passages = Retriever(store, k=1, reranker=ReversingReranker(record_score=False)).retrieve(
        QUESTION
    )
    assert passages[0].scores["rerank"] == passages[0].score == 0.9


def test_min_score_filters_on_the_final_stage_and_can_leave_nothing(store: ChromaStore) -> None:
    reranked = Retriever(store, k=5, fetch_k=4, reranker=ReversingReranker(), min_score=0.75)
    assert [p.score for p in reranked.retrieve(QUESTION)] == [0.9, 0.8]
    dense = Retriever(store, k=5, min_score=0.6)  # no reranker: the cosine
    assert [p.id for p in dense.retrieve(QUESTION)] == ["doc#0", "doc#1", "doc#2"]
    assert (
        Retriever(store, k=5, reranker=ReversingReranker(), min_score=0.95).retrieve(QUESTION) == []
    )


def test_mmr_skips_the_near_copy_for_the_related_passage(store: ChromaStore) -> None:
    # After doc#0: doc#1 scores .5 * .97 - .5 * .999 < 0, doc#2 .5 * .8 - .5 * .784 > 0,
    # doc#3 .5 * .5 - .5 * .49 (a little less).
    assert [p.id for p in Retriever(store, k=2).retrieve(QUESTION)] == ["doc#0", "doc#1"]
    diverse = Retriever(store, k=2, fetch_k=4, mmr=0.5).retrieve(QUESTION)
    assert [p.id for p in diverse] == ["doc#0", "doc#2"]
    relevant_only = Retriever(store, k=2, fetch_k=4, mmr=1.0).retrieve(QUESTION)
    assert [p.id for p in relevant_only] == ["doc#0", "doc#1"]
    assert diverse[1].score == diverse[1].scores["cosine"]  # MMR reorders, scores stay


def test_mmr_after_a_reranker_weighs_the_rerank_scores(store: ChromaStore) -> None:
    # The reversing reranker scores doc#3 0.9, doc#2 0.8, doc#1 0.7, doc#0 0.6. On cosines
    # MMR would start from doc#0; on the reranker's scores it starts from doc#3, then takes
    # doc#2 (.3 * .8 - .7 * .4 beats doc#1's .3 * .7 - .7 * .485).
    reranker = ReversingReranker()
    diverse = Retriever(store, k=3, fetch_k=4, reranker=reranker, mmr=0.3).retrieve(QUESTION)
    assert [p.id for p in diverse] == ["doc#3", "doc#2", "doc#1"]
    assert [p.id for p in Retriever(store, k=3, fetch_k=4, mmr=0.3).retrieve(QUESTION)][0] == (
        "doc#0"
    )


def test_a_relevance_threshold_drops_noise_before_the_reranker_pays_for_it(
    store: ChromaStore,
) -> None:
    reranker = ReversingReranker()
    retriever = Retriever(store, k=5, fetch_k=10, reranker=reranker, min_relevance=0.999)
    passages = retriever.retrieve(QUESTION)
    assert set(reranker.calls[0]) <= {"doc#0", "doc#1", "doc#2", "doc#3"}
    assert {"doc#0", "doc#1", "doc#2"} <= set(reranker.calls[0])
    assert all(p.scores["relevance"] >= 0.999 for p in passages)
    assert isinstance(retriever.relevance, CosineRelevance)  # built on first use, then kept


def test_queries_with_nothing_relevant_mostly_get_nothing(store: ChromaStore) -> None:
    # Unrelated queries' best cosines are the best of 64 random ones: at 0.999 (beating all
    # but one in a thousand unrelated pairs) few get through; the planted passages do.
    retriever = Retriever(store, k=5, min_relevance=0.999)
    answered = [bool(retriever.retrieve(f"unrelated question {i}")) for i in range(20)]
    assert sum(answered) <= 4
    assert all(Retriever(store, k=5).retrieve(f"unrelated question {i}") for i in range(3))
    relevant = retriever.retrieve(QUESTION)
    assert [p.id for p in relevant] == ["doc#0", "doc#1", "doc#2", "doc#3"]


def test_every_stage_together_on_an_empty_store_returns_nothing(tmp_path: Path) -> None:
    with ChromaStore("empty", embedder=HashEmbedder(dim=DIM), path=tmp_path / "e") as empty:
        retriever = Retriever(
            empty, k=3, reranker=ReversingReranker(), min_relevance=0.5, min_score=0.1, mmr=0.5
        )
        assert retriever.retrieve(QUESTION) == []


def test_candidates_without_text_are_dropped_before_reranking_with_a_warning(
    store: ChromaStore, caplog: pytest.LogCaptureFixture
) -> None:
    vector = store.collection.get(ids=["doc#0"], include=["embeddings"])["embeddings"][0]
    store.add(["blank#0"], embeddings=[vector], metadatas=[_meta("blank#0", "")])  # no text
    reranker = ReversingReranker()
    with caplog.at_level(logging.WARNING, logger="ragkit.retrieval"):
        Retriever(store, k=2, fetch_k=3, reranker=reranker).retrieve(QUESTION)
    assert reranker.calls == [["doc#0", "doc#1"]]
    assert "blank#0" in caplog.text


def test_fetch_k_defaults_widen_for_a_reranker_or_mmr(store: ChromaStore) -> None:
    reranker = ReversingReranker()
    Retriever(store, k=2, reranker=reranker).retrieve(QUESTION)
    Retriever(store, k=2, reranker=reranker, rerank_k=10).retrieve(QUESTION)
    assert [len(call) for call in reranker.calls] == [8, 10]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mmr": 1.5}, "lambda_mult"),
        ({"mmr": -0.5}, "lambda_mult"),
        ({"min_relevance": 2.0}, "min_relevance"),
        ({"min_score": float("nan")}, "min_score"),
        ({"rerank_k": 4}, "pass a reranker"),
        ({"rerank_k": 0, "reranker": ReversingReranker()}, "rerank_k"),
        ({"rerank_k": 9, "fetch_k": 8, "reranker": ReversingReranker()}, "cannot exceed"),
        ({"reranker": object()}, "rerank"),
        ({"fetch_k": 0}, "fetch_k"),
        ({"k": 0}, "k must be"),
    ],
)
def test_out_of_range_stage_options_are_config_errors(
    store: ChromaStore, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Retriever(store, **options)  # type: ignore[arg-type]


def test_empty_queries_are_input_errors(store: ChromaStore) -> None:
    for query in ("", "   "):
        with pytest.raises(InputError, match="empty"):
            Retriever(store, mmr=0.5).retrieve(query)


def test_repr_names_the_stages_in_use(store: ChromaStore) -> None:
    text = repr(Retriever(store, k=3, mmr=0.5, min_score=0.2))
    assert text == "Retriever('pipeline', k=3, min_score=0.2, mmr=0.5)"


def test_hybrid_candidates_carry_bm25_and_fusion_and_rank_by_fusion(
    store: ChromaStore, tmp_path: Path
) -> None:
    from ragkit.lexical.bm25 import BM25Index

    # noise#5 points anywhere, but its text is the only one with the query's rare word.
    vector = store.collection.get(ids=["noise#5"], include=["embeddings"])["embeddings"][0]
    store.add(
        ["noise#5"],
        embeddings=[vector],
        documents=["zygomorphic flowers"],
        metadatas=[_meta("noise#5", "zygomorphic flowers")],
    )
    lexical = BM25Index(store, directory=tmp_path / "lexical")
    question = QUESTION + " zygomorphic"
    dense = Retriever(store, k=3).retrieve(question)
    assert "noise#5" not in [p.id for p in dense]
    hybrid = Retriever(store, k=3, hybrid=lexical, hybrid_weights=(1.0, 2.0)).retrieve(question)
    assert hybrid[0].id == "noise#5"
    assert set(hybrid[0].scores) == {"cosine", "bm25", "fusion"}
    assert hybrid[0].score == hybrid[0].scores["fusion"]
    assert [p.score for p in hybrid] == sorted((p.score for p in hybrid), reverse=True)
    diverse = Retriever(store, k=3, hybrid=lexical, mmr=0.5, min_relevance=0.0).retrieve(question)
    assert all("relevance" in p.scores for p in diverse) and len(diverse) == 3


def test_hybrid_with_mmr_embeds_the_query_once(
    store: ChromaStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragkit.lexical.bm25 import BM25Index

    lexical = BM25Index(store, directory=tmp_path / "lexical")
    assert store.embedder is not None
    embedded: list[object] = []
    embed_query = store.embedder.embed_query

    def counting(text: object, **options: object) -> object:
        embedded.append(text)
        return embed_query(text, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(store.embedder, "embed_query", counting)
    passages = Retriever(store, k=3, hybrid=lexical, mmr=0.5).retrieve(QUESTION)
    assert len(passages) == 3
    assert len(embedded) == 1  # the MMR stage's vector serves the hybrid search too


def test_bad_hybrid_options_are_config_errors(store: ChromaStore, tmp_path: Path) -> None:
    from ragkit.lexical.bm25 import BM25Index

    lexical = BM25Index(store, directory=tmp_path / "lexical")
    for weights in [(0.0, 0.0), (1.0, -1.0), (1.0,), (float("inf"), 1.0)]:
        with pytest.raises(ConfigError, match="hybrid_weights"):
            Retriever(store, hybrid=lexical, hybrid_weights=weights)  # type: ignore[arg-type]
    with ChromaStore("another", embedder=HashEmbedder(dim=DIM), path=tmp_path / "o") as other:
        with pytest.raises(ConfigError, match="this store"):
            Retriever(other, hybrid=lexical)
