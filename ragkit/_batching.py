"""Length-aware batching: sort by length, then cut batches by a padded-token budget."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = ["length_batches"]


def length_batches(
    lengths: Sequence[int], *, batch_size: int, max_batch_tokens: int
) -> Iterator[list[int]]:
    """Yield batches of indices, longest texts first, each within both limits.

    Texts of similar length share a batch, so little compute goes to padding. A batch holds at
    most ``batch_size`` texts and at most ``max_batch_tokens`` padded tokens (its longest text
    times its size): long texts run in small batches, whose attention matrices stay in cache,
    and short texts in full ones. A single text longer than the budget still gets a batch.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    start = 0
    while start < len(order):
        width = max(lengths[order[start]], 1)
        size = max(1, min(batch_size, max_batch_tokens // width))
        yield order[start : start + size]
        start += size
