"""MMR: the selection rule checked by hand on small vectors, and its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from ragkit.errors import ConfigError, InputError
from ragkit.rerank.mmr import diversify, maximal_marginal_relevance

# Unit vectors with easy cosines: e0.e1 = 0.8, e1.e2 = 0.6, e0.e2 = e0.e3 = e1.e3 = e2.e3 = 0.
VECTORS = np.array([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
RELEVANCE = [0.9, 0.85, 0.5, 0.3]


def test_balanced_mmr_skips_the_near_copy_until_the_others_are_picked() -> None:
    # After e0: e1 scores .5*.85 - .5*.8 = .025, e2 .5*.5 - 0 = .25, e3 .15 -> e2.
    # Then e1 still .025 (max(.8, .6)), e3 .15 -> e3; e1 last.
    assert diversify(RELEVANCE, VECTORS, k=4, lambda_mult=0.5) == [0, 2, 3, 1]


def test_a_relevance_leaning_lambda_keeps_a_close_second_and_then_diversifies() -> None:
    # lambda .7 after e0: e1 .595 - .24 = .355 beats e2 .35 and e3 .21; then e2 drops to
    # .35 - .3 * .6 = .17 below e3's .21.
    assert diversify(RELEVANCE, VECTORS, k=4, lambda_mult=0.7) == [0, 1, 3, 2]


def test_lambda_one_is_the_relevance_order_and_zero_only_avoids_repeats() -> None:
    assert diversify(RELEVANCE, VECTORS, k=4, lambda_mult=1.0) == [0, 1, 2, 3]
    # lambda 0: the first pick is still the most relevant; then the least similar to the picks
    # (e2 and e3 tie at 0: the earlier wins), and e1 (0.8 to e0) comes last.
    assert diversify(RELEVANCE, VECTORS, k=4, lambda_mult=0.0) == [0, 2, 3, 1]


def test_relevance_from_the_query_is_its_cosine_and_rows_need_not_be_unit() -> None:
    docs = np.array([[0.98, 0.2], [0.97, 0.24], [0.8, -0.6]], dtype=np.float32)
    # cos(q, d) = .981, .971, .8; d0.d1 = .999, d0.d2 = .667: d1 scores -.014 and d2 +.067.
    assert maximal_marginal_relevance(np.array([1.0, 0.0]), docs, k=2) == [0, 2]
    assert maximal_marginal_relevance(np.array([2.0, 0.0]), 3 * docs, k=2) == [0, 2]
    assert maximal_marginal_relevance(np.array([1.0, 0.0]), docs, k=3, lambda_mult=1) == [0, 1, 2]


def test_k_caps_the_picks_and_fewer_candidates_return_them_all() -> None:
    assert diversify(RELEVANCE, VECTORS, k=2) == [0, 2]
    assert sorted(diversify(RELEVANCE, VECTORS, k=10)) == [0, 1, 2, 3]
    assert diversify([], np.empty((0, 3), dtype=np.float32), k=3) == []


def test_identical_candidates_are_not_picked_twice() -> None:
    twins = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    assert diversify([1.0, 1.0, 0.1], twins, k=3, lambda_mult=0.5) == [0, 2, 1]


@pytest.mark.parametrize("lambda_mult", [-0.1, 1.5, float("nan"), True])
def test_lambda_out_of_range_is_a_config_error(lambda_mult: float) -> None:
    with pytest.raises(ConfigError, match="lambda_mult"):
        diversify(RELEVANCE, VECTORS, k=2, lambda_mult=lambda_mult)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_k_below_one_is_a_config_error(k: int) -> None:
    with pytest.raises(ConfigError, match="k must be"):
        diversify(RELEVANCE, VECTORS, k=k)


def test_mismatched_or_non_finite_inputs_are_input_errors() -> None:
    with pytest.raises(InputError, match="3 relevance scores for 4"):
        diversify(RELEVANCE[:3], VECTORS, k=2)
    with pytest.raises(InputError, match="not finite"):
        diversify([0.1, float("nan"), 0.2, 0.3], VECTORS, k=2)
    with pytest.raises(InputError, match="matrix"):
        diversify([0.1], np.ones(3, dtype=np.float32), k=1)
    with pytest.raises(InputError, match="dimensions"):
        maximal_marginal_relevance(np.ones(2), VECTORS, k=2)
    with pytest.raises(InputError, match="zero"):
        maximal_marginal_relevance(np.zeros(3), VECTORS, k=2)
