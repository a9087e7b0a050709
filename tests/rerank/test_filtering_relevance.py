"""CosineRelevance: cosines calibrated against the query's background, one threshold for all."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ragkit import ChromaStore, HashEmbedder
from ragkit.errors import ConfigError, InputError
from ragkit.rerank.relevance import CosineRelevance, check_threshold


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _background_with_cosines(values: list[float], dim: int = 4) -> np.ndarray:
    """Unit vectors whose cosine with e0 is each of ``values``."""
    rows = np.zeros((len(values), dim), dtype=np.float32)
    rows[:, 0] = values
    rows[:, 1] = np.sqrt(1 - np.square(values))
    return rows


QUERY = np.array([1, 0, 0, 0], dtype=np.float32)


def test_a_cosine_becomes_the_chance_it_beats_every_background_record() -> None:
    # Background cosines -0.1 and 0.1: mean 0, std 0.1, so 0.3 is z = 3.
    relevance = CosineRelevance(_background_with_cosines([-0.1, 0.1] * 50), population=1000)
    assert relevance.background_stats(QUERY) == pytest.approx((0.0, 0.1), abs=1e-6)
    assert relevance.z_scores(QUERY, [0.3, 0.0])[0] == pytest.approx(3.0, abs=1e-5)
    phi = 1 - 0.5 * math.erfc(3 / math.sqrt(2))
    got = relevance.relevance(QUERY, [0.3, 0.0, 0.9])
    assert got[0] == pytest.approx(phi**1000, rel=1e-4)
    assert got[1] == pytest.approx(0.5**1000, abs=1e-12) and got[2] == pytest.approx(1.0)


def test_a_bigger_store_asks_more_of_the_same_cosine() -> None:
    background = _background_with_cosines([-0.1, 0.1] * 50)
    small = CosineRelevance(background, population=100).relevance(QUERY, [0.35])[0]
    large = CosineRelevance(background, population=1_000_000).relevance(QUERY, [0.35])[0]
    assert 0.9 < small and large < 0.5


def test_the_threshold_follows_each_query_not_the_raw_cosine() -> None:
    # Two queries, one whose background sits high (a model or topic that scores everything
    # alike) and one low: the same cosine 0.5 is relevant for one and noise for the other.
    rng = np.random.default_rng(0)
    e0, e1 = np.eye(32, dtype=np.float32)[:2]
    background = _unit(e1 + 0.1 * rng.standard_normal((400, 32)))  # a cluster around e1
    apart, alike = e0, _unit((e0 + e1)[None])[0]  # cosines ~0 and ~0.6 with the cluster
    relevance = CosineRelevance(background, population=5000)
    assert relevance.background_stats(apart)[0] < 0.05 < 0.5 < relevance.background_stats(alike)[0]
    assert relevance.relevance(apart, [0.5])[0] > 0.99
    assert relevance.relevance(alike, [0.5])[0] < 0.01


def test_an_off_topic_querys_best_match_passes_a_threshold_at_its_false_alarm_rate() -> None:
    # Random directions (no relevant record): the best of N cosines is the maximum of N
    # background draws, so its relevance is about uniform and 0.9 lets ~10% through.
    rng = np.random.default_rng(1)
    store = _unit(rng.standard_normal((4000, 128)))
    relevance = CosineRelevance(store[:1000], population=len(store))
    queries = _unit(rng.standard_normal((300, 128)))
    best = [relevance.relevance(q, [float((store @ q).max())])[0] for q in queries]
    assert 0.04 < np.mean(np.array(best) >= 0.9) < 0.2
    assert 0.35 < np.mean(np.array(best) >= 0.5) < 0.65
    planted = _unit(queries[0][None] + 0.4 * store[:1])[0]  # a record close to query 0
    assert relevance.relevance(queries[0], [float(planted @ queries[0])])[0] > 0.999


def test_from_store_samples_stored_vectors_and_counts_the_store(tmp_path: Path) -> None:
    embedder = HashEmbedder(dim=16)
    with ChromaStore("background", embedder=embedder, path=tmp_path / "s") as store:
        store.add([f"d{i}" for i in range(30)], documents=[f"text {i}" for i in range(30)])
        relevance = CosineRelevance.from_store(store, sample=10, seed=3)
        assert relevance.background.shape == (10, 16) and relevance.population == 30
        again = CosineRelevance.from_store(store, sample=10, seed=3)
        assert np.array_equal(relevance.background, again.background)  # seeded
        assert CosineRelevance.from_store(store, sample=100).background.shape == (30, 16)
        assert "10 vectors" in repr(relevance)


def test_a_store_too_small_to_calibrate_is_a_config_error(tmp_path: Path) -> None:
    with ChromaStore("single", embedder=HashEmbedder(dim=8), path=tmp_path / "s") as store:
        store.add(["only"], documents=["a single record"])
        with pytest.raises(ConfigError, match="at least 2"):
            CosineRelevance.from_store(store)
        with pytest.raises(ConfigError, match="sample"):
            CosineRelevance.from_store(store, sample=1)


def test_bad_background_queries_and_cosines_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="at least 2"):
        CosineRelevance(np.ones((1, 4), dtype=np.float32))
    with pytest.raises(InputError, match="matrix"):
        CosineRelevance(np.ones(4, dtype=np.float32))
    with pytest.raises(ConfigError, match="population"):
        CosineRelevance(np.eye(4, dtype=np.float32), population=0)
    relevance = CosineRelevance(np.eye(4, dtype=np.float32))
    with pytest.raises(InputError, match="dimensions"):
        relevance.relevance(np.ones(3, dtype=np.float32), [0.5])
    with pytest.raises(InputError, match="zero"):
        relevance.relevance(np.zeros(4, dtype=np.float32), [0.5])
    with pytest.raises(InputError, match="not finite"):
        relevance.relevance(QUERY, [float("nan")])
    assert relevance.relevance(QUERY, []).shape == (0,)


def test_identical_background_scores_do_not_divide_by_zero() -> None:
    same = np.tile(np.array([[0.5, 0.5, 0.5, 0.5]], dtype=np.float32), (5, 1))
    got = CosineRelevance(same).relevance(QUERY, [0.5, 0.6])
    assert np.isfinite(got).all() and got[1] == pytest.approx(1.0)


@pytest.mark.parametrize("value", [-0.1, 1.1, float("nan"), "0.5", True])
def test_thresholds_outside_their_range_are_config_errors(value: object) -> None:
    with pytest.raises(ConfigError, match="min_relevance"):
        check_threshold("min_relevance", value, low=0.0, high=1.0)  # type: ignore[arg-type]
    check_threshold("min_relevance", None, low=0.0, high=1.0)
