from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragkit.errors import ConfigError, InputError
from ragkit.store import codes as codes_module
from ragkit.store.codes import (
    Int8Calibration,
    asymmetric_scores,
    code_words,
    dequantize_int8,
    hamming_top_k,
    pack_signs,
    quantize_int8,
    unpack_bits,
)


def _popcount(value: int) -> int:
    return bin(value).count("1")


def _brute_hamming(queries: np.ndarray, corpus: np.ndarray, mask: np.ndarray | None = None):
    """Per query: (rows, distances) sorted by (distance, row), with python-int popcounts."""
    results = []
    for query in queries:
        dist = [
            sum(_popcount(int(a) ^ int(b)) for a, b in zip(query, row, strict=True))
            for row in corpus
        ]
        rows = [i for i in range(len(corpus)) if mask is None or mask[i]]
        rows.sort(key=lambda i: (dist[i], i))
        results.append((rows, [dist[i] for i in rows]))
    return results


# --- pack / unpack -----------------------------------------------------------------------


def test_pack_hand_made_bits() -> None:
    vectors = np.array([[1, -1, 1], [-1, -1, -1], [0, 2, 0], [3, 3, 3]], dtype=np.float32)
    codes = pack_signs(vectors)
    assert codes.dtype == np.uint64 and codes.shape == (4, 1)
    # bit j of word 0 is dimension j: 101 -> 0b101 = 5; zero counts as not positive
    assert codes[:, 0].tolist() == [0b101, 0, 0b010, 0b111]


def test_pack_dimension_not_a_multiple_of_64() -> None:
    vectors = -np.ones((2, 70), dtype=np.float32)
    vectors[0, 0] = vectors[0, 63] = vectors[0, 64] = vectors[0, 69] = 1.0
    vectors[1, 65] = 1.0
    codes = pack_signs(vectors)
    assert codes.shape == (2, 2) and code_words(70) == 2 and code_words(64) == 1
    assert int(codes[0, 0]) == (1 << 0) | (1 << 63)
    assert int(codes[0, 1]) == (1 << 0) | (1 << 5)  # dims 64 and 69; tail bits stay zero
    assert codes[1].tolist() == [0, 1 << 1]
    assert int(pack_signs(np.ones((1, 70), dtype=np.float32))[0, 1]) == (1 << 6) - 1


def test_pack_with_center() -> None:
    vectors = np.array([[0.5, 0.1, -0.2]], dtype=np.float32)
    center = np.array([0.4, 0.2, -0.3], dtype=np.float32)
    assert pack_signs(vectors, center=center).tolist() == [[0b101]]
    assert pack_signs(vectors).tolist() == [[0b011]]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 5), dim=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_unpack_inverts_pack(n: int, dim: int, seed: int) -> None:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    codes = pack_signs(vectors)
    assert codes.shape == (n, math.ceil(dim / 64))
    bits = unpack_bits(codes, dim)
    assert bits.shape == (n, dim)
    np.testing.assert_array_equal(bits, vectors > 0)
    np.testing.assert_array_equal(unpack_bits(np.asfortranarray(codes), dim), vectors > 0)


@pytest.mark.parametrize(
    "vectors",
    [
        np.array([[1.0, np.nan]], dtype=np.float32),
        np.array([[1.0, np.inf]], dtype=np.float32),
        np.ones(3, dtype=np.float32),
        np.ones((2, 0), dtype=np.float32),
        np.array([["a", "b"]]),
    ],
)
def test_pack_rejects_bad_vectors(vectors: np.ndarray) -> None:
    with pytest.raises(InputError):
        pack_signs(vectors)


def test_pack_rejects_bad_center() -> None:
    vectors = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(InputError, match="center"):
        pack_signs(vectors, center=np.zeros(4, dtype=np.float32))
    with pytest.raises(InputError, match="center"):
        pack_signs(vectors, center=np.array([0, np.nan, 0], dtype=np.float32))


def test_unpack_rejects_wrong_width_or_dtype() -> None:
    codes = pack_signs(np.ones((2, 70), dtype=np.float32))
    with pytest.raises(InputError, match="words per row"):
        unpack_bits(codes, 64)
    with pytest.raises(InputError, match="uint64"):
        unpack_bits(codes.astype(np.int64), 70)
    with pytest.raises(InputError):
        unpack_bits(codes, 0)


# --- Hamming top-k -----------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 120),
    words=st.integers(1, 3),
    n_queries=st.integers(1, 3),
    k=st.integers(1, 30),
    batch_size=st.integers(1, 50),
    column_major=st.booleans(),
    masked=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_hamming_matches_brute_force(
    n: int,
    words: int,
    n_queries: int,
    k: int,
    batch_size: int,
    column_major: bool,
    masked: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    # codes drawn from a small pool, so equal distances (also at the k-th place) are common
    pool = rng.integers(0, 2**64, size=(6, words), dtype=np.uint64)
    corpus = pool[rng.integers(0, 6, size=n)]
    queries = rng.integers(0, 2**64, size=(n_queries, words), dtype=np.uint64)
    mask = rng.random(n) < 0.6 if masked else None
    scan = np.asfortranarray(corpus) if column_major else corpus
    indices, distances = hamming_top_k(queries, scan, k, allowed=mask, batch_size=batch_size)
    available = n if mask is None else int(mask.sum())
    assert indices.shape == distances.shape == (n_queries, min(k, available))
    assert indices.dtype == np.int64 and distances.dtype == np.int32
    for row, (rows, dist) in enumerate(_brute_hamming(queries, corpus, mask)):
        assert indices[row].tolist() == rows[:k]
        assert distances[row].tolist() == dist[:k]


def test_hamming_large_corpus_uses_sample_bound() -> None:
    # more rows than the sample, so the strided-sample bound path is taken
    rng = np.random.default_rng(3)
    corpus = rng.integers(0, 2**64, size=(100_000, 2), dtype=np.uint64)
    corpus[77_777] = corpus[5]  # an exact duplicate pair, tied at distance 0 for query 5
    queries = corpus[[5, 99_999]]
    indices, distances = hamming_top_k(queries, np.asfortranarray(corpus), 25)
    full = np.bitwise_count(corpus[None, :, :] ^ queries[:, None, :]).sum(axis=2)
    for row in range(2):
        expected = np.lexsort((np.arange(len(corpus)), full[row]))[:25]
        assert indices[row].tolist() == expected.tolist()
        assert distances[row].tolist() == full[row, expected].tolist()
    assert indices[0, :2].tolist() == [5, 77_777]


def test_hamming_mask_missed_by_the_sample() -> None:
    # the few allowed rows all sit between sampled rows: the sample bound is the sentinel
    corpus = np.zeros((100_000, 1), dtype=np.uint64)
    corpus[::2] = np.uint64(0xFFFF)
    allowed = np.zeros(len(corpus), dtype=bool)
    allowed[[1, 4, 7, 50_001]] = True
    indices, distances = hamming_top_k(
        np.zeros((1, 1), dtype=np.uint64), corpus, 10, allowed=allowed
    )
    assert indices.tolist() == [[1, 7, 50_001, 4]]
    assert distances.tolist() == [[0, 0, 0, 16]]


def test_masked_rows_never_returned() -> None:
    rng = np.random.default_rng(4)
    corpus = rng.integers(0, 2**64, size=(500, 6), dtype=np.uint64)
    allowed = rng.random(500) < 0.5
    queries = corpus[~allowed][:8]  # queries equal to deleted rows: distance 0 if not masked
    indices, _ = hamming_top_k(queries, corpus, 40, allowed=allowed)
    assert indices.shape == (8, 40)
    assert allowed[indices].all()
    assert hamming_top_k(queries, corpus, 40, allowed=np.zeros(500, dtype=bool))[0].shape == (8, 0)


def test_fewer_allowed_rows_than_k() -> None:
    corpus = np.arange(10, dtype=np.uint64).reshape(10, 1)
    allowed = np.zeros(10, dtype=bool)
    allowed[[2, 9]] = True
    indices, distances = hamming_top_k(corpus[:1], corpus, 5, allowed=allowed)
    assert indices.tolist() == [[2, 9]]  # 0^2 = 0b10 (1 bit), 0^9 = 0b1001 (2 bits)
    assert distances.tolist() == [[1, 2]]


def test_k_larger_than_corpus_and_empty_corpus() -> None:
    corpus = np.array([[0b111], [0b001], [0b011]], dtype=np.uint64)
    indices, distances = hamming_top_k(np.array([[0]], dtype=np.uint64), corpus, 10)
    assert indices.tolist() == [[1, 2, 0]] and distances.tolist() == [[1, 2, 3]]
    empty = np.zeros((0, 1), dtype=np.uint64)
    indices, distances = hamming_top_k(np.zeros((3, 1), dtype=np.uint64), empty, 10)
    assert indices.shape == distances.shape == (3, 0)
    indices, _ = hamming_top_k(np.zeros((0, 1), dtype=np.uint64), corpus, 2)
    assert indices.shape == (0, 2)


def test_ties_take_the_lower_row() -> None:
    corpus = np.full((50, 2), 7, dtype=np.uint64)
    corpus[30] = 0
    indices, distances = hamming_top_k(np.zeros((1, 2), dtype=np.uint64), corpus, 5)
    assert indices.tolist() == [[30, 0, 1, 2, 3]]
    assert distances.tolist() == [[0, 6, 6, 6, 6]]


def test_wide_codes_use_wider_distances() -> None:
    # 1,024 words = 65,536 bits: distances no longer fit uint16
    corpus = np.zeros((3, 1024), dtype=np.uint64)
    corpus[1] = np.uint64(2**64 - 1)
    corpus[2, :10] = np.uint64(1)
    indices, distances = hamming_top_k(np.full((1, 1024), 2**64 - 1, dtype=np.uint64), corpus, 3)
    assert indices.tolist() == [[1, 2, 0]]
    assert distances.tolist() == [[0, 65_536 - 10, 65_536]]


def test_popcount_fallback_without_bitwise_count(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    corpus = rng.integers(0, 2**64, size=(300, 3), dtype=np.uint64)
    queries = corpus[:4] ^ np.uint64(0b1011)
    expected = hamming_top_k(queries, corpus, 7)
    monkeypatch.setattr(codes_module, "_HAS_BITWISE_COUNT", False)
    got = hamming_top_k(queries, np.asfortranarray(corpus), 7)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_hamming_rejects_bad_input() -> None:
    corpus = np.zeros((4, 2), dtype=np.uint64)
    query = np.zeros((1, 2), dtype=np.uint64)
    with pytest.raises(InputError, match="words per row"):
        hamming_top_k(np.zeros((1, 3), dtype=np.uint64), corpus, 2)
    with pytest.raises(InputError, match="uint64"):
        hamming_top_k(query, corpus.astype(np.int64), 2)
    with pytest.raises(InputError, match="uint64"):
        hamming_top_k(np.zeros(2, dtype=np.uint64), corpus, 2)
    with pytest.raises(InputError, match="allowed"):
        hamming_top_k(query, corpus, 2, allowed=np.ones(3, dtype=bool))
    with pytest.raises(InputError, match="allowed"):
        hamming_top_k(query, corpus, 2, allowed=np.ones(4, dtype=np.int8))
    with pytest.raises(ConfigError):
        hamming_top_k(query, corpus, 0)
    with pytest.raises(ConfigError):
        hamming_top_k(query, corpus, 1, batch_size=0)


# --- asymmetric scores -------------------------------------------------------------------


@pytest.mark.parametrize("dim", [3, 64, 70, 384])
def test_asymmetric_scores_match_numpy(dim: int) -> None:
    rng = np.random.default_rng(dim)
    docs = rng.standard_normal((9, dim)).astype(np.float32)
    queries = rng.standard_normal((4, dim)).astype(np.float32)
    scores = asymmetric_scores(queries, pack_signs(docs), dim)
    expected = queries @ np.where(docs > 0, 1.0, -1.0).T / np.sqrt(dim)
    assert scores.dtype == np.float32 and scores.shape == (4, 9)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_asymmetric_scores_reject_wrong_dim() -> None:
    codes = pack_signs(np.ones((2, 70), dtype=np.float32))
    with pytest.raises(InputError, match="dimension"):
        asymmetric_scores(np.ones((1, 64), dtype=np.float32), codes, 70)
    with pytest.raises(InputError, match="words per row"):
        asymmetric_scores(np.ones((1, 64), dtype=np.float32), codes, 64)


# --- int8 --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 50), dim=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_int8_round_trip_within_half_a_step(n: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = (rng.standard_normal((n, dim)) * rng.uniform(0.01, 2, dim)).astype(np.float32)
    calib = Int8Calibration(low=vectors.min(axis=0), high=vectors.max(axis=0))
    codes = quantize_int8(vectors, calib)
    assert codes.dtype == np.int8 and codes.shape == (n, dim)
    restored = dequantize_int8(codes, calib)
    assert restored.dtype == np.float32
    error = np.abs(restored - vectors)
    assert (error <= calib.step / 2 + 1e-6 * (1 + np.abs(vectors))).all()


def test_int8_codes_span_the_range_and_clip() -> None:
    calib = Int8Calibration(
        low=np.array([-1.0, 0.0], np.float32), high=np.array([1.0, 0.51], np.float32)
    )
    vectors = np.array([[-1.0, 0.0], [1.0, 0.51], [-5.0, 9.0], [0.5, 0.1]], dtype=np.float32)
    codes = quantize_int8(vectors, calib)
    assert codes[:3].tolist() == [[-128, -128], [127, 127], [-128, 127]]
    assert codes[3].tolist() == [191 - 128, 50 - 128]  # 191.25 and 50 steps above low
    assert dequantize_int8(codes[:1], calib).tolist() == [[-1.0, 0.0]]


def test_int8_zero_width_dimension_is_safe(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(6)
    vectors = rng.standard_normal((200, 4)).astype(np.float32)
    vectors[:, 2] = 0.25
    with caplog.at_level(logging.WARNING, logger="ragkit.store.codes"):
        calib = Int8Calibration.fit(vectors)
    assert "1 dimension(s) are constant" in caplog.text
    assert calib.step[2] == 0
    codes = quantize_int8(vectors + np.float32(1.0), calib)
    assert (codes[:, 2] == -128).all()
    restored = dequantize_int8(codes, calib)
    assert np.isfinite(restored).all() and (restored[:, 2] == np.float32(0.25)).all()


def test_int8_fit_on_a_single_vector_raises() -> None:
    with pytest.raises(InputError, match="degenerate"):
        Int8Calibration.fit(np.ones((1, 8), dtype=np.float32))


def test_int8_fit_on_a_small_sample_warns(caplog: pytest.LogCaptureFixture) -> None:
    vectors = np.random.default_rng(7).standard_normal((10, 3)).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="ragkit.store.codes"):
        Int8Calibration.fit(vectors)
    assert "only 10 vectors" in caplog.text


def test_int8_fit_percentile() -> None:
    vectors = np.random.default_rng(8).standard_normal((1000, 5)).astype(np.float32)
    full = Int8Calibration.fit(vectors)
    np.testing.assert_array_equal(full.low, vectors.min(axis=0))
    np.testing.assert_array_equal(full.high, vectors.max(axis=0))
    clipped = Int8Calibration.fit(vectors, percentile=99.0)
    assert (clipped.low > full.low).all() and (clipped.high < full.high).all()
    with pytest.raises(ConfigError):
        Int8Calibration.fit(vectors, percentile=40)


def test_int8_calibration_persists_exactly() -> None:
    vectors = np.random.default_rng(9).standard_normal((300, 16)).astype(np.float32) / 7
    calib = Int8Calibration.fit(vectors, percentile=99.5)
    restored = Int8Calibration.from_dict(json.loads(json.dumps(calib.to_dict())))
    assert restored == calib
    assert restored.low.dtype == np.float32
    np.testing.assert_array_equal(quantize_int8(vectors, restored), quantize_int8(vectors, calib))
    assert "Int8Calibration(dim=16" in repr(calib)
    assert calib != Int8Calibration(low=calib.low, high=calib.high + 1)
    with pytest.raises(InputError, match="lacks"):
        Int8Calibration.from_dict({"low": [0.0]})
    with pytest.raises(InputError, match="low > high"):
        Int8Calibration.from_dict({"low": [1.0], "high": [0.0]})
    with pytest.raises(InputError):
        Int8Calibration.from_dict({"low": [0.0, 0.0], "high": [1.0]})
    with pytest.raises(InputError):
        Int8Calibration.from_dict({"low": [float("nan")], "high": [1.0]})


def test_int8_calibration_is_immutable() -> None:
    calib = Int8Calibration(low=np.zeros(2, np.float32), high=np.ones(2, np.float32))
    with pytest.raises(ValueError):
        calib.low[0] = 5.0


def test_int8_rejects_bad_shapes() -> None:
    calib = Int8Calibration(low=np.zeros(3, np.float32), high=np.ones(3, np.float32))
    with pytest.raises(InputError):
        quantize_int8(np.zeros((2, 4), dtype=np.float32), calib)
    with pytest.raises(InputError):
        quantize_int8(np.array([[0, np.nan, 0]], dtype=np.float32), calib)
    with pytest.raises(InputError):
        dequantize_int8(np.zeros((2, 3), dtype=np.uint8), calib)
    with pytest.raises(InputError):
        dequantize_int8(np.zeros((2, 4), dtype=np.int8), calib)


def test_dequantized_rescoring_keeps_cosine_order_raw_codes_do_not() -> None:
    rng = np.random.default_rng(10)
    dim, n = 64, 2000
    # per-dimension offsets and spreads, as in real embeddings: raw codes reweight dimensions
    offsets = rng.normal(0, 0.1, dim)
    spreads = rng.uniform(0.005, 0.2, dim)
    docs = (offsets + rng.standard_normal((n, dim)) * spreads).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    queries = docs[:50] + rng.normal(0, 0.02, (50, dim)).astype(np.float32)
    calib = Int8Calibration.fit(docs)
    codes = quantize_int8(docs, calib)

    def overlap(scores: np.ndarray) -> float:
        truth = np.argsort(-(queries @ docs.T), axis=1)[:, :10]
        top = np.argsort(-scores, axis=1)[:, :10]
        return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, top, strict=True)]))

    dequantized = overlap(queries @ dequantize_int8(codes, calib).T)
    raw = overlap(queries @ codes.astype(np.float32).T)
    assert dequantized >= 0.9
    assert raw < dequantized - 0.3


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("masked", [False, True])
def test_threaded_scans_give_exactly_the_single_thread_answer(threads: int, masked: bool) -> None:
    rng = np.random.default_rng(threads)
    # 8 bits per code: many ties, so the merge's lower-row-first rule is exercised.
    corpus = pack_signs(rng.standard_normal((5_000, 8)).astype(np.float32))
    queries = pack_signs(rng.standard_normal((7, 8)).astype(np.float32))
    allowed = rng.random(5_000) < 0.3 if masked else None
    if masked:
        allowed[: 5_000 // threads] = False  # a whole part with nothing allowed
    for k in (1, 10, 300):
        single = hamming_top_k(queries, corpus, k, allowed=allowed, threads=1)
        split = hamming_top_k(queries, corpus, k, allowed=allowed, threads=threads)
        np.testing.assert_array_equal(split[0], single[0])
        np.testing.assert_array_equal(split[1], single[1])


def test_threads_below_one_are_a_config_error() -> None:
    codes = pack_signs(np.ones((4, 8), dtype=np.float32))
    with pytest.raises(ConfigError, match="threads"):
        hamming_top_k(codes, codes, 1, threads=0)
