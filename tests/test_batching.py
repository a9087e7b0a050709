from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ragkit._batching import length_batches


def test_long_texts_get_small_batches_and_short_ones_full_batches() -> None:
    lengths = [256] * 8 + [10] * 100
    batches = list(length_batches(lengths, batch_size=32, max_batch_tokens=1024))
    assert [len(b) for b in batches[:2]] == [4, 4]  # 1024 // 256
    assert all(lengths[i] == 256 for b in batches[:2] for i in b)
    assert [len(b) for b in batches[2:]] == [32, 32, 32, 4]  # capped by batch_size


def test_a_text_longer_than_the_budget_still_runs_alone() -> None:
    assert list(length_batches([5000, 3], batch_size=8, max_batch_tokens=1024)) == [[0], [1]]


@given(
    st.lists(st.integers(min_value=0, max_value=600), max_size=300),
    st.integers(1, 64),
    st.integers(1, 4096),
)
def test_every_index_once_longest_first_within_limits(
    lengths: list[int], batch_size: int, budget: int
) -> None:
    batches = list(length_batches(lengths, batch_size=batch_size, max_batch_tokens=budget))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    for batch in batches:
        assert 1 <= len(batch) <= batch_size
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= budget
