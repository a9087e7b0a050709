"""Ranking metrics that give the same numbers as ``pytrec_eval`` (and so BEIR and MTEB).

Conventions, all taken from trec_eval:

- A run maps query id -> doc id -> score. Each query's results are ranked by score
  descending, and equal scores by doc id descending (``strcmp`` order, which for Python
  strings is plain ``str`` comparison). So with ties, doc ``"b"`` ranks above ``"a"``.
- NDCG uses linear gains (the grade; negative grades count as 0) and the discount
  ``log2(rank + 1)``. The ideal DCG ranks every judged doc with a grade above 0, cut at k.
- A doc is relevant when its grade is above 0. Recall@k is the share of a query's relevant
  docs found in its top k; MRR@k is ``1 / rank`` of the first relevant doc in the top k.
- Scores are averaged over every query in the qrels. A query with judgements but no results
  scores 0 (pytrec_eval would leave it out; give it an empty result dict to see the same).
  Queries that are in the run only are ignored.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable, Mapping

from ragkit.errors import ConfigError, InputError

__all__ = ["evaluate", "ndcg_at_k", "recall_at_k"]

logger = logging.getLogger(__name__)

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]


def ndcg_at_k(run: Run, qrels: Qrels, k: int) -> float:
    """Mean NDCG@k over the queries in ``qrels`` (pytrec_eval's ``ndcg_cut_k``).

    Args:
        run: Query id -> doc id -> retrieval score (higher is better).
        qrels: Query id -> doc id -> relevance grade.
        k: Rank cut-off, at least 1.

    Returns:
        The mean NDCG@k, between 0 and 1.

    Raises:
        ConfigError: If ``k`` is below 1.
        InputError: If ``qrels`` holds no query.

    Example:
        >>> ndcg_at_k({"q": {"d1": 0.9, "d2": 0.8}}, {"q": {"d2": 1}}, k=10)
        0.6309297535714575
    """
    return evaluate(run, qrels, ks=(k,))[f"ndcg@{k}"]


def recall_at_k(run: Run, qrels: Qrels, k: int) -> float:
    """Mean recall@k over the queries in ``qrels`` (pytrec_eval's ``recall_k``).

    Args:
        run: Query id -> doc id -> retrieval score (higher is better).
        qrels: Query id -> doc id -> relevance grade; grades above 0 are relevant.
        k: Rank cut-off, at least 1.

    Returns:
        The mean recall@k, between 0 and 1.

    Raises:
        ConfigError: If ``k`` is below 1.
        InputError: If ``qrels`` holds no query.

    Example:
        >>> recall_at_k({"q": {"d1": 0.9, "d2": 0.8}}, {"q": {"d2": 1, "d3": 2}}, k=10)
        0.5
    """
    return evaluate(run, qrels, ks=(k,))[f"recall@{k}"]


def evaluate(run: Run, qrels: Qrels, ks: Iterable[int] = (10, 100)) -> dict[str, float]:
    """Compute NDCG, recall and MRR at each cut-off in one pass over the queries.

    Args:
        run: Query id -> doc id -> retrieval score (higher is better).
        qrels: Query id -> doc id -> relevance grade.
        ks: Rank cut-offs, each at least 1.

    Returns:
        Mean scores keyed ``"ndcg@10"``, ``"ndcg@100"``, ``"recall@10"``, ``"recall@100"``,
        ``"mrr@10"``, ``"mrr@100"`` (one of each per cut-off, cut-offs ascending).

    Raises:
        ConfigError: If ``ks`` is empty or holds a value below 1.
        InputError: If ``qrels`` holds no query.

    Example:
        >>> evaluate({"q": {"d1": 0.9, "d2": 0.8}}, {"q": {"d2": 1}}, ks=(10,))
        {'ndcg@10': 0.6309297535714575, 'recall@10': 1.0, 'mrr@10': 0.5}
    """
    cutoffs = sorted(set(ks))
    if not cutoffs or cutoffs[0] < 1:
        raise ConfigError(f"ks must be one or more cut-offs of at least 1, got {list(ks)}")
    if not qrels:
        raise InputError("qrels holds no query: nothing to evaluate")
    names = ("ndcg", "recall", "mrr")
    totals = {f"{name}@{k}": 0.0 for name in names for k in cutoffs}
    for query_id, judged in qrels.items():
        top = _top_ids(run.get(query_id, {}), cutoffs[-1])
        gains = [max(judged.get(doc_id, 0), 0) for doc_id in top]
        ideal = sorted((grade for grade in judged.values() if grade > 0), reverse=True)
        first_hit = next((rank for rank, gain in enumerate(gains, 1) if gain > 0), None)
        for k in cutoffs:
            totals[f"ndcg@{k}"] += _ndcg(gains[:k], ideal[:k])
            if ideal:
                totals[f"recall@{k}"] += sum(gain > 0 for gain in gains[:k]) / len(ideal)
            if first_hit is not None and first_hit <= k:
                totals[f"mrr@{k}"] += 1.0 / first_hit
    missing = sum(query_id not in run for query_id in qrels)
    if missing:
        logger.debug("%d of %d judged queries have no results and score 0", missing, len(qrels))
    return {key: total / len(qrels) for key, total in totals.items()}


def _top_ids(results: Mapping[str, float], k: int) -> list[str]:
    """The ``k`` best doc ids in trec_eval order: score descending, then doc id descending."""
    return heapq.nlargest(k, results, key=lambda doc_id: (results[doc_id], doc_id))


def _ndcg(gains: list[int], ideal: list[int]) -> float:
    """NDCG from gains in ranked order and the best possible gains, both already cut at k."""
    ideal_dcg = _dcg(ideal)
    return _dcg(gains) / ideal_dcg if ideal_dcg > 0 else 0.0


def _dcg(gains: list[int]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, 1) if gain > 0)
