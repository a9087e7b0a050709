from __future__ import annotations

import pytest

from ragkit.errors import ConfigError
from ragkit.lexical.fusion import reciprocal_rank_fusion


def test_scores_are_summed_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
    assert [i for i, _ in fused] == ["b", "a", "c"]
    assert dict(fused) == pytest.approx({"b": 1 / 62 + 1 / 61, "a": 1 / 61, "c": 1 / 62})


def test_weights_scale_each_ranking() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[2.0, 1.0], k=0)
    assert [i for i, _ in fused] == ["a", "b"]
    assert [s for _, s in fused] == pytest.approx([2 / 1 + 1 / 2, 2 / 2 + 1 / 1])


def test_zero_weight_ignores_a_ranking_but_keeps_its_ids() -> None:
    fused = reciprocal_rank_fusion([["a"], ["b", "c"]], weights=[1.0, 0.0])
    assert fused == [("a", pytest.approx(1 / 61)), ("b", 0.0), ("c", 0.0)]


def test_equal_scores_are_ordered_by_id() -> None:
    assert [i for i, _ in reciprocal_rank_fusion([["z", "y"], ["y", "z"]])] == ["y", "z"]
    assert [i for i, _ in reciprocal_rank_fusion([["b"], ["a"]])] == ["a", "b"]


def test_pairs_are_ranked_by_position_and_repeats_count_once() -> None:
    fused = reciprocal_rank_fusion([[("a", 0.1), ("b", 9.0), ("a", 0.1)]], k=1)
    assert fused == [("a", 0.5), ("b", pytest.approx(1 / 3))]


def test_empty_input() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []


@pytest.mark.parametrize(
    ("weights", "k"),
    [([1.0], 60), ([1.0, -1.0], 60), ([1.0, float("nan")], 60), ([1.0, 1.0], -1)],
)
def test_bad_weights_or_k(weights: list[float], k: float) -> None:
    with pytest.raises(ConfigError):
        reciprocal_rank_fusion([["a"], ["b"]], weights=weights, k=k)
