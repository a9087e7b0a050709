"""Reciprocal rank fusion: merge ranked lists by rank alone, so unlike scores need no scaling.

A record's fused score is ``sum(weight_i / (k + rank_i))`` over the rankings it appears in
(ranks start at 1), as in Cormack, Clarke and Buettcher (SIGIR 2009), with ``k = 60``.

Usage::

    reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
    # [("b", 1/62 + 1/61), ("a", 1/61), ("c", 1/62)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ragkit.errors import ConfigError

__all__ = ["reciprocal_rank_fusion"]

Ranking = Sequence[str] | Sequence[tuple[str, float]]
"""Ids best first, or ``(id, score)`` pairs best first (the scores are ignored)."""


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking],
    *,
    weights: Sequence[float] | None = None,
    k: float = 60,
) -> list[tuple[str, float]]:
    """Fuse ``rankings`` into one, best first: every id that appears in any of them.

    Args:
        rankings: Each a list of ids (or ``(id, score)`` pairs), best first; an id repeated
            within one ranking counts at its first place only.
        weights: One non-negative weight per ranking (default: all 1).
        k: Rank offset; larger values flatten the difference between top and lower ranks.

    Returns:
        ``(id, fused score)`` pairs, highest first; equal scores are ordered by id.

    Raises:
        ConfigError: Weights of the wrong number, negative or not finite, or ``k`` negative.
    """
    weights = [1.0] * len(rankings) if weights is None else [float(w) for w in weights]
    if len(weights) != len(rankings):
        raise ConfigError(
            f"Got {len(weights)} weights for {len(rankings)} rankings; give one each."
        )
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ConfigError(f"Weights must be finite and at least 0, got {weights}.")
    if not math.isfinite(k) or k < 0:
        raise ConfigError(f"k must be a finite number of at least 0, got {k}.")
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[str] = set()
        for rank, entry in enumerate(ranking, start=1):
            record_id = entry if isinstance(entry, str) else str(entry[0])
            if record_id in seen:
                continue
            seen.add(record_id)
            fused[record_id] = fused.get(record_id, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))
