from __future__ import annotations

import numpy as np
import pytest

from ragkit.errors import StoreError
from ragkit.store.codes import asymmetric_scores, pack_signs
from ragkit.store.fields import decode_code, decode_int8, encode_code, encode_int8
from ragkit.store.sign_stats import SignStats


def _unit(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Skewed, offset dimensions: the regime where per-dimension levels beat bare signs.
    scale = np.linspace(2.0, 0.1, dim)
    vectors = rng.standard_normal((n, dim)) * scale + 0.3 * scale
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_int8_copies_keep_cosines_within_1e_4() -> None:
    vectors = _unit(200, 384, seed=1)
    restored = np.array([decode_int8(text, 384) for text in encode_int8(vectors)])
    cosines = (restored * vectors).sum(1) / np.linalg.norm(restored, axis=1)
    assert cosines.min() > 0.9999
    assert len(encode_int8(vectors[:1])[0]) < 4 * 384  # smaller than the float32 text would be


def test_int8_of_a_zero_vector_is_zero() -> None:
    assert not decode_int8(encode_int8(np.zeros((1, 8), np.float32))[0], 8).any()


@pytest.mark.parametrize(
    ("text", "match"), [("@@", "Corrupt"), (encode_int8(np.ones((1, 4)))[0], "values")]
)
def test_corrupt_int8_fields_are_a_store_error(text: str, match: str) -> None:
    with pytest.raises(StoreError, match=match):
        decode_int8(text, 8)


def test_codes_round_trip_and_wrong_sizes_are_a_store_error() -> None:
    codes = pack_signs(_unit(3, 130, seed=2))
    assert np.array_equal(decode_code(encode_code(codes[1]), 3), codes[1])
    with pytest.raises(StoreError, match="expected 16"):
        decode_code(encode_code(codes[1]), 2)


def test_sign_levels_are_the_mean_of_each_side() -> None:
    vectors = _unit(500, 16, seed=3)
    levels = SignStats.empty(16).add(vectors[:200]).add(vectors[200:]).levels()
    for j in (0, 7, 15):
        column = vectors[:, j]
        assert levels[0, j] == pytest.approx(column[column > 0].mean(), rel=1e-5)
        assert levels[1, j] == pytest.approx(column[column <= 0].mean(), rel=1e-5)


def test_sign_stats_without_data_fall_back_to_plain_signs() -> None:
    vectors = _unit(50, 32, seed=4)
    codes = pack_signs(vectors)
    plain = asymmetric_scores(vectors[:1], codes, 32)[0]
    assert np.allclose(SignStats.empty(32).scores(vectors[0], codes), plain, atol=1e-6)


def test_reconstructed_levels_rank_closer_to_float_than_bare_signs() -> None:
    docs, queries = _unit(3000, 64, seed=5), _unit(40, 64, seed=6)
    codes = pack_signs(docs)
    stats = SignStats.empty(64).add(docs)

    def agreement(scores: np.ndarray) -> float:
        return float(
            np.mean([np.corrcoef(s, docs @ q)[0, 1] for s, q in zip(scores, queries, strict=True)])
        )

    levels = agreement(np.array([stats.scores(q, codes) for q in queries]))
    signs = agreement(asymmetric_scores(queries, codes, 64))
    assert levels > signs + 0.02


def test_sign_stats_survive_encoding_and_reject_another_dimension() -> None:
    stats = SignStats.empty(24).add(_unit(10, 24, seed=7))
    assert SignStats.decode(stats.encode(), 24) == stats
    with pytest.raises(StoreError, match="expected 12"):
        SignStats.decode(stats.encode(), 12)
    with pytest.raises(StoreError, match="Corrupt"):
        SignStats.decode("not base64!", 24)
