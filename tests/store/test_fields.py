from __future__ import annotations

import numpy as np
import pytest

from ragkit.errors import StoreError
from ragkit.store.codes import asymmetric_scores, pack_signs, sign_factors
from ragkit.store.fields import decode_code, decode_int8, encode_code, encode_int8
from ragkit.store.index import BinaryIndex


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


def test_sign_factors_measure_how_well_signs_point_along_each_vector() -> None:
    spread = np.ones((1, 16), np.float32)  # every dimension alike: the signs say it all
    peaked = np.eye(1, 16, dtype=np.float32)  # one dimension: the signs say little
    factors = sign_factors(np.vstack([spread, peaked, 3 * spread]))
    assert factors[0] == pytest.approx(1.0) and factors[2] == pytest.approx(1.0)
    assert factors[1] == pytest.approx(1 / 4)  # 1 / sqrt(16)


def test_estimates_are_exact_when_the_signs_are_the_vector() -> None:
    rng = np.random.default_rng(8)
    docs = rng.choice([-1.0, 1.0], size=(20, 64)).astype(np.float32) / 8.0  # unit, factor 1
    skewed = _unit(20, 64, seed=9)
    query = _unit(1, 64, seed=10)[0]
    index = BinaryIndex(64)
    ids = [str(i) for i in range(40)]
    both = np.vstack([docs, skewed])
    index.upsert(ids, pack_signs(both), sign_factors(both))
    found, scores = index.shortlist(query, None, width=40, keep=40, by="signs")
    estimates = scores[np.argsort([int(i) for i in found])]  # back into id order
    assert np.allclose(estimates[:20], docs @ query, atol=1e-5)
    plain = asymmetric_scores(query[None], pack_signs(skewed), 64)[0]
    assert np.allclose(estimates[20:], plain / sign_factors(skewed), rtol=2e-3)  # float16 factors
