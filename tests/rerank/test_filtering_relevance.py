"""CosineRelevance: cosines calibrated against the store's unrelated (question, passage) pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit import ChromaStore, HashEmbedder
from ragkit.errors import ConfigError, InputError
from ragkit.rerank.relevance import CosineRelevance, check_threshold


def _records(n: int, *, sources: int | None = None) -> tuple[list[str], list[str], list[dict]]:
    ids = [f"d{i}" for i in range(n)]
    texts = [" ".join(f"word{i}x{j}" for j in range(40)) for i in range(n)]
    metas = [{"source": f"doc{i % (sources or n)}"} for i in range(n)]
    return ids, texts, metas


def test_relevance_is_the_share_of_null_cosines_at_or_below() -> None:
    relevance = CosineRelevance([0.4, 0.1, 0.2, 0.3])  # any order
    assert relevance.relevance([0.05, 0.1, 0.25, 0.4, 0.9]).tolist() == pytest.approx(
        [0.0, 0.25, 0.5, 1.0, 1.0]
    )
    assert relevance.relevance([]).shape == (0,)


def test_one_threshold_means_the_same_on_a_shifted_cosine_scale() -> None:
    # A model whose unrelated pairs score 0.6 higher: raw cosines move, relevance does not.
    rng = np.random.default_rng(0)
    null = rng.normal(0.1, 0.1, 10_000)
    candidates = np.array([0.05, 0.3, 0.45, 0.6])
    plain = CosineRelevance(null).relevance(candidates)
    shifted = CosineRelevance(null + 0.6).relevance(candidates + 0.6)
    assert plain.tolist() == pytest.approx(shifted.tolist())
    assert CosineRelevance(null).cosine_at(0.99) + 0.6 == pytest.approx(
        CosineRelevance(null + 0.6).cosine_at(0.99)
    )


def test_cosine_at_inverts_relevance() -> None:
    relevance = CosineRelevance(np.linspace(0.0, 1.0, 1001))
    assert relevance.cosine_at(0.99) == pytest.approx(0.99)
    assert relevance.relevance([relevance.cosine_at(0.9)])[0] == pytest.approx(0.9, abs=1e-3)
    with pytest.raises(ConfigError, match="relevance"):
        relevance.cosine_at(1.5)


def test_from_store_pairs_pseudo_queries_with_other_documents_only(tmp_path: Path) -> None:
    ids, texts, metas = _records(30, sources=10)  # 3 chunks of each of 10 documents
    with ChromaStore("calibrated", embedder=HashEmbedder(dim=16), path=tmp_path / "s") as store:
        store.add(ids, documents=texts, metadatas=metas)
        relevance = CosineRelevance.from_store(store, queries=5, sample=20, seed=3)
        # 5 pseudo-queries x 20 texts, less the pairs from the querying text's own document.
        assert 5 * (20 - 3) <= len(relevance.null) < 5 * 20
        again = CosineRelevance.from_store(store, queries=5, sample=20, seed=3)
        assert np.array_equal(relevance.null, again.null)  # seeded
        full = CosineRelevance.from_store(store, queries=200, sample=1000)
        assert len(full.null) == 30 * 27  # every text asks, against every other document's
        assert "null cosines" in repr(relevance)


def test_an_unrelated_question_scores_low_and_a_quoted_passage_high(tmp_path: Path) -> None:
    ids, texts, metas = _records(50)
    embedder = HashEmbedder(dim=64)
    with ChromaStore("quoted", embedder=embedder, path=tmp_path / "s") as store:
        store.add(ids, embeddings=embedder.embed_query(texts), documents=texts, metadatas=metas)
        relevance = CosineRelevance.from_store(store)
        own = store.query(texts[7], k=1)[0]
        assert own.id == "d7" and relevance.relevance([own.score])[0] == 1.0
        unrelated = store.query("a question nobody stored", k=1)[0]
        assert relevance.relevance([unrelated.score])[0] < 1.0


def test_a_store_too_small_or_without_embedder_cannot_calibrate(tmp_path: Path) -> None:
    with ChromaStore("single", embedder=HashEmbedder(dim=8), path=tmp_path / "a") as store:
        store.add(["only"], documents=["a single record"])
        with pytest.raises(ConfigError, match="too few documents"):
            CosineRelevance.from_store(store)
        for option in ("queries", "sample", "words"):
            with pytest.raises(ConfigError, match=option):
                CosineRelevance.from_store(store, **{option: 1})
    ids, texts, metas = _records(4, sources=1)  # one document's chunks only
    with ChromaStore("onedoc", embedder=HashEmbedder(dim=8), path=tmp_path / "b") as store:
        store.add(ids, documents=texts, metadatas=metas)
        with pytest.raises(ConfigError, match="too few documents"):
            CosineRelevance.from_store(store)
    with ChromaStore("vectors", path=tmp_path / "c") as store:
        with pytest.raises(ConfigError, match="embedder"):
            CosineRelevance.from_store(store)


def test_bad_null_or_cosines_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="at least 2"):
        CosineRelevance([0.5])
    with pytest.raises(InputError, match="finite"):
        CosineRelevance([0.1, float("nan")])
    with pytest.raises(InputError, match="not finite"):
        CosineRelevance([0.1, 0.2]).relevance([float("inf")])


@pytest.mark.parametrize("value", [-0.1, 1.1, float("nan"), "0.5", True])
def test_thresholds_outside_their_range_are_config_errors(value: object) -> None:
    with pytest.raises(ConfigError, match="min_relevance"):
        check_threshold("min_relevance", value, low=0.0, high=1.0)  # type: ignore[arg-type]
    check_threshold("min_relevance", None, low=0.0, high=1.0)
